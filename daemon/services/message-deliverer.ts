/**
 * Delivers an SMS that was held in quarantine and is now released. Asterisk: AMI `MessageSend`;
 * FreeSWITCH: ESL `chat`. The quarantine service does not know which PBX it serves.
 */
export interface HeldMessage {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  /** Where the PBX would have delivered it (`pjsip:agent101`). */
  readonly deliverTo: string;
}

export interface MessageDeliverer {
  /** Throws a CallscreenError (CS_ERR_UNAVAILABLE, CS_ERR_TIMEOUT) when it could not deliver. */
  deliver(message: HeldMessage): Promise<void>;
}
