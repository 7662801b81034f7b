/**
 * The screening policy, in one place, for every door a call or message comes in by: FastAGI, the
 * AstDB mirror's events, the outbound Event Socket, the chatplan SMS screener and the SIP edge. An
 * adapter turns its protocol into the numbers below, asks here, and turns the answer back into its
 * protocol; it decides nothing itself.
 *
 * What lives here:
 * - **org resolution**: inbound by DID (or the dialplan context, or a fixed org), falling back to a
 *   default org; outbound (an agent's call or message carries no DID) the default org, else the only
 *   org of a single-tenant site;
 * - **the verdict**, from memory (`Screener.screenSync`): it never waits on SQLite, the thread pool,
 *   the panel or an import, so there is no deadline to race and no verdict is lost to a busy daemon;
 * - **fail mode** (`screening.fail_mode`), for what memory cannot answer: no organisation for the
 *   number called, an exception, a quarantine that could not be stored;
 * - **seeing every fail-mode verdict**: each is counted (`callscreen_fail_mode_verdicts_total`, by
 *   adapter and mode, through `record`) and logged at warn with why.
 */
import { inspect } from 'node:util';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Channel, Direction, ScreenRequest } from '../core/screen-request.js';
import type { Verdict } from '../core/verdict.js';
import type { OrgState } from '../store/screening-index.js';
import type { AdapterScreener } from './screener.js';

/** Why a verdict did not come from the list: read in logs and call records. */
export type Fallback = 'unknown-org' | 'error' | 'hold-failed';

/** How an adapter's requests find their organisation. */
export interface OrgRouting {
  /** did: by the number called; context: the dialplan context is the org's slug; fixed: defaultOrg. */
  readonly orgFrom: 'did' | 'context' | 'fixed';
  /** Slug used when the DID or context names none, and for agents; '' = none. */
  readonly defaultOrg: string;
}

/** Org resolution by DID alone, with no default: the Event Socket and the SIP edge. */
export const BY_DID: OrgRouting = Object.freeze({ orgFrom: 'did', defaultOrg: '' });

/** A request before its org is known: the org is the service's to find. */
export type Ask = Omit<ScreenRequest, 'org'>;

export interface Screened {
  /** The request as screened, with the org's slug ('' when none was found). */
  readonly req: ScreenRequest;
  readonly org: OrgState | undefined;
  readonly verdict: Verdict;
  /** Null when the list answered; else why fail mode did. */
  readonly fallback: Fallback | null;
  readonly error?: unknown;
}

export interface ScreeningServiceDeps {
  readonly screener: AdapterScreener;
  /** Slugs of all organisations (the single-tenant rule for agents). */
  readonly orgSlugs: () => readonly string[];
  /** The current config, read per request so that a reload of screening.* applies at once. */
  readonly config: () => Config;
  readonly logger: Logger;
  /**
   * Told of every recorded answer, after the verdict was given (the flood detector): it must not
   * throw and must not wait.
   */
  readonly observe?: (s: Screened) => void;
}

/**
 * The verdict when the list could not answer. Inbound calls follow `screening.fail_mode` — open:
 * allow; closed: reject with 503 (Service Unavailable: the screening service is, and the caller's
 * network may retry elsewhere). Inbound SMS closed: quarantine. Agents' own calls and messages
 * always go on (seed 001: agents are warned, never stopped by a fault).
 */
export function unscreenedVerdict(
  channel: Channel,
  direction: Direction,
  mode: 'open' | 'closed',
  why: string,
): Verdict {
  const base = { normalized: '', rule: null } as const;
  if (direction === 'outbound' || mode === 'open') {
    return { ...base, failMode: 'open', action: 'allow', reason: `not screened (${why}): allowed` };
  }
  if (channel === 'sms')
    return { ...base, failMode: 'closed', action: 'quarantine', reason: `not screened (${why}): held (fail closed)` };
  return {
    ...base,
    failMode: 'closed',
    action: 'reject',
    sipCode: 503,
    reason: `not screened (${why}): rejected (fail closed)`,
  };
}

export class ScreeningService {
  constructor(private readonly deps: ScreeningServiceDeps) {}

  /** The screener behind the policy: for agent warnings on AMI Dial events and the AstDB mirror. */
  get screener(): AdapterScreener {
    return this.deps.screener;
  }

