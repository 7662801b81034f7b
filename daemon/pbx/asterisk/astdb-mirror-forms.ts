/**
 * How the AstDB mirror's dialplan reads caller IDs without "+" (docs/asterisk-contract.md "AstDB
 * mirror"). Trunks send `5551234567` or `15551234567` (region US), `07700900123` (GB) as often as
 * E.164; the daemon reads them with the org's region (NumberNormalizer). The mirror writes one key per
 * listed number, E.164, and `national/<org>` tells the dialplan how to turn such a caller ID into that
 * E.164 number where the reading is certain: the plan's plain rules (NationalPlan: trunk prefix and
 * possible lengths, no access code, not all zeros, not a short code). Every digit string those rules
 * do not read is matched by the pattern it carries — written as lengths and first digits, which is
 * all the rules look at — and goes to FastAGI.
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
 * The `national/<org>` value, `<calling code>|<trunk prefix>|<pattern>` (`1|1|^(0+$|00|011|…)` for
 * region US): the dialplan reads a caller ID of digits the pattern does not match as "+", the calling
 * code, and the caller ID without its first digit when that digit is the trunk prefix — what
 * NumberNormalizer.parseCallerId reads for every such digit string (test/pbx/asterisk/
 * astdb-mirror-forms.test.ts) — and looks that E.164 number up as it would a caller presenting it.
 * The pattern matches what the plain rules do not read, and the forms the site left out
 * (`astdb_caller_forms`): `national` is the national number alone, `trunk` with the trunk prefix in
 * front. Null when neither form is answered, or the pattern would be longer than `maxChars`.
 */
export function nationalReading(
  plan: NationalPlan,
  forms: { readonly national: boolean; readonly trunk: boolean },
  maxChars: number,
): string | null {
  const t = plan.trunk;
  if (!forms.national && (!forms.trunk || t === null)) return null;
  const alts = new Set(unsupportedNationalForms(plan));
  if (!forms.national) alts.add(t === null ? ANY_NATIONAL : `[${DIGITS.replace(t, '')}]`);
  if (!forms.trunk && t !== null) alts.add(t);
  const value = `${plan.callingCode}|${t ?? ''}|^(${[...alts].sort().join('|')})`;
  return value.length <= maxChars ? value : null;
}
