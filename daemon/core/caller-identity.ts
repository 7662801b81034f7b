/**
 * Who is calling, from every header carriers use to assert or withhold the caller, with one
 * precedence for every adapter (FastAGI, Event Socket, SIP edge). The table is documented in
 * docs/caller-identity.md; keep the two in step. Pure: adapters read the headers their PBX exposes
 * and hand them over as text; nothing here knows a protocol.
 *
 * Number screened (first that holds a usable user part):
 *   1. P-Asserted-Identity (RFC 3325; the first of several values that holds a number)
 *   2. Remote-Party-ID with party=calling or no party (the pre-RFC 3325 form some trunks still send)
 *   3. From
 *   4. the PBX's own caller ID (when the PBX gave no header: Asterisk CALLERID(num), FreeSWITCH
 *      Caller-Caller-ID-Number)
 * Withheld (the unidentified rule applies even when a number is known) when any of: Privacy holds
 * `id`, `user` or `header` (RFC 3323/3325); Remote-Party-ID `privacy=full|uri`; the PBX says the
 * number is hidden; the number chosen is a withheld word ("anonymous", "restricted"…) or empty.
 * Attestation: `verstat` of the P-Asserted-Identity, else of the From (a verstat rides on the header
 * the verifying carrier wrote, even on an anonymous URI), else a bare `verstat` the PBX extracted;
 * its level, when verstat has none, from Attestation-Info / X-Attestation-Info.
 */
import { parseVerstat, verstatOf, levelOf, type Attestation } from './attestation.js';
import { extractUserPart } from './phone-number.js';

export interface IdentityHeaders {
  /** P-Asserted-Identity as received (several values comma-separated, or one header per element). */
  readonly pai?: string | readonly string[];
  readonly remotePartyId?: string | readonly string[];
  /** The From header as received (name-addr with parameters). */
  readonly from?: string;
  readonly privacy?: string;
  /** Attestation-Info or X-Attestation-Info (the level letter). */
  readonly attestationInfo?: string;
  /** A verstat value the PBX already took out of a header (no URI around it). */
  readonly verstat?: string;
  /** The caller ID the PBX settled on itself, for when it passes no header. */
  readonly pbxCallerId?: string;
  /** The PBX marks the caller's number as hidden (FreeSWITCH Caller-Privacy-Hide-Number). */
  readonly pbxHidden?: boolean;
}

export type IdentitySource = 'pai' | 'rpid' | 'from' | 'pbx' | 'none';

export interface CallerIdentity {
  /** What to screen: the user part of the chosen header ('' when none had one). */
  readonly from: string;
  readonly source: IdentitySource;
  readonly withheld: boolean;
  readonly attestation?: Attestation;
}

/** Words that say "no number" in a caller ID or a URI's user part (compared lower-case). */
const NO_NUMBER = new Set(['', 'anonymous', 'unknown', 'restricted', 'private', 'unavailable', 'withheld', 'blocked']);

const valuesOf = (v: string | readonly string[] | undefined): string[] =>
  v === undefined ? [] : (typeof v === 'string' ? [v] : [...v]).flatMap(splitHeaderValues);

/** `<sip:a@h>, <tel:+1…>` → two values; commas inside quotes or angle brackets do not split. */
export function splitHeaderValues(value: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') angle = true;
    else if (!quoted && c === '>') angle = false;
    else if (!quoted && !angle && c === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v !== '');
}

/** A user part that holds a number (digits, not a withheld word). */
/** A dotted-quad host, which PBXs put where a caller ID is missing. */
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function numberUser(value: string): string {
  const user = extractUserPart(value);
  // `<sip:127.0.0.2>` has no user part: what comes back is the host, an address and not a number.
  return !NO_NUMBER.has(user.toLowerCase()) && /\d/.test(user) && !IPV4.test(user) ? user : '';
}

/** The header's parameters after the URI (`;party=calling;privacy=full`), lower-cased. */
function headerParams(value: string): Map<string, string> {
  const gt = value.lastIndexOf('>');
  const tail = gt >= 0 ? value.slice(gt + 1) : '';
  const out = new Map<string, string>();
  for (const p of tail.split(';')) {
    const [k, v] = p.split('=');
    if (k !== undefined && k.trim() !== '') out.set(k.trim().toLowerCase(), (v ?? '').trim().toLowerCase());
  }
  return out;
}

export function callerIdentity(h: IdentityHeaders): CallerIdentity {
  const pai = valuesOf(h.pai);
  const rpid = valuesOf(h.remotePartyId).filter((v) => {
    const party = headerParams(v).get('party');
    return party === undefined || party === 'calling';
  });
  const privacy = (h.privacy ?? '').toLowerCase().split(/[;,\s]+/);
  let withheld = privacy.some((p) => p === 'id' || p === 'user' || p === 'header') || h.pbxHidden === true;
  for (const r of rpid) {
    const p = headerParams(r).get('privacy');
    if (p === 'full' || p === 'uri') withheld = true;
  }

  let from = '';
  let source: IdentitySource = 'none';
  const pick = (values: readonly string[], s: IdentitySource): void => {
    if (from !== '') return;
    for (const v of values) {
      const n = numberUser(v);
      if (n !== '') {
        from = n;
        source = s;
        return;
      }
    }
  };
  pick(pai, 'pai');
  pick(rpid, 'rpid');
  pick(h.from !== undefined ? [h.from] : [], 'from');
  const pbx = (h.pbxCallerId ?? '').trim();
  // A From with no user part (`<sip:127.0.0.2>`) leaves Asterisk's caller ID as the host: an address,
  // not a number — the caller is unidentified, as the hostile-header suite holds.
  if (from === '' && pbx !== '' && !NO_NUMBER.has(pbx.toLowerCase()) && /\d/.test(pbx) && !IPV4.test(pbx)) {
    from = extractUserPart(pbx);
    source = 'pbx';
  }
  if (from === '') {
    withheld = true;
    // Nothing usable: keep what the caller presented (the core classifies it as unidentified).
    from = extractUserPart(pai[0] ?? h.from ?? pbx);
  }

  let attestation: Attestation | undefined;
  for (const v of pai) attestation ??= verstatOf(v);
  if (attestation === undefined && h.from !== undefined) attestation = verstatOf(h.from);
  if (attestation === undefined && h.verstat !== undefined && h.verstat.trim() !== '')
    attestation = parseVerstat(h.verstat);
  if (attestation !== undefined && attestation.level === null && h.attestationInfo !== undefined) {
    const level = levelOf(h.attestationInfo);
    if (level !== undefined) attestation = { status: attestation.status, level };
  }
  const out: { -readonly [K in keyof CallerIdentity]: CallerIdentity[K] } = { from, source, withheld };
  if (attestation !== undefined) out.attestation = attestation;
  return out;
}