  /**
   * The org of an inbound call or message: the first of `dids` that is an org's number (did), the
   * org named by `context` (context), or none (fixed); then `routing.defaultOrg`.
   */
  inboundOrg(routing: OrgRouting, dids: readonly string[], context = ''): OrgState | undefined {
    const s = this.deps.screener;
    let state: OrgState | undefined;
    if (routing.orgFrom === 'did') {
      for (const d of dids) {
        if (d === '') continue;
        state = s.orgForDid(d);
        if (state) break;
      }
    } else if (routing.orgFrom === 'context') {
      state = s.org(context);
    }
    return state ?? (routing.defaultOrg !== '' ? s.org(routing.defaultOrg) : undefined);
  }

  /**
   * The org of an agent's call or message: the default org, else the only org when there is exactly
   * one (a single-tenant site). Several orgs and no default: none, and fail mode applies.
   */
  outboundOrg(routing: OrgRouting): OrgState | undefined {
    if (routing.defaultOrg !== '') return this.deps.screener.org(routing.defaultOrg);
    const all = this.deps.orgSlugs();
    return all.length === 1 && all[0] !== undefined ? this.deps.screener.org(all[0]) : undefined;
  }

  /** Screens `ask` for `org` (found with inboundOrg/outboundOrg): synchronous, never waits. */
  screen(ask: Ask, org: OrgState | undefined): Screened {
    const req: ScreenRequest = { ...ask, org: org?.org.slug ?? '' };
    if (!org) return this.unscreened(req, org, 'no organisation', 'unknown-org');
    try {
      return { req, org, verdict: this.deps.screener.screenSync(req), fallback: null };
    } catch (error) {
      return this.unscreened(req, org, 'screening failed', 'error', error);
    }
  }

  /** Inbound in one step: the org by routing, then the verdict. */
  inbound(routing: OrgRouting, ask: Ask, context = ''): Screened {
    return this.screen(ask, this.inboundOrg(routing, [ask.to], context));
  }

  /** Outbound (an agent dialling or texting) in one step. */
  outbound(routing: OrgRouting, ask: Ask): Screened {
    return this.screen(ask, this.outboundOrg(routing));
  }

  /**
   * The verdict with the matched entry's name and reason, for words to a person (an agent's
   * warning), never for the call's answer: a listed number not seen recently is answered from memory
   * without them, and they may cost a SQLite read. Falls back to the verdict as it is on any error.
   */
  async withText(s: Screened): Promise<Verdict> {
    const rule = s.verdict.rule;
    if (s.fallback !== null || rule === null || rule.name !== undefined || rule.reason !== undefined) return s.verdict;
    try {
      return await this.deps.screener.screen(s.req);
    } catch {
      return s.verdict;
    }
  }

  /** Passes an answer given elsewhere (the AstDB mirror) to the observer, as record() does. */
  observe(s: Screened): void {
    this.deps.observe?.(s);
  }

  /** The fail-mode answer for a request the list could not answer (see unscreenedVerdict). */
  unscreened(
    req: ScreenRequest,
    org: OrgState | undefined,
    why: string,
    fallback: Fallback,
    error?: unknown,
  ): Screened {
    const verdict = unscreenedVerdict(req.channel, req.direction, this.deps.config().screening.fail_mode, why);
    return { req, org, verdict, fallback, ...(error !== undefined ? { error } : {}) };
  }

  /**
   * Records what the adapter did (call records, metrics by adapter and fail mode) and logs every
   * fail-mode answer at warn, so that none passes unseen. `latencyUs`: the adapter's own measure;
   * `log`: the adapter's logger (so the line names its component), the service's by default.
   */
  record(
    s: Screened,
    adapter: string,
    latencyUs: number | null,
    log: Logger = this.deps.logger,
    sessionUs: number | null = null,
  ): void {
    this.deps.screener.recordVerdict(s.req, s.org?.org.id ?? null, s.verdict, adapter, latencyUs, sessionUs);
    this.deps.observe?.(s);
    if (s.fallback === null) return;
    const e = s.error;
    log.warn(
      {
        adapter,
        fallback: s.fallback,
        failMode: s.verdict.failMode,
        action: s.verdict.action,
        org: s.req.org,
        channel: s.req.channel,
        direction: s.req.direction,
        from: s.req.from,
        to: s.req.to,
        callId: s.req.callId,
        reason: s.verdict.reason,
        ...(e !== undefined ? { err: e instanceof Error ? e : { message: inspect(e) } } : {}),
      },
      s.verdict.failMode === 'open' ? 'not screened: let through (fail open)' : 'not screened: refused (fail closed)',
    );
  }
}
