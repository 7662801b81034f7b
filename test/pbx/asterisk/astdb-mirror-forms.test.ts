// The national forms the AstDB mirror lets a miss allow must be exactly the daemon's reading
// (#20): for every region whose plain rules can be stated, random digit strings that the
// exclusion pattern does not exclude are read by NumberNormalizer as the plain rules say, and are
// among the forms the mirror writes keys under; a caller under a block prefix always matches one
// of the prefix's national alternatives. Fixed seed; the normaliser is the source of truth.
import t from 'tap';
import { getCountries } from 'libphonenumber-js/max';
import { NumberNormalizer } from '../../../daemon/core/phone-number.js';
import {
  nationalPrefixAlternatives,
  unsupportedNationalForms,
} from '../../../daemon/pbx/asterisk/astdb-mirror-forms.js';
import { prng } from '../../support/prng.js';

const normalizer = new NumberNormalizer();
const anchored = (alts: readonly string[]): RegExp => new RegExp(`^(${alts.join('|')})`);

t.test('a digit string the pattern does not exclude is read by the plain rules, and has a key form', async (t) => {
  const random = prng(20);
  let regions = 0;
  let checked = 0;
  const wrong: string[] = [];
  for (const region of getCountries()) {
    const plan = normalizer.nationalPlan(region);
    if (plan === null) continue;
    regions++;
    const unsupported = anchored(unsupportedNationalForms(plan));
    for (let i = 0; i < 400; i++) {
      const len = 1 + Math.floor(random() * 17);
      // Lead with the trunk prefix, the access code or a random digit, so every rule is reached.
      const lead = random() < 0.3 && plan.trunk !== null ? plan.trunk : random() < 0.1 ? plan.idd : '';
      let x = lead;
      while (x.length < len) x += String(Math.floor(random() * 10));
      if (unsupported.test(x)) continue;
      checked++;
      const parsed = normalizer.parseCallerId(x, region);
      const national = plan.trunk !== null && x.startsWith(plan.trunk) ? x.slice(1) : x;
      const expected = `+${plan.callingCode}${national}`;
      if (parsed.kind !== 'number' || parsed.value !== expected)
        wrong.push(`${region} ${x}: read ${JSON.stringify(parsed)}, plain rules ${expected}`);
      else if (!normalizer.nationalForms(expected, region).includes(x))
        wrong.push(`${region} ${x}: not among the forms of ${expected}`);
    }
  }
  t.ok(regions > 50, `${regions} regions have plain rules`);
  t.ok(checked > 4000, `${checked} national forms checked`);
  t.same(wrong.slice(0, 10), [], `${wrong.length} differ`);
});

t.test('region US: 10 digits and 1 + 10 digits are national forms; others are excluded', async (t) => {
  const plan = normalizer.nationalPlan('US');
  if (plan === null) throw new Error('US has plain rules');
  const unsupported = anchored(unsupportedNationalForms(plan));
  t.notOk(unsupported.test('5551234567'));
  t.notOk(unsupported.test('15551234567'));
  for (const x of ['1555123456', '011445551234', '0015551234567', '72345', '0000000000', '555123456', '155512345678'])
    t.ok(unsupported.test(x), `${x} goes to FastAGI`);
  t.same(normalizer.nationalForms('+15551234567', 'US'), ['5551234567', '15551234567']);
  t.same(
    normalizer.nationalForms('+447700900123', 'GB'),
    ['7700900123', '07700900123'],
    'GB (no plain rules) still has key forms, each read back by the normaliser',
  );
  t.equal(
    normalizer.nationalPlan('GB'),
    null,
    "GB's national reading has rules (0|180020): a miss there goes to FastAGI",
  );
});

t.test('a caller under a block prefix matches one of its national alternatives', async (t) => {
  const random = prng(21);
  const wrong: string[] = [];
  let under = 0;
  for (const region of ['US', 'CA', 'DE', 'FR', 'IE', 'NZ', 'ES', 'NL', 'CH', 'SE']) {
    const plan = normalizer.nationalPlan(region);
    if (plan === null) continue;
    const unsupported = anchored(unsupportedNationalForms(plan));
    for (let i = 0; i < 2000; i++) {
      const len = 7 + Math.floor(random() * 6);
      let x = random() < 0.5 && plan.trunk !== null ? plan.trunk : '';
      while (x.length < len) x += String(Math.floor(random() * 10));
      if (unsupported.test(x)) continue;
      const parsed = normalizer.parseCallerId(x, region);
      if (parsed.kind !== 'number') continue;
      const digits = parsed.value.slice(1);
      const prefix = digits.slice(0, 1 + Math.floor(random() * Math.min(digits.length, 6)));
      under++;
      if (!anchored(nationalPrefixAlternatives(prefix, plan)).test(x))
        wrong.push(`${region} ${x} (${parsed.value}) under +${prefix}`);
    }
  }
  t.ok(under > 1000, `${under} callers under a prefix`);
  t.same(wrong.slice(0, 10), [], `${wrong.length} missed`);
});
