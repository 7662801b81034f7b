/**
 * What the `connect` reply's channel data says about a call, read into the fields of a
 * ScreenRequest. Header names are FreeSWITCH's (Caller-*, variable_*); SIP headers of the INVITE
 * appear as `variable_sip_h_<Name>` only when the profile keeps them, so each has a fallback.
 */
import type { Attestation } from '../../core/attestation.js';
import { callerIdentity } from '../../core/caller-identity.js';
import { extractUserPart } from '../../core/phone-number.js';
import type { Direction } from '../../core/screen-request.js';

export interface EslCall {
  readonly uuid: string;
  readonly channelName: string;
  readonly direction: Direction;
  readonly from: string;
  readonly callerName: string;
  readonly withheld: boolean;
  /** STIR/SHAKEN from verstat, when the carrier sent one. */
  readonly attestation?: Attestation;
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
  // part, bare, in variable_sip_P-Asserted-Identity — with its user parameters, so a verstat there
  // arrives as `+15551234567;verstat=TN-Validation-Failed` (seen on the real FreeSWITCH, e2e) —
  // and already in Caller-Caller-ID-Number; the
  // whole header (with its verstat) only where the profile keeps it: variable_sip_h_… where a site
  // copies it, variable_sip_i_… with parse-all-invite-headers. The From arrives whole in
  // variable_sip_full_from. The precedence is the core's, as for every adapter (caller-identity.ts).
  const paiUser = (h['variable_sip_P-Asserted-Identity'] ?? '').trim();
  // The bare form holds no display name (no quote, bracket, space or @), so nothing a caller wrote
  // there can choose the number; `;` is allowed: user parameters, verstat among them.
  const pai =
    h['variable_sip_h_P-Asserted-Identity'] ||
    h['variable_sip_i_p_asserted_identity'] ||
    (/^[^\s<>"@:]+$/.test(paiUser) ? paiUser : '');
  // sofia sets variable_sip_Remote-Party-ID to the whole header (name-addr and its party, screen,
  // privacy parameters) on every inbound INVITE that has one (sofia.c, 1.10.12; seen on the real
  // FreeSWITCH, test/e2e/freeswitch-identity.test.ts): without it a Remote-Party-ID's privacy=full
  // and party=called were lost unless the profile kept the header.
  const rpid =
    h['variable_sip_h_Remote-Party-ID'] ||
    h['variable_sip_i_remote_party_id'] ||
    h['variable_sip_Remote-Party-ID'] ||
    '';
  const info =
    h['variable_sip_h_X-Attestation-Info'] ||
    h['variable_sip_h_Attestation-Info'] ||
    h['variable_sip_i_attestation_info'] ||
    '';
  // sofia cuts the user parameters off the header it takes the caller ID from — the From, when
  // there is no PAI or Remote-Party-ID — before it writes variable_sip_full_from, so a verstat in the
  // From's user part is gone from it (`<sip:+1555…@host;user=phone>`); variable_sip_from_user keeps
  // them (`+1555…;verstat=TN-Validation-Failed`). Both seen on the real FreeSWITCH 1.10.12
  // (test/e2e/freeswitch-identity.test.ts). It is the From's verstat, so it ranks where the From's
  // does: after the PAI's. 1.10.12 sets no variable_sip_verstat; a later sofia may.
  const fromUserVerstat = /;verstat=([^;@]+)/i.exec(h['variable_sip_from_user'] ?? '')?.[1] ?? '';
  const verstat = h['variable_sip_verstat'] || fromUserVerstat;
  const id = callerIdentity({
    pai,
    remotePartyId: rpid,
    from: h['variable_sip_full_from'] ?? '',
    privacy: h['variable_sip_h_Privacy'] ?? h['variable_sip_Privacy'] ?? '',
    ...(info !== '' ? { attestationInfo: info } : {}),
    ...(verstat !== '' ? { verstat } : {}),
    pbxCallerId: h['Caller-Caller-ID-Number'] || h['variable_sip_from_user'] || '',
    pbxHidden: h['Caller-Privacy-Hide-Number'] === 'true',
  });
  const from = id.from;
  const withheld = id.withheld;
  // FreeSWITCH calls every leg that reaches the dialplan "inbound", agents' too: the shipped
  // dialplan marks agents' calls with callscreen_direction=outbound before the socket app.
  const direction: Direction =
    (h['variable_callscreen_direction'] ?? '').toLowerCase() === 'outbound' ? 'outbound' : 'inbound';
  const user = h['Caller-Username'] || h['variable_sip_from_user'] || '';
  const domain = h['variable_domain_name'] || h['variable_sip_from_host'] || '';
  return {
    uuid: h['Unique-ID'] ?? h['Channel-Unique-ID'] ?? '',
    channelName: h['Channel-Name'] ?? '',
    direction,
    from,
    callerName: h['Caller-Caller-ID-Name'] ?? '',
    withheld,
    ...(id.attestation ? { attestation: id.attestation } : {}),
    to: h['Caller-Destination-Number'] ?? h['variable_destination_number'] ?? '',
    agent: user !== '' && domain !== '' ? `${user}@${domain}` : user,
  };
}
