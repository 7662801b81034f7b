import type { Attestation } from './attestation.js';
import type { BlockMode } from './entry.js';

/**
 * allow: let it through; reject: refuse the call before answer; voicemail: straight to voicemail;
 * quarantine: hold an inbound SMS for supervisors (seed 002); warn: tell the agent, go on;
 * confirm: the agent must confirm before the call goes on; deny: refuse the agent's call.
 */
export type VerdictAction = 'allow' | 'reject' | 'voicemail' | 'quarantine' | 'warn' | 'confirm' | 'deny';
export const VERDICT_ACTIONS: readonly VerdictAction[] = [
  'allow',
  'reject',
  'voicemail',
  'quarantine',
  'warn',
  'confirm',
  'deny',
];

/** The actions an inbound call or SMS can get (warn, confirm and deny are for an agent's outbound call). */
export const INBOUND_ACTIONS = [
  'allow',
  'reject',
  'voicemail',
  'quarantine',
] as const satisfies readonly VerdictAction[];
export type InboundAction = (typeof INBOUND_ACTIONS)[number];

export function isInboundAction(action: VerdictAction): action is InboundAction {
  return (INBOUND_ACTIONS as readonly VerdictAction[]).includes(action);
}

/** spoofed: an own DID presented without attestation; attestation: the carrier's verification failed; allowlist-only: the DID called takes only allow-listed callers and contacts. */
export const RULE_KINDS = [
  'exact',
  'prefix',
  'contact',
  'unidentified',
  'pattern',
  'allow',
  'protected',
  'spoofed',
  'attestation',
  'allowlist-only',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export interface VerdictRule {
  /** Entry id; for protected numbers the protection (`emergency` or `did`). */
  readonly id: number | string;
  readonly kind: RuleKind;
  /** The matched value: number, prefix, contact id, '' for unidentified. */
  readonly value: string;
  readonly name?: string;
  readonly reason?: string;
  readonly mode?: BlockMode;
}

export interface Verdict {
  readonly action: VerdictAction;
  /** E.164 or short code of the number screened (caller inbound, callee outbound), or "unidentified". */
  readonly normalized: string;
  /** The rule that decided, or null when nothing matched (allowed by default). */
  readonly rule: VerdictRule | null;
  /** One human sentence for logs, the CLI and the agent's warning. */
  readonly reason: string;
  /** SIP status for `reject` (and `deny`). */
  readonly sipCode?: number;
  /** The call's STIR/SHAKEN verification as the carrier reported it; absent when it sent none. */
  readonly attestation?: Attestation;
  /**
   * Set when `rule` is an entry in observe mode: the call was let through (`allow`) but would
   * have got `observed` had the entry been enforced.
   */
  readonly observed?: VerdictAction;
  /** Set when the verdict came from fail-open/fail-closed rather than the list. */
  readonly failMode?: 'open' | 'closed';
}
