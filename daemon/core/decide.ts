/**
 * The decision, and nothing else: pure, synchronous, no I/O. Given what matched a number, the
 * organisation's policy and the time, it returns the verdict.
 *
 * Precedence (issue #2): protected > allow > exact/contact > longest prefix > unidentified > allow
 * by default. Expired entries never match. The identity rules (issue #16: an own DID presented
 * unattested, allow entries that ask for attestation, a failed verification) slot in as
 * attestation-policy.ts says.
 */
import type { Attestation } from './attestation.js';
import { allowApplies, failedVerdict, ownDidVerdict } from './attestation-policy.js';
import { isActive, type EntryView } from './entry.js';
import type { OrgPolicy } from './org-policy.js';
import type { ParsedCaller } from './phone-number.js';
import type { Channel, Direction } from './screen-request.js';
import type { Verdict, VerdictRule } from './verdict.js';

export type Protection = 'emergency' | 'did';

export interface Matches {
  /** Exact-number entries (block and allow) and blocks of contacts holding the number. */
  readonly exact: readonly EntryView[];
  /** Prefix entries (block and allow) matching the number, longest prefix first. */
  readonly prefixes: readonly EntryView[];
  /** The organisation's unidentified-caller entries. */
  readonly unidentified: readonly EntryView[];
  readonly protection: Protection | null;
}

export interface DecisionInput {
  readonly channel: Channel;
  readonly direction: Direction;
  /** The number screened: the caller inbound, the callee outbound. */
  readonly subject: ParsedCaller;
  /** The caller's identity was withheld by the network even if a number is known. */
  readonly withheld: boolean;
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

  let block: EntryView | undefined;
  if (subject.kind === 'number') {
    const allow = firstAllow(matches.exact, input) ?? firstAllow(matches.prefixes, input);
    if (allow !== undefined) {
      return {
        action: 'allow',
        normalized,
        rule: toRule(allow, 'allow'),
        reason: `${normalized} is on the allow list${allow.reason ? ` (${allow.reason})` : ''}`,
      };
    }
    block =
      firstActive(matches.exact, now, 'block', 'exact') ??
      firstActive(matches.exact, now, 'block', 'contact') ??
      firstActive(matches.prefixes, now, 'block');
  }
  if (block === undefined && (subject.kind === 'unidentified' || input.withheld)) {
    block = firstActive(matches.unidentified, now, 'block');
  }
  if (block === undefined) return failedVerdict(input, normalized) ?? { action: 'allow', normalized, rule: null, reason: `${normalized} is not blocked` };
  return blockedVerdict(input, normalized, block);
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
  const verdict: { -readonly [K in keyof Verdict]: Verdict[K] } = { action, normalized, rule, reason: `${verb}: ${what}${why}` };
  if (sipCode) verdict.sipCode = sipCode;
  return verdict;
}

function describe(entry: EntryView, normalized: string): string {
  const name = entry.name ? ` (${entry.name})` : '';
  switch (entry.kind) {
    case 'exact': return `${normalized}${name} is blocked`;
    case 'contact': return `${normalized} belongs to blocked contact${name}`;
    case 'prefix': return `${normalized} matches blocked prefix ${entry.value}${name}`;
    case 'unidentified': return `unidentified callers are blocked${name}`;
  }
}

function firstActive(
  entries: readonly EntryView[],
  now: number,
  list: 'block' | 'allow',
  kind?: EntryView['kind'],
): EntryView | undefined {
  for (const e of entries) {
    if (e.list === list && (kind === undefined || e.kind === kind) && isActive(e, now)) return e;
  }
  return undefined;
}

/** The first active allow entry that applies to this caller (attestation-policy.ts). */
function firstAllow(entries: readonly EntryView[], input: DecisionInput): EntryView | undefined {
  for (const e of entries) {
    if (e.list === 'allow' && isActive(e, input.now) && allowApplies(e, input)) return e;
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
