import type { BlockMode } from './entry.js';

/**
 * allow: let it through; reject: refuse the call before answer; voicemail: straight to voicemail;
 * quarantine: hold an inbound SMS for supervisors (seed 002); warn: tell the agent, go on;
 * confirm: the agent must confirm before the call goes on; deny: refuse the agent's call.
 */
export type VerdictAction = 'allow' | 'reject' | 'voicemail' | 'quarantine' | 'warn' | 'confirm' | 'deny';
export const VERDICT_ACTIONS: readonly VerdictAction[] = ['allow', 'reject', 'voicemail', 'quarantine', 'warn', 'confirm', 'deny'];

/** `allowlist-only`: the DID called takes only allow-listed callers and contacts (issue #16). */
export type RuleKind = 'exact' | 'prefix' | 'contact' | 'unidentified' | 'pattern' | 'allow' | 'protected' | 'allowlist-only';

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
  /**
   * Set when `rule` is an entry in observe mode: the call was let through (`allow`) but would
   * have got `observed` had the entry been enforced.
   */
  readonly observed?: VerdictAction;
  /** Set when the verdict came from fail-open/fail-closed rather than the list. */
  readonly failMode?: 'open' | 'closed';
}
