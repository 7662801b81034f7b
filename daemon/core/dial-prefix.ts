/**
 * What an agent dialled, without what the PBX strips before the carrier sees it: caller-ID
 * feature codes (`*67` hide, `*82` show — NANP vertical service codes, never part of a number) and
 * the site's outside-line prefixes (`9`, `0`, `8`…: `screening.dial_prefixes`, default ["9"]).
 * Pure. Without this, an agent dialling 9+number or *67+number would not be warned about a number
 * blocked as +1…
 *
 * A site prefix is removed only when what it leaves is a usable number and what was dialled is not
 * one as it stands (`isNumber`, the normaliser's view in the org's region): `911` is never read as
 * outside-line + `11`, and a 10-digit national number that happens to start with 9 keeps its 9.
 */

/** Caller-ID feature codes removed wherever they lead the dialled string (repeatedly: `*82*67…`). */
export const FEATURE_CODES: readonly string[] = ['*67', '*82', '#31#', '*31#'];

export function stripDialPrefixes(
  dialled: string,
  sitePrefixes: readonly string[],
  isNumber: (s: string) => boolean,
): string {
  let s = dialled.trim();
  for (let again = true; again;) {
    again = false;
    for (const code of FEATURE_CODES) {
      if (s.startsWith(code) && s.length > code.length) {
        s = s.slice(code.length);
        again = true;
      }
    }
  }
  if (isNumber(s)) return s;
  // Longest site prefix first: `90` before `9` where a site has both.
  for (const p of [...sitePrefixes].sort((a, b) => b.length - a.length)) {
    if (p === '' || !s.startsWith(p) || s.length <= p.length) continue;
    const rest = s.slice(p.length);
    if (isNumber(rest)) return rest;
  }
  return s;
}
