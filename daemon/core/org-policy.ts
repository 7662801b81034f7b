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
  /** Inbound calls whose STIR/SHAKEN verification failed (verstat TN-Validation-Failed); default allow. */
  readonly attestationFailed: IdentityAction;
  /** A caller presenting one of the org's own DIDs without attestation is spoofed; default voicemail. */
  readonly ownDidUnattested: IdentityAction;
  /** Carrier stand-ins for "no caller ID" (screening.anonymous_standins) count as unidentified; default off. */
  readonly standinsUnidentified: boolean;
}

/** What an identity rule does to an inbound call: allow (the rule is off), voicemail, or reject. */
export type IdentityAction = 'allow' | 'voicemail' | 'reject';
export const IDENTITY_ACTIONS: readonly IdentityAction[] = ['allow', 'voicemail', 'reject'];
