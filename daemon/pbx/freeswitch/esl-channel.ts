/**
 * What the `connect` reply's channel data says about a call, read into the fields of a
 * ScreenRequest. Header names are FreeSWITCH's (Caller-*, variable_*); SIP headers of the INVITE
 * appear as `variable_sip_h_<Name>` only when the profile keeps them, so each has a fallback.
 */
import { extractUserPart } from '../../core/phone-number.js';
import type { Direction } from '../../core/screen-request.js';

export interface EslCall {
  readonly uuid: string;
  readonly channelName: string;
  readonly direction: Direction;
  readonly from: string;
  readonly callerName: string;
  readonly withheld: boolean;
  /** The dialled number: the DID inbound, the agent's target outbound. */
  readonly to: string;
  /** `user@domain` of the calling agent (outbound), for `chat` warnings. */
  readonly agent: string;
}

/**
 * The user part of a SIP/TEL URI in a header value (`"Bob" <sip:+4930123@host>;tag` → `+4930123`),
 * by the core's name-addr reading: the quoted display name is the caller's own text and is skipped,
 * so `"<sip:+1202…@x>" <sip:+1555…@h>` screens +1555…, not the number the caller wrote in its name.
 * Empty when the value holds no URI.
 */
export function uriUser(value: string): string {
  if (!/(?:sips?|tel):/i.test(value)) return '';
  return extractUserPart(value);
}

export function readCall(h: Readonly<Record<string, string>>): EslCall {
  // sofia (1.10.12, recorded in test/pbx/freeswitch/recorded/) puts the asserted identity's user
  // part, bare, in variable_sip_P-Asserted-Identity and already in Caller-Caller-ID-Number;
  // variable_sip_h_P-Asserted-Identity (the whole header) is there only where a site copies it.
  const paiHeader = uriUser(h['variable_sip_h_P-Asserted-Identity'] ?? '');
  const paiUser = (h['variable_sip_P-Asserted-Identity'] ?? '').trim();
  const privacy = (h['variable_sip_h_Privacy'] ?? h['variable_sip_Privacy'] ?? '').toLowerCase();
  // A network-asserted identity beats the From header the caller chose. The bare user part holds no
  // display name, so nothing a caller wrote there can choose the number screened.
  const from = paiHeader || (/^[^\s<>"@;:]+$/.test(paiUser) ? paiUser : '') || h['Caller-Caller-ID-Number'] || h['variable_sip_from_user'] || '';
  const withheld = /\b(id|user|header)\b/.test(privacy) || h['Caller-Privacy-Hide-Number'] === 'true' || /^(anonymous|restricted|private)$/i.test(from);
  // FreeSWITCH calls every leg that reaches the dialplan "inbound", agents' too: the shipped
  // dialplan marks agents' calls with callscreen_direction=outbound before the socket app.
  const direction: Direction = (h['variable_callscreen_direction'] ?? '').toLowerCase() === 'outbound' ? 'outbound' : 'inbound';
  const user = h['Caller-Username'] || h['variable_sip_from_user'] || '';
  const domain = h['variable_domain_name'] || h['variable_sip_from_host'] || '';
  return {
    uuid: h['Unique-ID'] ?? h['Channel-Unique-ID'] ?? '',
    channelName: h['Channel-Name'] ?? '',
    direction,
    from,
    callerName: h['Caller-Caller-ID-Name'] ?? '',
    withheld,
    to: h['Caller-Destination-Number'] ?? h['variable_destination_number'] ?? '',
    agent: user !== '' && domain !== '' ? `${user}@${domain}` : user,
  };
}
