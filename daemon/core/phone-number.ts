/**
 * Phone-number normalisation. Everything is stored and matched as E.164 (`+15551234567`), or as a
 * bare short code (`911`, `72345`: SMS short codes and emergency numbers have no E.164 form).
 *
 * Two entry points with different temperaments:
 * - `parseCallerId` is for the hot path: it never throws, and classifies anything that is not a
 *   number (empty, "anonymous", "Restricted", all zeros, letters) as unidentified.
 * - `normalizeNumber` / `normalizePrefix` are for writes: they throw CS_ERR_INVALID_NUMBER /
 *   CS_ERR_INVALID_PREFIX naming what was wrong, so nothing unparseable is ever stored.
 *
 * Validity is deliberately *not* required for writes: spoofed robocalls use numbers that were never
 * assigned, and an admin must be able to block them. Shape and country calling code are required.
 */
import {
  Metadata,
  getCountries,
  getCountryCallingCode,
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js/max';

/** The parts of libphonenumber-js's numbering plan we read (its typings declare fewer). */
interface PlanMetadata {
  callingCode(): string;
  IDDPrefix(): string;
  nationalPrefix(): string | undefined;
  nationalPrefixForParsing(): string | undefined;
  nationalPrefixTransformRule(): string | undefined;
  possibleLengths(): number[];
}
import { emergencyNumbers } from './emergency-numbers.js';
import { CallscreenError } from './errors.js';

/** carrier-standin: a number a carrier substitutes for a withheld one (identity-settings.ts). */
export type UnidentifiedWhy = 'empty' | 'withheld-word' | 'all-zeros' | 'non-numeric' | 'carrier-standin';

export type ParsedCaller =
  | { readonly kind: 'number'; readonly value: string }
  | { readonly kind: 'unidentified'; readonly why: UnidentifiedWhy };

/** Words carriers and PBXs put in the caller ID when the number is withheld or unknown. */
const WITHHELD_WORDS = new Set([
  'anonymous',
  'restricted',
  'private',
  'unavailable',
  'unknown',
  'withheld',
  'blocked',
  'p',
  'o',
  'out of area',
  'outofarea',
  'private number',
  'unknown number',
  'not available',
  'no caller id',
  'nocallerid',
  'anonymous.invalid',
  'asterisk',
]);

/** Characters people and carriers use to format numbers; removed before reading digits. */
const SEPARATORS = /[\s\-.()/\u00a0\u2010-\u2015]/g;

/**
 * The "(0)" people write after the country code (`+44 (0)20 7946 0958`): a trunk prefix that must
 * not be dialled after `+`. Left in, it would become a digit of the number (+4402079460958).
 */
const PAREN_TRUNK = /^(\+[\d\s\-.]*?)\(0\)/;

/** Removes separators, and the "(0)" trunk hint of an international number. */
function compactOf(user: string): string {
  // extractUserPart has trimmed; the regex runs only for "+" numbers that contain "(".
  const s = user.charCodeAt(0) === 43 && user.includes('(') ? user.replace(PAREN_TRUNK, '$1') : user;
  return s.replace(SEPARATORS, '');
}

/** All zeros is a withheld caller ID, except where it is the emergency number (000 in AU). */
function isZerosEmergency(digits: string, region: string): boolean {
  return digits.length <= MAX_SHORT_CODE && emergencyNumbers(region).includes(digits);
}

/** ITU non-geographic calling codes: freephone, satellite, networks. */
const NON_GEOGRAPHIC_CODES = ['800', '808', '870', '878', '881', '882', '883', '888', '979'];

const MAX_E164_DIGITS = 15;
const MIN_E164_DIGITS = 7; // country code + a few digits: +15550100 is 8, some small nations have 7
const MAX_SHORT_CODE = 6;
const MIN_SHORT_CODE = 2; // French emergency numbers are two digits (15, 17, 18)

/**
 * A name-addr's quoted display name (RFC 3261 quoted-string, `\\` escapes) is skipped before the
 * URI is looked for: the name is the caller's own text, and `"<sip:+1202…@x>" <sip:+1555…@h>` or
 * `"a<b>c" <sip:…>` must not make us read a number out of it — a caller choosing which number is
 * screened would be a way around the list. An unterminated quote is left as it is.
 */
function skipQuotedDisplayName(s: string): string {
  if (s.charCodeAt(0) !== 34) return s;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92)
      i++; // backslash: the next character is literal
    else if (c === 34) return s.slice(i + 1).trim();
  }
  return s;
}

