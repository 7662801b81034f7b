/**
 * STIR/SHAKEN as carriers hand it to a PBX: the terminating carrier verifies the caller's signed
 * identity and writes the result into the identity it passes on, as the `verstat` parameter of the
 * P-Asserted-Identity or From URI (3GPP TS 24.229; ATIS IP-NNI practice puts it in the user part,
 * `sip:+15551234567;verstat=TN-Validation-Passed@host;user=phone`, some carriers after the host).
 * Pure: no I/O; the daemon never checks signatures itself, it reads the carrier's verdict.
 *
 * Values read (compared case-insensitively):
 * - `TN-Validation-Passed` — verified; carriers that send no level send this for A attestation only
 *   (B and C become No-TN-Validation), so a pass with no level counts as attested;
 * - `TN-Validation-Passed-A|B|C`, `TN-Validation-Failed-A|B|C` — the same with the attestation level
 *   (Telnyx, Twilio and others append it);
 * - `TN-Validation-Failed` — the signature or the certificate did not verify: likely spoofed;
 * - `No-TN-Validation` — nothing was verified (no Identity header reached the carrier).
 * Where verstat holds no level, `Attestation-Info` / `X-Attestation-Info` (A, B or C) may give it.
 */

export type VerificationStatus = 'passed' | 'failed' | 'no-validation';
export type AttestationLevel = 'A' | 'B' | 'C';

export interface Attestation {
  readonly status: VerificationStatus;
  /** The attestation level when the carrier gave one; null when it did not. */
  readonly level: AttestationLevel | null;
}

const VERSTAT = /^(tn-validation-passed|tn-validation-failed|no-tn-validation)(?:-([abc]))?$/i;

/** A verstat value (`TN-Validation-Passed-B`) read; undefined when it is none of the known values. */
export function parseVerstat(value: string): Attestation | undefined {
  const m = VERSTAT.exec(value.trim());
  if (!m) return undefined;
  const word = (m[1] ?? '').toLowerCase();
  const status: VerificationStatus =
    word === 'tn-validation-passed' ? 'passed' : word === 'tn-validation-failed' ? 'failed' : 'no-validation';
  return { status, level: levelOf(m[2] ?? '') ?? null };
}

/** `A`, `b`, ` C ` → the level; anything else undefined (Attestation-Info headers hold just the letter). */
export function levelOf(value: string): AttestationLevel | undefined {
  const v = value.trim().toUpperCase();
  return v === 'A' || v === 'B' || v === 'C' ? v : undefined;
}

/**
 * The `verstat` parameter of one identity header value (name-addr or addr-spec), from the URI only:
 * a quoted display name is the caller's own text and is skipped, so `"x;verstat=TN-Validation-Passed"
 * <sip:…>` attests nothing.
 */
export function verstatOf(headerValue: string): Attestation | undefined {
  const uri = uriPart(headerValue);
  const m = /[;?&]verstat=([A-Za-z-]+)/i.exec(uri);
  return m?.[1] !== undefined ? parseVerstat(m[1]) : undefined;
}

/** The URI of a name-addr (inside `<>`, after any quoted display name), or the addr-spec itself. */
function uriPart(value: string): string {
  let s = value.trim();
  if (s.startsWith('"')) {
    let end = -1;
    for (let i = 1; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 92) i++;
      else if (c === 34) {
        end = i;
        break;
      }
    }
    s = end >= 0 ? s.slice(end + 1) : '';
  }
  const lt = s.indexOf('<');
  if (lt < 0) return s;
  const gt = s.indexOf('>', lt + 1);
  return s.slice(lt + 1, gt >= 0 ? gt : undefined);
}

/**
 * The `attest` claim of an RFC 8224 Identity header's PASSporT (the JWT's payload, base64url) —
 * for display only: the signature is not checked here, so it never makes a call attested.
 */
export function identityClaimLevel(identityHeader: string): AttestationLevel | undefined {
  const jwt = identityHeader.trim().split(';')[0] ?? '';
  const payload = jwt.split('.')[1];
  if (payload === undefined || payload.length > 4096) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (claims !== null && typeof claims === 'object' && 'attest' in claims && typeof claims.attest === 'string')
      return levelOf(claims.attest);
  } catch {
    // not JSON: no claim
  }
  return undefined;
}

/**
 * Attested: the carrier verified the caller's right to the number — passed at level A, or passed
 * with no level given (see the header). B (the carrier knows its customer, not the number) and C
 * (a gateway) are not.
 */
export function isAttested(a: Attestation | undefined): boolean {
  return a !== undefined && a.status === 'passed' && (a.level === null || a.level === 'A');
}

/** One word for logs, call records and the CLI: `passed-A`, `failed`, `no-validation`, `` (none sent). */
export function attestationText(a: Attestation | undefined): string {
  if (a === undefined) return '';
  return a.level === null ? a.status : `${a.status}-${a.level}`;
}

/** The inverse of attestationText (call records are stored as text); undefined for '' or junk. */
export function parseAttestationText(text: string): Attestation | undefined {
  const m = /^(passed|failed|no-validation)(?:-([ABC]))?$/.exec(text);
  if (!m) return undefined;
  return { status: m[1] as VerificationStatus, level: (m[2] as AttestationLevel | undefined) ?? null };
}
