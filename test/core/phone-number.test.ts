import t from 'tap';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { NumberNormalizer, extractUserPart } from '../../daemon/core/phone-number.js';

const n = new NumberNormalizer();

/** [region, what a trunk or a person sends, E.164 (or short code) we must store and match]. */
const FORMS: ReadonlyArray<readonly [string, string, string]> = [
  // NANP: national, 1+, 011, +, punctuation, SIP/TEL URIs, name-addr, percent-encoding
  ['US', '2125551234', '+12125551234'],
  ['US', '(212) 555-1234', '+12125551234'],
  ['US', '212.555.1234', '+12125551234'],
  ['US', '1-212-555-1234', '+12125551234'],
  ['US', '1 (212) 555 1234', '+12125551234'],
  ['US', '+1 212 555 1234', '+12125551234'],
  ['US', '011 44 20 7946 0958', '+442079460958'],
  ['US', '00442079460958', '+442079460958'],
  ['US', 'sip:+12125551234@carrier.example.com;user=phone', '+12125551234'],
  ['US', 'sip:12125551234@10.0.0.1:5060;transport=udp', '+12125551234'],
  ['US', 'sips:+12125551234@edge.example;user=phone?X-Foo=bar', '+12125551234'],
  ['US', 'tel:+1-212-555-1234', '+12125551234'],
  ['US', 'tel:+1-212-555-1234;phone-context=example.com', '+12125551234'],
  ['US', '"Bob Smith" <sip:+12125551234@carrier.example;user=phone>;tag=abc', '+12125551234'],
  ['US', 'Bob <tel:2125551234>', '+12125551234'],
  ['US', 'sip:%2B12125551234@carrier.example', '+12125551234'],
  ['US', '  +1\u00a0212\u2011555\u20101234 ', '+12125551234'],
  ['CA', '416 555 0199', '+14165550199'],
  ['CA', '1 (416) 555-0199', '+14165550199'],
  ['CA', '011 33 1 23 45 67 89', '+33123456789'],
  // GB: 0 trunk, 00 international, the "(0)" written after +44
  ['GB', '020 7946 0958', '+442079460958'],
  ['GB', '07700 900123', '+447700900123'],
  ['GB', '00 1 212 555 1234', '+12125551234'],
  ['GB', '+44 (0)20 7946 0958', '+442079460958'],
  ['GB', '+44 20 7946 0958', '+442079460958'],
  // DE, FR
  ['DE', '030 1234567', '+49301234567'],
  ['DE', '0151 23456789', '+4915123456789'],
  ['DE', '0049 30 1234567', '+49301234567'],
  ['DE', '+49 (0)30 1234567', '+49301234567'],
  ['FR', '01 23 45 67 89', '+33123456789'],
  ['FR', '06.12.34.56.78', '+33612345678'],
  ['FR', '0033 1 23 45 67 89', '+33123456789'],
  // AU: 0 trunk, 0011 international
  ['AU', '02 9876 5432', '+61298765432'],
  ['AU', '0412 345 678', '+61412345678'],
  ['AU', '0011 1 212 555 1234', '+12125551234'],
  ['AU', '0011 44 20 7946 0958', '+442079460958'],
  // JP: 0 trunk, 010 international
  ['JP', '03-1234-5678', '+81312345678'],
  ['JP', '090-1234-5678', '+819012345678'],
  ['JP', '010 1 212 555 1234', '+12125551234'],
  // short codes and emergency numbers have no E.164 form: kept as digits
  ['US', '72345', '72345'],
  ['US', '911', '911'],
  ['GB', '999', '999'],
  ['FR', '15', '15'],
  ['DE', '110', '110'],
  // AU's emergency number is all zeros: it must stay a number, not the unidentified class
  ['AU', '000', '000'],
];

t.test('real-world number forms per region: parseCallerId and normalizeNumber agree on E.164', async (t) => {
  for (const [region, raw, want] of FORMS) {
    t.same(
      n.parseCallerId(raw, region),
      { kind: 'number', value: want },
      `parseCallerId ${region} ${JSON.stringify(raw)}`,
    );
    t.equal(n.normalizeNumber(raw, region), want, `normalizeNumber ${region} ${JSON.stringify(raw)}`);
  }
});

t.test('unidentified callers: every withheld form is classified, never a number', async (t) => {
  const cases: ReadonlyArray<readonly [string | null | undefined, string]> = [
    ['', 'empty'],
    ['   ', 'empty'],
    [null, 'empty'],
    [undefined, 'empty'],
    ['anonymous', 'withheld-word'],
    ['Anonymous', 'withheld-word'],
    ['Restricted', 'withheld-word'],
    ['PRIVATE', 'withheld-word'],
    ['unavailable', 'withheld-word'],
    ['unknown', 'withheld-word'],
    ['withheld', 'withheld-word'],
    ['sip:anonymous@anonymous.invalid', 'withheld-word'],
    ['"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1', 'withheld-word'],
    ['0000000000', 'all-zeros'],
    ['000', 'all-zeros'],
    ['+000', 'all-zeros'],
    ['0', 'all-zeros'],
    ['ABC', 'non-numeric'],
    ['555-CALL-NOW', 'non-numeric'],
    ['sip:pbx.example.com', 'empty'],
    ['+', 'empty'],
  ];
  for (const [raw, why] of cases) {
    t.same(n.parseCallerId(raw, 'US'), { kind: 'unidentified', why }, `${JSON.stringify(raw)} → ${why}`);
  }
});