/**
 * Takes the user part out of a SIP/TEL URI or a name-addr (`"Bob" <sip:+1555@host;user=phone>`),
 * drops URI parameters and headers, and percent-decodes. Plain numbers pass through.
 */
export function extractUserPart(raw: string): string {
  let s = skipQuotedDisplayName(raw.trim());
  const lt = s.indexOf('<');
  if (lt >= 0) {
    const gt = s.indexOf('>', lt + 1);
    s = s.slice(lt + 1, gt >= 0 ? gt : undefined).trim();
  }
  const colon = s.indexOf(':');
  if (colon > 0) {
    const scheme = s.slice(0, colon).toLowerCase();
    if (scheme === 'sip' || scheme === 'sips' || scheme === 'tel') {
      s = s.slice(colon + 1);
      if (scheme !== 'tel') {
        const at = s.lastIndexOf('@');
        if (at >= 0) s = s.slice(0, at);
        else if (/[a-z]/i.test(s)) s = ''; // sip:host with no user part: no number at all
      }
    }
  }
  const cut = s.search(/[;?]/);
  if (cut >= 0) s = s.slice(0, cut);
  if (s.includes('%')) {
    try {
      s = decodeURIComponent(s);
    } catch {
      // malformed escape: keep the text as it came; it will be classified below
    }
  }
  return s.trim();
}

/** Digits only, for "partial digits match whatever the formatting" searches. */
export function digitsOf(text: string): string {
  return text.replace(/\D+/g, '');
}

/**
 * The plain rules by which a caller ID of digits only (no "+") becomes E.164 in a region
 * (NumberNormalizer.nationalPlan): digits starting with `idd` or `00` are international, `minDigits`
 * or more digits are a national number — with the one-digit `trunk` prefix in front when the rest
 * has one of `lengths`, without it when the whole has one of `lengths` and does not start with the
 * trunk prefix — and fewer digits are a short code. Anything else is read by libphonenumber.
 */
export interface NationalPlan {
  readonly callingCode: string;
  readonly trunk: string | null;
  readonly idd: string;
  /** Possible lengths of a national significant number (digits), ascending. */
  readonly lengths: readonly number[];
  /** Fewer digits than this are a short code, kept as they are (default 7). */
  readonly minDigits: number;
}

interface RegionPlan {
  readonly region: CountryCode;
  readonly callingCode: string;
  /** International access code when it is one fixed string (011, 00); null when a pattern. */
  readonly idd: string | null;
  /** Trunk prefix when parsing it is plain (0, 1); null when the region has rules (AR, BR, JP…). */
  readonly trunk: string | null;
  readonly simple: boolean;
  readonly lengths: ReadonlySet<number>;
}

/**
 * Normalises numbers for one region. Holds per-region numbering plans and a bounded memo of slow
 * (libphonenumber) results, so the hot path for a flood of national-format numbers stays cheap.
 * One instance is built at start and shared; it has no other state.
 */
export class NumberNormalizer {
  private readonly plans = new Map<string, RegionPlan | null>();
  private readonly memo = new Map<string, string | null>();
  /** Every country calling code (1, 44, 358…) plus the non-geographic ones (800, 882…). */
  private readonly callingCodes: ReadonlySet<string>;

  /** @param memoSize how many slow-path results to remember (default 50,000 ≈ 5 MB). */
  constructor(private readonly memoSize = 50_000) {
    const codes = new Set<string>(NON_GEOGRAPHIC_CODES);
    for (const c of getCountries()) codes.add(getCountryCallingCode(c));
    this.callingCodes = codes;
  }

  isSupportedRegion(region: string): boolean {
    return this.plan(region) !== null;
  }

  /** Lenient: for screening. Never throws. */
  parseCallerId(raw: string | null | undefined, region: string): ParsedCaller {
    if (raw === null || raw === undefined) return { kind: 'unidentified', why: 'empty' };
    // Fast path: most PBXs hand over a bare number ("+15551234567", "2125551234"); one scan tells,
    // and it skips URI parsing and the separator regex, half the cost of a verdict.
    const plusFirst = raw.charCodeAt(0) === 43;
    if (raw.length > (plusFirst ? 1 : 0) && isAllDigits(raw, plusFirst ? 1 : 0)) {
      if (plusFirst)
        return isAllZeros(raw, 1) ? { kind: 'unidentified', why: 'all-zeros' } : { kind: 'number', value: raw };
      return this.fromDigits(raw, region);
    }
    const user = extractUserPart(raw);
    if (user === '') return { kind: 'unidentified', why: 'empty' };
    if (WITHHELD_WORDS.has(user.toLowerCase())) return { kind: 'unidentified', why: 'withheld-word' };
    const compact = compactOf(user);
    const plus = compact.startsWith('+');
    const digits = plus ? compact.slice(1) : compact;
    if (digits === '') return { kind: 'unidentified', why: 'empty' };
    if (!isAllDigits(digits)) return { kind: 'unidentified', why: 'non-numeric' };
    if (plus)
      return isAllZeros(digits) ? { kind: 'unidentified', why: 'all-zeros' } : { kind: 'number', value: '+' + digits };
    return this.fromDigits(digits, region);
  }

