/**
 * The one screening decision: normalises the number with the org's region, finds what matches in
 * memory, lets the pure core decide and counts the rule hit. `screenSync` is the call path's: it
 * never waits (see ScreeningIndex). `screen` waits for a listed number's name and reason when they
 * are not cached: for `callscreen check`, the panel and agent warnings. Adapters do not call this
 * directly: they ask the ScreeningService, which owns org resolution and fail mode.
 */
import type { Clock } from '../core/clock.js';
import { decide, type Matches } from '../core/decide.js';
import { CallscreenError } from '../core/errors.js';
import type { NumberNormalizer, ParsedCaller } from '../core/phone-number.js';
import type { ScreenRequest } from '../core/screen-request.js';
import type { Verdict } from '../core/verdict.js';
import type { DidCall, OrgState, ScreeningIndex } from '../store/screening-index.js';
import type { ScreenRecorder } from './screen-recorder.js';

export class Screener {
  constructor(
    private readonly index: ScreeningIndex,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
    private readonly recorder: ScreenRecorder | null,
    /** Region used to read an inbound DID before its org is known (default US). */
    private readonly defaultRegion = 'US',
  ) {}

  /** The org that owns an inbound number (DID), whatever form the PBX gives it in. */
  orgForDid(raw: string): OrgState | undefined {
    const parsed = this.normalizer.parseCallerId(raw, this.defaultRegion);
    return parsed.kind === 'number' ? this.index.orgForDid(parsed.value) : undefined;
  }

  org(slug: string): OrgState | undefined {
    return this.index.org(slug);
  }

  subjectOf(req: ScreenRequest, state: OrgState): ParsedCaller {
    return this.normalizer.parseCallerId(req.direction === 'inbound' ? req.from : req.to, state.org.policy.region);
  }

  /**
   * The DID an inbound request was sent to (E.164), when the org has rules that depend on it
   * (entries scoped to DIDs, allowlist-only DIDs); null otherwise, and outbound.
   */
  didOf(req: ScreenRequest, state: OrgState): DidCall | null {
    if (req.direction !== 'inbound' || !state.didScoped) return null;
    return this.index.didOf(state, req.to, this.parseDid);
  }

  /** Made once: a closure per call was an allocation on the call path. '' = not a number. */
  private readonly parseDid = (raw: string, region: string): string => {
    const p = this.normalizer.parseCallerId(raw, region);
    return p.kind === 'number' ? p.value : '';
  };

  /** The verdict, from memory alone: never waits on SQLite or the thread pool. */
  screenSync(req: ScreenRequest): Verdict {
    const state = this.requireOrg(req.org);
    const subject = this.subjectOf(req, state);
    const call = this.didOf(req, state);
    return this.finish(req, state, subject, call === null ? null : call.did, this.index.lookupSync(state, subject, call));
  }

  /** The same verdict as `screenSync`, with the matched entry's name and reason read if not cached. */
  async screen(req: ScreenRequest): Promise<Verdict> {
    const state = this.requireOrg(req.org);
    const subject = this.subjectOf(req, state);
    const call = this.didOf(req, state);
    return this.finish(req, state, subject, call === null ? null : call.did, await this.index.lookup(state, subject, call));
  }

  private finish(req: ScreenRequest, state: OrgState, subject: ParsedCaller, did: string | null, matches: Matches): Verdict {
    const now = this.clock.now();
    const verdict = decide({
      channel: req.channel,
      direction: req.direction,
      subject,
      withheld: req.withheld === true,
      did,
      matches,
      policy: state.org.policy,
      now,
    });
    if (this.recorder !== null && verdict.rule !== null && typeof verdict.rule.id === 'number') {
      this.recorder.recordHit(verdict.rule.id, now);
    }
    return verdict;
  }

  /**
   * Records a screened call or message (recent calls, `callscreen calls`), including verdicts an
   * adapter made itself (fail-open, fail-closed, unknown org). `latencyUs`: the adapter's measure.
   */
  recordVerdict(req: ScreenRequest, orgId: number | null, verdict: Verdict, adapter: string, latencyUs: number | null): void {
    this.recorder?.record({
      at: this.clock.now(),
      orgId,
      channel: req.channel,
      direction: req.direction,
      fromRaw: req.from.slice(0, 256),
      toRaw: req.to.slice(0, 256),
      number: verdict.normalized,
      action: verdict.action,
      ruleKind: verdict.rule?.kind ?? null,
      ruleId: verdict.rule ? String(verdict.rule.id) : null,
      reason: verdict.reason.slice(0, 500),
      adapter,
      callId: req.callId ?? null,
      failMode: verdict.failMode ?? null,
      latencyUs: latencyUs === null ? null : Math.round(latencyUs),
    });
  }

  private requireOrg(slug: string): OrgState {
    const state = this.index.org(slug);
    if (!state) throw new CallscreenError('CS_ERR_ORG_NOT_FOUND', `no organisation "${slug}"`, { org: slug });
    return state;
  }
}

/**
 * What the ScreeningService (and the AstDB mirror) need of the screener: MeteredScreener in the
 * daemon, fakes in tests.
 */
export type AdapterScreener = Pick<Screener, 'screenSync' | 'screen' | 'orgForDid' | 'org' | 'recordVerdict'>;
