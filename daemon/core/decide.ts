/**
 * The decision, and nothing else: pure, synchronous, no I/O. Given what matched a number, the
 * organisation's policy and the time, it returns the verdict.
 *
 * Precedence (issue #2, #16): protected > allow > exact/contact > narrowest prefix or pattern >
 * unidentified > the DID's allowlist-only mode > allow by default. Expired entries never match; an
 * entry scoped to some DIDs matches only calls to those DIDs; an entry in observe mode never decides
 * but, when nothing else blocked, is named on the allow verdict as what would have blocked. The
 * identity rules (issue #16: an own DID presented unattested, allow entries that ask for
 * attestation, a failed verification) slot in as attestation-policy.ts says.
 */
import type { Attestation } from './attestation.js';
import { allowApplies, failedVerdict, ownDidVerdict } from './attestation-policy.js';
import { appliesTo, isActive, type BlockMode, type EntryView } from './entry.js';
import type { OrgPolicy } from './org-policy.js';
import type { ParsedCaller } from './phone-number.js';
import type { Channel, Direction } from './screen-request.js';
import type { Verdict, VerdictRule } from './verdict.js';

export type Protection = 'emergency' | 'did';

export interface Matches {
  /** Exact-number entries (block and allow) and blocks of contacts holding the number. */
  readonly exact: readonly EntryView[];
  /** Prefix and pattern entries (block and allow) matching the number, narrowest first. */
  readonly prefixes: readonly EntryView[];
  /** The organisation's unidentified-caller entries. */
  readonly unidentified: readonly EntryView[];
  readonly protection: Protection | null;
  /** The DID called is allowlist-only: what everyone else gets. Absent = not allowlist-only. */
  readonly allowlistOnly?: BlockMode | null;
  /** The number is one of the organisation's contacts (rings on an allowlist-only DID). */
  readonly contact?: boolean;
}

export interface DecisionInput {
  readonly channel: Channel;
  readonly direction: Direction;
  /** The number screened: the caller inbound, the callee outbound. */
  readonly subject: ParsedCaller;
  /** The caller's identity was withheld by the network even if a number is known. */
  readonly withheld: boolean;
  /** The DID called (E.164), inbound; null outbound or when unknown: DID-scoped entries then never apply. */
  readonly did?: string | null;
  readonly matches: Matches;
  readonly policy: OrgPolicy;
  readonly now: number;
  /** STIR/SHAKEN as the carrier reported it, inbound; absent when it sent none. */
  readonly attestation?: Attestation | undefined;
}

export function decide(input: DecisionInput): Verdict {
  const { subject, matches, now } = input;
  const normalized = subject.kind === 'number' ? subject.value : 'unidentified';

  if (matches.protection !== null) {
    const spoofed = matches.protection === 'did' ? ownDidVerdict(input, normalized) : null;
    if (spoofed !== null) return spoofed;
    const rule: VerdictRule = { id: matches.protection, kind: 'protected', value: normalized };
    const why = matches.protection === 'emergency' ? 'an emergency number' : "one of the organisation's own numbers";
    return { action: 'allow', normalized, rule, reason: `${normalized} is ${why} and is never blocked` };
  }

  const did = input.did ?? null;
  let block: EntryView | undefined;
  if (subject.kind === 'number') {
    const allow = firstAllow(matches.exact, input, did) ?? firstAllow(matches.prefixes, input, did);
    if (allow !== undefined) {
      return {
        action: 'allow',
        normalized,
        rule: toRule(allow, 'allow'),
        reason: `${normalized} is on the allow list${allow.reason ? ` (${allow.reason})` : ''}`,
      };
    }
    block =
      firstActive(matches.exact, now, did, 'block', 'exact') ??
      firstActive(matches.exact, now, did, 'block', 'contact') ??
      firstActive(matches.prefixes, now, did, 'block');
  }
  const unidentified = subject.kind === 'unidentified' || input.withheld;
  if (block === undefined && unidentified) {
    block = firstActive(matches.unidentified, now, did, 'block');
  }
  if (block !== undefined) return blockedVerdict(input, normalized, block);
  const only = matches.allowlistOnly;
  if (
    only !== undefined &&
    only !== null &&
    input.direction === 'inbound' &&
    input.channel === 'call' &&
    matches.contact !== true
  ) {
    const rule: VerdictRule = { id: 'allowlist-only', kind: 'allowlist-only', value: did ?? '', mode: only };
    const why = `${did ?? 'this number'} takes only allow-listed callers and contacts`;
    return only === 'voicemail'
      ? { action: 'voicemail', normalized, rule, reason: `sent to voicemail: ${why}` }
      : { action: 'reject', normalized, rule, reason: `rejected: ${why}`, sipCode: input.policy.rejectCode };
  }
  // A failed verification (attestation-failed), after every list and the DID's mode.
  const failed = failedVerdict(input, normalized);
  if (failed !== null) return failed;
  // Observe mode: the first entry that would have blocked, in the same precedence, is named.
  let observed: EntryView | undefined;
  // Most callers (unlisted) match nothing: no second pass for them.
  if (subject.kind === 'number' && (matches.exact.length > 0 || matches.prefixes.length > 0)) {
    observed =
      firstObserved(matches.exact, now, did, 'exact') ??
      firstObserved(matches.exact, now, did, 'contact') ??
      firstObserved(matches.prefixes, now, did);
  }
  if (observed === undefined && unidentified && matches.unidentified.length > 0)
    observed = firstObserved(matches.unidentified, now, did);
  if (observed !== undefined) {
    const would = blockedVerdict(input, normalized, observed);
    // Outbound with screening off is already an allow: nothing would have changed.
    if (would.action !== 'allow') {
      return {
        action: 'allow',
        normalized,
        rule: would.rule,
        observed: would.action,
        reason: `allowed (observe mode): would have been ${would.action}: ${would.reason}`,
      };
    }
  }
  return { action: 'allow', normalized, rule: null, reason: `${normalized} is not blocked` };
}

