/**
 * What a MESSAGE event (a text message, as sofia and mod_sms put it) says, read into the fields of
 * a ScreenRequest and of a held message. Header names are FreeSWITCH's: sofia sets `proto`,
 * `from` (user@host), `from_user`, `from_host`, `from_full` (the SIP From header), `to`, `to_user`,
 * `to_host`, `sip_profile`, `context`, `type`; the core adds `dest_proto`; the chatplan snippet adds
 * `<marker>: screen` and, for agents' messages, `<marker>_direction: outbound`.
 */
import type { Attestation } from '../../core/attestation.js';
import { callerIdentity } from '../../core/caller-identity.js';
import type { Direction } from '../../core/screen-request.js';
import type { EslEvent } from './esl-event.js';
import { chatDestProto, formatDeliverTo } from './esl-send-message.js';

export interface EslChatMessage {
  /** For logs and call records: Event-UUID, else Core-UUID:Event-Sequence, else '' (FreeSWITCH gives a message no id of its own). */
  readonly id: string;
  readonly direction: Direction;
  /** The sender's number (the user part): the caller screened inbound, the agent outbound. */
  readonly from: string;
  /** The From as received (`from_full`, else `from`): kept with a held message, used when released. */
  readonly fromRaw: string;
  /** The DID inbound (its org), the number texted outbound: `to_user`, else the user part of `to`. */
  readonly to: string;
  /** `user@host` of the sending agent (outbound), for `chat` warnings. */
  readonly agent: string;
  readonly withheld: boolean;
  /**
   * STIR/SHAKEN as the carrier wrote it into the message's identity (verstat), inbound only; read
   * by the core's one precedence (caller-identity.ts), as for calls.
   */
  readonly attestation?: Attestation;
  /** The endpoint the message goes to when sent on (see chatDestProto). */
  readonly destProto: string;
  /** Where it was going, kept with a held message (see formatDeliverTo). */
  readonly deliverTo: string;
}

/** The user part of `user@host`, `sip:user@host` or `"Name" <sip:user@host>;tag=…`. */
export function addressUser(value: string): string {
  const uri = /sips?:([^@;>\s]+)/i.exec(value);
  if (uri?.[1] !== undefined) return uri[1];
  const at = value.indexOf('@');
  return (at === -1 ? value : value.slice(0, at)).trim();
}

export function readChatMessage(event: EslEvent, marker: string): EslChatMessage {
  const h = event.headers;
  const direction: Direction = (h[`${marker}_direction`] ?? '').toLowerCase() === 'outbound' ? 'outbound' : 'inbound';
  // A verstat in the From's user part (`+1555…;verstat=TN-Validation-Passed@host`, the ATIS form)
  // stays in sofia's from_user: the number is what comes before the first `;`.
  const from = (h['from_user'] || addressUser(h['from'] ?? '')).split(';')[0] ?? '';
  const fromFull = h['from_full'] || h['from'] || '';
  // sofia (1.10.12, sofia_presence.c) puts the MESSAGE's From, whole, in from_full, and of the other
  // headers only those it does not parse itself whose names start with X- or P- (as sip_h_<Name>).
  // It parses P-Asserted-Identity, so a PAI never reaches the event (seen on the real FreeSWITCH,
  // test/e2e/freeswitch-sms.test.ts): verstat is read from the From. sip_h_P-Asserted-Identity is
  // read too, for a sofia built without its PAI parser; X-Attestation-Info gives a level.
  const pai = h['sip_h_P-Asserted-Identity'] ?? '';
  const info = h['sip_h_X-Attestation-Info'] ?? '';
  const attestation =
    direction === 'inbound'
      ? callerIdentity({ pai, from: fromFull, ...(info !== '' ? { attestationInfo: info } : {}) }).attestation
      : undefined;
  const fromHost = h['from_host'] ?? '';
  const seq = h['Event-Sequence'] ?? '';
  const core = h['Core-UUID'] ?? '';
  const destProto = chatDestProto(h);
  return {
    id: h['Event-UUID'] || (core && seq ? `${core}:${seq}` : ''),
    direction,
    from,
    fromRaw: fromFull || from,
    to: h['to_user'] || addressUser(h['to'] ?? ''),
    agent: from !== '' && fromHost !== '' ? `${from}@${fromHost}` : from,
    withheld: from === '' || /^(anonymous|restricted|private|unknown)$/i.test(from),
    ...(attestation ? { attestation } : {}),
    destProto,
    deliverTo: formatDeliverTo(destProto, h),
  };
}
