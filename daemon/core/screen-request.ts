import type { Attestation } from './attestation.js';

/** What every adapter (FastAGI, Event Socket, SIP edge, CLI `check`, HTTP pre-dial) turns its protocol into. */
export type Channel = 'call' | 'sms';
export type Direction = 'inbound' | 'outbound';

export const CHANNELS: readonly Channel[] = ['call', 'sms'];
export const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound'];

export interface ScreenRequest {
  /** Organisation slug (`demo`). */
  readonly org: string;
  readonly channel: Channel;
  readonly direction: Direction;
  /** Caller as the PBX has it: number, SIP/TEL URI, "anonymous", empty… */
  readonly from: string;
  /** Called number (a DID inbound, the dialled number outbound). */
  readonly to: string;
  readonly callerName?: string;
  /** The network withheld the caller's identity (Privacy: id, presentation restricted). */
  readonly withheld?: boolean;
  /** STIR/SHAKEN as the carrier reported it (verstat), when it did; see caller-identity.ts. */
  readonly attestation?: Attestation;
  /** The PBX's id for the call or message, for logs and call records. */
  readonly callId?: string;
}
