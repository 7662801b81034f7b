/**
 * Number patterns (issue #16): wildcards and ranges, beside exact and prefix entries.
 *
 *   - wildcards: `+1415555????` (`?` = one digit), optionally ending in `*` (any digits, none
 *     included): `+1415???0*`. A pattern that is only a trailing `*` (`+1900*`) is a prefix, and is
 *     stored as one;
 *   - ranges: `+14155550100..+14155550199`, both ends whole numbers of the same length, inclusive.
 *
 * Stored in canonical text (E.164 wildcards, or `LO..HI` of E.164 numbers). Pure: compiling and
 * matching only; reading national forms is the writer's (BlocklistService) with the org's region.
 *
 * Breadth: how many numbers a rule covers, which orders prefix and pattern matches (narrowest
 * first, so "longest prefix wins" still holds among prefixes) and is what the per-org minimum
 * guards. Unbounded rules (a prefix, a trailing `*`) count as if every number ran to E.164's 15
 * digits.
 */
import { CallscreenError } from './errors.js';

/** E.164 numbers have at most 15 digits after "+". */
export const MAX_NUMBER_DIGITS = 15;
/** The default minimum of fixed digits (after "+") a pattern must keep, when an org sets none. */
export const PATTERN_MIN_DIGITS_DEFAULT = 6;

export interface CompiledPattern {
  /** The stored text. */
  readonly text: string;
  /** Characters every match starts with (from "+"): what the index files the pattern under. */
  readonly lead: string;
  /** Wildcard text without a trailing `*` ('' for a range). */
  readonly mask: string;
  /** Trailing `*`: any further digits. */
  readonly open: boolean;
  /** Range ends ('' for wildcards). */
  readonly lo: string;
  readonly hi: string;
  /** Numbers covered (see the module comment). */
  readonly breadth: number;
  /** Digits that are fixed (after "+"): the breadth guard's measure. */
  readonly fixedDigits: number;
}

const invalid = (text: string, why: string): never => {
  throw new CallscreenError('CS_ERR_INVALID_PATTERN', `"${text}" is not a number pattern: ${why}`, {
    input: text,
    why,
  });
};

/** Whether `text` looks like a pattern rather than a number (has `?`, `*` or `..`). */
export function isPatternText(text: string): boolean {
  return /[?*]|\.\./.test(text);
}

/** Breadth of a prefix rule of `digits` digits after "+". */
export function prefixBreadth(digits: number): number {
  return 10 ** Math.max(0, MAX_NUMBER_DIGITS - digits);
}

/** Compiles stored (canonical) pattern text; throws CS_ERR_INVALID_PATTERN naming what is wrong. */
export function compilePattern(text: string): CompiledPattern {
  const range = text.indexOf('..');
  if (range >= 0) {
    const lo = text.slice(0, range);
    const hi = text.slice(range + 2);
    for (const end of [lo, hi]) {
      if (!/^\+[1-9][0-9]{1,14}$/.test(end)) invalid(text, `range ends are whole E.164 numbers ("${end}" is not)`);
    }
    if (lo.length !== hi.length) invalid(text, 'both ends of a range have the same number of digits');
    if (lo > hi) invalid(text, 'the first end of a range is the lower one');
    let common = 0;
    while (common < lo.length && lo.charCodeAt(common) === hi.charCodeAt(common)) common++;
    const breadth = Number(hi.slice(1)) - Number(lo.slice(1)) + 1;
    const digits = lo.length - 1;
    return {
      text,
      lead: lo.slice(0, common),
      mask: '',
      open: false,
      lo,
      hi,
      breadth,
      fixedDigits: Math.max(0, digits - Math.ceil(Math.log10(breadth))),
    };
  }
  if (!/^\+[0-9?]+\*?$/.test(text))
    invalid(text, 'use "+", digits, "?" for one digit and at most one "*" at the end, or LOW..HIGH');
  if (text.charCodeAt(1) === 48 /* 0 */) invalid(text, 'a country calling code never starts with 0');
  const open = text.endsWith('*');
  const mask = open ? text.slice(0, -1) : text;
  const digits = mask.length - 1;
  if (digits > MAX_NUMBER_DIGITS) invalid(text, 'longer than a whole number');
  const q = mask.indexOf('?');
  if (q < 0 && !open) invalid(text, 'it has no wildcard: block the number itself');
  const wild = (mask.match(/\?/g) ?? []).length;
  const fixedDigits = digits - wild;
  const lead = q < 0 ? mask : mask.slice(0, q);
  if (lead.length < 2) invalid(text, 'the country code is never a wildcard');
  return {
    text,
    lead,
    mask,
    open,
    lo: '',
    hi: '',
    breadth: open ? prefixBreadth(fixedDigits) : 10 ** wild,
    fixedDigits,
  };
}

/** Whether a normalised number matches. `n` starts with `p.lead` (the index looked it up so). */
export function patternMatches(p: CompiledPattern, n: string): boolean {
  if (p.lo !== '') return n.length === p.lo.length && n >= p.lo && n <= p.hi;
  const m = p.mask;
  if (p.open ? n.length < m.length : n.length !== m.length) return false;
  for (let i = p.lead.length; i < m.length; i++) {
    const c = m.charCodeAt(i);
    if (c !== 63 /* ? */ && c !== n.charCodeAt(i)) return false;
  }
  return true;
}

/** Refuses a pattern broader than the org allows (`minDigits` fixed digits after "+"). */
export function checkBreadth(p: CompiledPattern, minDigits: number): void {
  if (p.fixedDigits < minDigits) {
    throw new CallscreenError(
      'CS_ERR_PATTERN_TOO_BROAD',
      `"${p.text}" fixes ${p.fixedDigits} digit(s) (about ${p.breadth.toLocaleString('en-US')} numbers); this organisation's patterns fix at least ${minDigits}`,
      { pattern: p.text, fixedDigits: p.fixedDigits, breadth: p.breadth, minDigits },
    );
  }
}

/**
 * The order of prefix and pattern matches: narrowest first; on a tie a prefix before a pattern,
 * then the older entry (lower id). The index and `callscreen check` both sort with it.
 */
export function narrowestFirst(
  a: { readonly breadth?: number; readonly kind: string; readonly id: number },
  b: { readonly breadth?: number; readonly kind: string; readonly id: number },
): number {
  return (
    (a.breadth ?? 0) - (b.breadth ?? 0) || (a.kind === 'prefix' ? 0 : 1) - (b.kind === 'prefix' ? 0 : 1) || a.id - b.id
  );
}