t.test('normalizeNumber refuses text that is not a number, with CS_ERR_INVALID_NUMBER naming why', async (t) => {
  for (const raw of [
    '',
    'anonymous',
    'ABC',
    '0000000000',
    '+0 123 456 789',
    '+1234567890123456',
    '+123',
    '1',
    '+999 1234 5678',
  ]) {
    t.throws(
      () => n.normalizeNumber(raw, 'US'),
      { code: 'CS_ERR_INVALID_NUMBER', message: /is not a phone number: \S/ },
      JSON.stringify(raw),
    );
  }
});

t.test('normalizePrefix reads national, trunk, IDD and + forms', async (t) => {
  t.equal(n.normalizePrefix('+1900', 'US'), '+1900');
  t.equal(n.normalizePrefix('1900', 'US'), '+1900');
  t.equal(n.normalizePrefix('900', 'US'), '+1900');
  t.equal(n.normalizePrefix('011 44', 'US'), '+44');
  t.equal(n.normalizePrefix('09', 'GB'), '+449');
  t.equal(n.normalizePrefix('0044 9', 'GB'), '+449');
  t.throws(() => n.normalizePrefix('abc', 'US'), { code: 'CS_ERR_INVALID_PREFIX' });
  t.throws(() => n.normalizePrefix('+0', 'US'), { code: 'CS_ERR_INVALID_PREFIX' });
});

t.test('extractUserPart: a quoted display name is never read as the number', async (t) => {
  // A caller controls the display name: reading a URI out of it would let them pick the number screened.
  t.equal(extractUserPart('"<sip:+12025550199@x>, a;b" <sip:+15557771001@h>'), '+15557771001');
  t.equal(extractUserPart('"a<b>c" <sip:+15557771001@h>'), '+15557771001');
  t.equal(
    extractUserPart('"Spam, \\"Inc\\" <x>" <sip:+15557771001@h;user=phone>'),
    '+15557771001',
    'escaped quotes inside',
  );
  t.equal(
    extractUserPart('"slash\\\\" <tel:+1-555-777-1001>'),
    '+1-555-777-1001',
    'an escaped backslash before the closing quote',
  );
  t.equal(extractUserPart('"Spam (Inc" <sip:+15557771001@h>'), '+15557771001');
  t.equal(extractUserPart('Plain Name <sip:+15557771001@h>'), '+15557771001', 'unquoted display name');
  t.equal(
    extractUserPart('"unterminated <sip:+15557771001@h>'),
    '+15557771001',
    'an unterminated quote: the URI is still found',
  );
});

t.test('extractUserPart takes the user out of URIs and name-addrs', async (t) => {
  t.equal(extractUserPart('<sip:+15551234567@h;user=phone>'), '+15551234567');
  t.equal(extractUserPart('tel:+1-555-123-4567;ext=9'), '+1-555-123-4567');
  t.equal(extractUserPart('sip:%2B15551234567@h'), '+15551234567');
  t.equal(extractUserPart('sip:%ZZ@h'), '%ZZ', 'a malformed escape is kept as it came');
});

/**
 * The fast path (plain trunk/IDD plans handled without libphonenumber) must give what
 * libphonenumber-js gives for national numbers. Numbers are generated from each region's own
 * example numbers with their last digits varied, so they have real lengths and leading digits.
 */
t.test('differential: fast national path agrees with libphonenumber-js', async (t) => {
  const regions: CountryCode[] = ['US', 'CA', 'GB', 'DE', 'FR', 'AU', 'JP'];
  const { getExampleNumber } = await import('libphonenumber-js/max');
  const examples = (await import('libphonenumber-js/mobile/examples')).default;
  let compared = 0;
  for (const region of regions) {
    const fixed = getExampleNumber(region, examples);
    t.ok(fixed, `${region} has an example number`);
    if (!fixed) continue;
    const national = fixed.formatNational().replace(/\D/g, '');
    for (let i = 0; i < 200; i++) {
      const tail = String((i * 7919) % 1000).padStart(3, '0');
      const digits = national.slice(0, -3) + tail;
      const ref = parsePhoneNumberFromString(digits, region);
      if (!ref) continue;
      const ours = n.parseCallerId(digits, region);
      if (ours.kind !== 'number' || ours.value !== ref.number) {
        t.fail(`${region} ${digits}: ours ${JSON.stringify(ours)}, libphonenumber ${ref.number}`);
      }
      compared++;
    }
  }
  t.ok(compared >= regions.length * 100, `compared ${compared} numbers`);
});