  /** Caller-ID digits without "+": all zeros, a short code, or a national/IDD number. */
  private fromDigits(digits: string, region: string): ParsedCaller {
    if (isAllZeros(digits) && !isZerosEmergency(digits, region)) return { kind: 'unidentified', why: 'all-zeros' };
    if (digits.length <= MAX_SHORT_CODE) return { kind: 'number', value: digits }; // short code
    const value = this.nationalToE164(digits, region) ?? digits;
    return { kind: 'number', value };
  }

  /**
   * A number one could dial as it stands in `region`: a possible full number (libphonenumber's
   * length check, so fictional 555 numbers count) or the region's emergency number. For reading
   * what an agent dialled (dial-prefix.ts), not for screening.
   */
  isDiallable(raw: string, region: string): boolean {
    const parsed = this.parseCallerId(raw, region);
    if (parsed.kind !== 'number') return false;
    if (!parsed.value.startsWith('+'))
      return isAllDigits(parsed.value) && emergencyNumbers(region).includes(parsed.value);
    return parsePhoneNumberFromString(parsed.value)?.isPossible() === true;
  }

  /** Strict: for writes. Returns E.164 or a short code; throws CS_ERR_INVALID_NUMBER. */
  normalizeNumber(raw: string, region: string): string {
    const input = raw;
    const user = extractUserPart(input);
    const compact = compactOf(user);
    const plus = compact.startsWith('+');
    const digits = plus ? compact.slice(1) : compact;
    const fail = (why: string): never => {
      throw new CallscreenError('CS_ERR_INVALID_NUMBER', `"${input}" is not a phone number: ${why}`, { input, why });
    };
    if (digits === '') fail('it has no digits');
    if (!isAllDigits(digits)) fail('only digits, "+", spaces and - . ( ) / may appear');
    if (isAllZeros(digits) && (plus || !isZerosEmergency(digits, region)))
      fail('all zeros is the unidentified-caller class, not a number (use --unidentified)');
    if (!plus && digits.length <= MAX_SHORT_CODE) {
      if (digits.length < MIN_SHORT_CODE) fail('too short');
      return digits; // short code (SMS short code, emergency number)
    }
    let e164: string;
    if (plus) e164 = '+' + digits;
    else {
      const converted = this.nationalToE164(digits, region);
      if (converted === null) fail(`cannot be read as a number of region ${region}`);
      e164 = converted as string;
    }
    const significant = e164.length - 1;
    if (e164[1] === '0') fail('a country calling code never starts with 0');
    if (significant > MAX_E164_DIGITS) fail(`longer than ${MAX_E164_DIGITS} digits`);
    if (significant < MIN_E164_DIGITS) fail('too short for an international number');
    if (!this.hasKnownCallingCode(e164)) fail('no country uses that calling code');
    return e164;
  }

  private hasKnownCallingCode(e164: string): boolean {
    for (let len = 1; len <= 3; len++) if (this.callingCodes.has(e164.slice(1, 1 + len))) return true;
    return false;
  }

  /** A prefix: `+1900`, `1900` or `900` in region US all give `+1900`. */
  normalizePrefix(raw: string, region: string): string {
    const input = raw;
    const compact = input.trim().replace(SEPARATORS, '');
    const plus = compact.startsWith('+');
    let digits = plus ? compact.slice(1) : compact;
    const fail = (why: string): never => {
      throw new CallscreenError('CS_ERR_INVALID_PREFIX', `"${input}" is not a number prefix: ${why}`, { input, why });
    };
    if (digits === '' || !isAllDigits(digits)) fail('a prefix is digits, optionally after "+"');
    if (plus) {
      if (digits.startsWith('0')) fail('a country calling code never starts with 0');
      if (digits.length > MAX_E164_DIGITS) fail('longer than a whole number');
      return '+' + digits;
    }
    const plan = this.plan(region);
    if (plan === null) fail(`unknown region ${region}`);
    const p = plan as RegionPlan;
    if (p.idd !== null && digits.startsWith(p.idd) && digits.length > p.idd.length) {
      return this.normalizePrefix('+' + digits.slice(p.idd.length), region);
    }
    if (digits.startsWith('00')) return this.normalizePrefix('+' + digits.slice(2), region);
    const trunk = p.trunk;
    if (trunk !== null && digits.startsWith(trunk) && digits.length > trunk.length) digits = digits.slice(trunk.length);
    const out = '+' + p.callingCode + digits;
    if (out.length - 1 > MAX_E164_DIGITS) fail('longer than a whole number');
    return out;
  }