function blockedVerdict(input: DecisionInput, normalized: string, entry: EntryView): Verdict {
  const rule = toRule(entry, entry.kind);
  const what = describe(entry, normalized);
  const why = entry.reason ? `: ${entry.reason}` : '';
  if (input.direction === 'inbound') {
    if (input.channel === 'sms') {
      return { action: 'quarantine', normalized, rule, reason: `message held for supervisors, ${what}${why}` };
    }
    if (entry.mode === 'voicemail') {
      return { action: 'voicemail', normalized, rule, reason: `sent to voicemail, ${what}${why}` };
    }
    return { action: 'reject', normalized, rule, reason: `rejected, ${what}${why}`, sipCode: input.policy.rejectCode };
  }
  // Outbound: an agent dialling or texting a blocked number. SMS is never refused (seed 001).
  const policy = input.policy.outboundPolicy;
  if (policy === 'off') return { action: 'allow', normalized, rule, reason: `outbound screening is off; ${what}` };
  const action = input.channel === 'sms' ? 'warn' : policy;
  const sipCode = action === 'deny' ? input.policy.rejectCode : undefined;
  const verb = action === 'warn' ? 'warning' : action === 'confirm' ? 'confirmation needed' : 'call refused';
  const verdict: { -readonly [K in keyof Verdict]: Verdict[K] } = {
    action,
    normalized,
    rule,
    reason: `${verb}: ${what}${why}`,
  };
  if (sipCode) verdict.sipCode = sipCode;
  return verdict;
}

function describe(entry: EntryView, normalized: string): string {
  const name = entry.name ? ` (${entry.name})` : '';
  switch (entry.kind) {
    case 'exact':
      return `${normalized}${name} is blocked`;
    case 'contact':
      return `${normalized} belongs to blocked contact${name}`;
    case 'prefix':
      return `${normalized} matches blocked prefix ${entry.value}${name}`;
    case 'pattern':
      return `${normalized} matches blocked pattern ${entry.value}${name}`;
    case 'unidentified':
      return `unidentified callers are blocked${name}`;
  }
}

function firstActive(
  entries: readonly EntryView[],
  now: number,
  did: string | null,
  list: 'block' | 'allow',
  kind?: EntryView['kind'],
): EntryView | undefined {
  for (const e of entries) {
    if (
      e.list === list &&
      (kind === undefined || e.kind === kind) &&
      e.observe !== true &&
      isActive(e, now) &&
      appliesTo(e, did)
    )
      return e;
  }
  return undefined;
}

/** The first active allow entry that applies to this call: its DID, and its attestation (attestation-policy.ts). */
function firstAllow(entries: readonly EntryView[], input: DecisionInput, did: string | null): EntryView | undefined {
  for (const e of entries) {
    if (
      e.list === 'allow' &&
      e.observe !== true &&
      isActive(e, input.now) &&
      appliesTo(e, did) &&
      allowApplies(e, input)
    )
      return e;
  }
  return undefined;
}

function firstObserved(
  entries: readonly EntryView[],
  now: number,
  did: string | null,
  kind?: EntryView['kind'],
): EntryView | undefined {
  for (const e of entries) {
    if (
      e.observe === true &&
      e.list === 'block' &&
      (kind === undefined || e.kind === kind) &&
      isActive(e, now) &&
      appliesTo(e, did)
    )
      return e;
  }
  return undefined;
}

function toRule(entry: EntryView, kind: VerdictRule['kind']): VerdictRule {
  // Assignments, not conditional spreads: each `...(c ? {…} : {})` cloned an object on the hot path.
  const rule: { -readonly [K in keyof VerdictRule]: VerdictRule[K] } = { id: entry.id, kind, value: entry.value };
  if (entry.name) rule.name = entry.name;
  if (entry.reason) rule.reason = entry.reason;
  if (entry.list === 'block') rule.mode = entry.mode;
  return rule;
}
