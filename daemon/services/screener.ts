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
import { attestationText } from '../core/attestation.js';
import { stripDialPrefixes } from '../core/dial-prefix.js';
import type { OrgPolicy } from '../core/org-policy.js';
import { digitsOf, extractUserPart, type NumberNormalizer, type ParsedCaller } from '../core/phone-number.js';
import type { ScreenRequest } from '../core/screen-request.js';
import type { Verdict } from '../core/verdict.js';
import type { DidCall, OrgState, ScreeningIndex } from '../store/screening-index.js';
import { NO_IDENTITY_SETTINGS, type IdentitySettings } from './identity-settings.js';
import type { ScreenRecorder } from './screen-recorder.js';

export class Screener {
  constructor(
    private readonly index: ScreeningIndex,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
    private readonly recorder: ScreenRecorder | null,
    /** Region used to read an inbound DID before its org is known (default US). */
    private readonly defaultRegion = 'US',
    /** Carrier stand-ins and dial prefixes (identity-settings.ts); none by default. */
    private readonly identity: () => IdentitySettings = () => NO_IDENTITY_SETTINGS,
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
    return subjectOf(this.normalizer, req, state.org.policy, this.identity());
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
    return this.finish(
      req,
      state,
      subject,
      call === null ? null : call.did,
      this.index.lookupSync(state, subject, call, true),
    );
  }

  /** The same verdict as `screenSync`, with the matched entry's name and reason read if not cached. */
  async screen(req: ScreenRequest): Promise<Verdict> {
    const state = this.requireOrg(req.org);
    const subject = this.subjectOf(req, state);
    const call = this.didOf(req, state);
    return this.finish(
      req,
      state,
      subject,
      call === null ? null : call.did,
      await this.index.lookup(state, subject, call),
    );
  }

  private finish(
    req: ScreenRequest,
    state: OrgState,
    subject: ParsedCaller,
    did: string | null,
    matches: Matches,
  ): Verdict {
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
      attestation: req.attestation,
    });
    if (this.recorder !== null && verdict.rule !== null && typeof verdict.rule.id === 'number') {
      this.recorder.recordHit(verdict.rule.id, now);
    }
    // The verdict shows the call's attestation (issue #16); a new object only when there is one.
    return req.attestation !== undefined ? { ...verdict, attestation: req.attestation } : verdict;
  }

  /**
   * Records a screened call or message (recent calls, `callscreen calls`), including verdicts an
   * adapter made itself (fail-open, fail-closed, unknown org). `latencyUs`: the adapter's measure
   * of request → verdict (µs), recorded. `sessionUs`: what the PBX waited in all (µs), when the
   * adapter measures more than the verdict (FastAGI); metered by MeteredScreener, not recorded.
   */
  recordVerdict(
    req: ScreenRequest,
    orgId: number | null,
    verdict: Verdict,
    adapter: string,
    latencyUs: number | null,
    _sessionUs: number | null = null,
  ): void {
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
      attestation: req.attestation !== undefined ? attestationText(req.attestation) : null,
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
/**
 * The number a request screens, as the org reads it: inbound the caller (a carrier stand-in for
 * "no caller ID" is unidentified where the org says so); outbound what the agent dialled, without
 * feature codes and outside-line prefixes (dial-prefix.ts). Shared with `callscreen check`.
 */
export function subjectOf(
  normalizer: NumberNormalizer,
  req: ScreenRequest,
  policy: OrgPolicy,
  identity: IdentitySettings,
): ParsedCaller {
  if (req.direction === 'outbound') {
    const dialled = stripDialPrefixes(req.to, identity.dialPrefixes, (s) => normalizer.isDiallable(s, policy.region));
    return normalizer.parseCallerId(dialled, policy.region);
  }
  const parsed = normalizer.parseCallerId(req.from, policy.region);
  // Compared as normalised and as presented: a stand-in sent without "+" may read as a national number.
  if (
    parsed.kind === 'number' &&
    policy.standinsUnidentified &&
    identity.standins.size > 0 &&
    (identity.standins.has(digitsOf(parsed.value)) || identity.standins.has(digitsOf(extractUserPart(req.from))))
  ) {
    return { kind: 'unidentified', why: 'carrier-standin' };
  }
  return parsed;
}

export type AdapterScreener = Pick<Screener, 'screenSync' | 'screen' | 'orgForDid' | 'org' | 'recordVerdict'>;
