import type { BlockMode } from './entry.js';

/**
 * What happens when an agent dials or texts a blocked number (seed 001: "proceed or abort").
 * off: nothing; warn: the agent is told, the call goes on; confirm: the agent must press 1;
 * deny: the call is refused. SMS is never refused (seed 001), only warned about.
 */
export type OutboundPolicy = 'off' | 'warn' | 'confirm' | 'deny';
export const OUTBOUND_POLICIES: readonly OutboundPolicy[] = ['off', 'warn', 'confirm', 'deny'];

/** SIP status codes a blocked call may be rejected with before answer. */
export type RejectCode = 603 | 486 | 607 | 404;
export const REJECT_CODES: readonly RejectCode[] = [603, 486, 607, 404];

export interface OrgPolicy {
  readonly region: string;
  readonly outboundPolicy: OutboundPolicy;
  readonly rejectCode: RejectCode;
  readonly defaultMode: BlockMode;
  /** Seed 002: off by default; only admins change it. */
  readonly agentsMayBlock: boolean;
}
