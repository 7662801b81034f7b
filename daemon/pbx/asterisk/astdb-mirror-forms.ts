/**
 * National caller forms in the AstDB mirror's exclusion pattern (`complete/<org>`,
 * docs/asterisk-contract.md "AstDB mirror"). Trunks send `5551234567` or `15551234567` (region US),
 * `07700900123` (GB) as often as E.164; the daemon reads them with the org's region
 * (NumberNormalizer), and the mirror answers them only where that reading is certain:
 *
 * - a listed number is written under each form `NumberNormalizer.nationalForms` gives back, so a
 *   key hit is the daemon's own reading of that caller ID;
 * - a miss allows only a caller ID the plan reads with its plain rules (NationalPlan: trunk prefix
 *   and possible lengths, no access code, not all zeros, not a short code). The pattern therefore
 *   excludes every other digit string — written as lengths and first digits, which is all those
 *   rules look at — and the national forms of the org's exclusions (block prefixes, numbers whose
 *   verdict depends on time, its own DIDs).
 *
 * Every alternative is anchored at the start by the caller of these functions (`^(…)`), has no
 * comma (Asterisk's REGEX() arguments) and no double quote, and is POSIX extended syntax.
 */
import type { NationalPlan } from '../../core/phone-number.js';

/** Every caller ID without "+" (the dialplan's gate lets only `+digits` and digits through). */
export const ANY_NATIONAL = '[0-9]';

const DIGITS = '0123456789';

/** `[0-9]{k}$`: exactly k digits (anchored at the start by the caller). */
const exactly = (k: number): string => `[0-9]{${String(k)}}$`;

/**
 * The digit strings the plan does not read with its plain rules: all zeros (unidentified), the
 * access codes (`00`, the plan's own), short codes, and lengths where neither the national number
 * nor its trunk-prefixed form has a possible length.
 */
export function unsupportedNationalForms(plan: NationalPlan): string[] {
  const lengths = new Set(plan.lengths);
  const out = ['0+$', '00'];
  if (plan.idd !== '00') out.push(plan.idd);
  const t = plan.trunk;
  const top = Math.max(...plan.lengths, 0) + (t === null ? 0 : 1);
  for (let k = 1; k <= top; k++) {
    if (k < plan.minDigits) {
      out.push(exactly(k));
      continue;
    }
    const plain = lengths.has(k); // read as a national number when it does not start with the trunk prefix
    const trunked = t !== null && lengths.has(k - 1); // read as trunk + national number
    if (t === null) {
      if (!plain) out.push(exactly(k));
    } else if (!plain && !trunked) out.push(exactly(k));
    else if (plain && !trunked) out.push(`${t}[0-9]{${String(k - 1)}}$`);
    else if (!plain && trunked) out.push(`[${DIGITS.replace(t, '')}][0-9]{${String(k - 1)}}$`);
  }
  // Longer than any form: `top + 1` digits or more (no `{m,}`: its comma would split REGEX()'s arguments).
  out.push(`[0-9]{${String(top + 1)}}`);
  return out;
}

/**
 * National forms of the callers under a block prefix (E.164 digits without "+"): a caller read as
 * `+<cc><n>` is under it when `<cc><n>` starts with it, so the national number starts with the rest
 * (with or without the trunk prefix); a prefix that is part of the calling code covers them all.
 */
export function nationalPrefixAlternatives(prefixDigits: string, plan: NationalPlan): string[] {
  const cc = plan.callingCode;
  if (cc.startsWith(prefixDigits)) return [ANY_NATIONAL];
  if (!prefixDigits.startsWith(cc)) return [];
  const rest = prefixDigits.slice(cc.length);
  return plan.trunk === null ? [rest] : [rest, plan.trunk + rest];
}