  /**
   * How a caller ID without "+" is read in `region`, when that reading is plain enough to state as
   * rules (the AstDB mirror's dialplan reads such callers with them, astdb-mirror-forms.ts): a simple plan
   * (no transform rule) whose trunk prefix is one digit or none, and whose access code is fixed.
   * Null otherwise (AR, BR, JP, HU…): such regions' national forms stay with the FastAGI route.
   */
  nationalPlan(region: string): NationalPlan | null {
    const p = this.plan(region);
    // A trunk prefix that is not one digit (or not text: IT's metadata has none) is not stated here.
    if (
      p === null ||
      !p.simple ||
      p.idd === null ||
      (p.trunk !== null && (typeof p.trunk !== 'string' || !/^\d$/.test(p.trunk)))
    )
      return null;
    return {
      callingCode: p.callingCode,
      trunk: p.trunk,
      idd: p.idd,
      lengths: [...p.lengths].sort((a, b) => a - b),
      minDigits: MAX_SHORT_CODE + 1,
    };
  }

  /** National (or IDD-prefixed) digits to E.164, or null. Fast path for plain plans, memo otherwise. */
  private nationalToE164(digits: string, region: string): string | null {
    const plan = this.plan(region);
    if (plan === null) return null;
    if (plan.idd !== null && digits.startsWith(plan.idd)) {
      const rest = digits.slice(plan.idd.length);
      return rest.length >= MIN_E164_DIGITS - 1 && rest[0] !== '0' ? '+' + rest : null;
    }
    if (digits.startsWith('00') && plan.idd !== '00') {
      // Foreign numbers written with 00 where the region's access code is another (011 in NANP).
      const foreign = parsePhoneNumberFromString('+' + digits.slice(2));
      if (foreign?.isPossible()) return foreign.number;
    }
    if (plan.simple) {
      const n = digits.length;
      if (plan.trunk !== null && digits.startsWith(plan.trunk) && plan.lengths.has(n - plan.trunk.length)) {
        return '+' + plan.callingCode + digits.slice(plan.trunk.length);
      }
      if (plan.lengths.has(n) && (plan.trunk === null || !digits.startsWith(plan.trunk))) {
        return '+' + plan.callingCode + digits;
      }
    }
    return this.slowNational(digits, plan);
  }

  private slowNational(digits: string, plan: RegionPlan): string | null {
    const key = plan.region + ':' + digits;
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    const parsed = parsePhoneNumberFromString(digits, plan.region);
    const out: string | null = parsed?.number ?? null;
    if (this.memo.size >= this.memoSize) this.memo.clear(); // bounded; a flood cannot grow it
    this.memo.set(key, out);
    return out;
  }

  private plan(region: string): RegionPlan | null {
    const cached = this.plans.get(region);
    if (cached !== undefined) return cached;
    let plan: RegionPlan | null = null;
    try {
      const md = new Metadata();
      if (/^[A-Z]{2}$/.test(region) && isSupportedCountry(region)) {
        md.selectNumberingPlan(region);
        const np = md.numberingPlan as unknown as PlanMetadata;
        const iddRaw = np.IDDPrefix();
        const idd = /^\d+$/.test(iddRaw) ? iddRaw : null;
        const trunkRaw = np.nationalPrefix() ?? null;
        const forParsing = np.nationalPrefixForParsing() ?? null;
        const simple = !np.nationalPrefixTransformRule() && (forParsing === null || forParsing === trunkRaw);
        plan = {
          region,
          callingCode: np.callingCode(),
          idd,
          trunk: simple ? trunkRaw : null,
          simple,
          lengths: new Set(np.possibleLengths()),
        };
        if (!simple) plan = { ...plan, trunk: trunkRaw && /^\d+$/.test(trunkRaw) ? trunkRaw : null };
      }
    } catch {
      plan = null;
    }
    this.plans.set(region, plan);
    return plan;
  }
}

function isAllDigits(s: string, from = 0): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isAllZeros(s: string, from = 0): boolean {
  for (let i = from; i < s.length; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}
