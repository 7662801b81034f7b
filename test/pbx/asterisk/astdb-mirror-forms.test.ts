// The AstDB mirror's dialplan reads a caller ID without "+" into E.164 with `national/<org>` (#20); it
// must read it exactly as the daemon does. For every region whose plain rules can be stated, random
// digit strings are put to the dialplan's reading of the value the mirror writes (nationalKey, as the
// mirror-national priority does) and to NumberNormalizer.parseCallerId: whatever the dialplan reads
// (does not send to FastAGI), the daemon reads the same. Fixed seed; the normaliser is the source of truth.
import t from 'tap';
import { getCountries } from 'libphonenumber-js/max';
import { NumberNormalizer } from '../../../daemon/core/phone-number.js';
import { nationalReading } from '../../../daemon/pbx/asterisk/astdb-mirror-forms.js';
import { nationalKey } from '../../support/mirror-dialplan.js';
import { prng } from '../../support/prng.js';

const normalizer = new NumberNormalizer();
const BOTH = { national: true, trunk: true };
/** The daemon's E.164 reading of a caller ID. */
const daemonReads = (x: string, region: string): string => {
  const p = normalizer.parseCallerId(x, region);
  return p.kind === 'number' ? p.value : p.why;
};

/** `national/<org>` for `region` with both forms, or null where the region's reading has rules. */
function readingOf(region: string, forms = BOTH): string | null {
  const plan = normalizer.nationalPlan(region);
  return plan === null ? null : nationalReading(plan, forms, 2000);
}

t.test('a digit string the dialplan reads is read the same by the daemon, in every region', async (t) => {
  const random = prng(20);
  let regions = 0;
  let read = 0;
  let checked = 0;
  const wrong: string[] = [];
  for (const region of getCountries()) {
    const plan = normalizer.nationalPlan(region);
    const value = readingOf(region);
    if (plan === null || value === null) continue;
    regions++;
    for (let i = 0; i < 400; i++) {
      const len = 1 + Math.floor(random() * 17);
      // Lead with the trunk prefix, the access code or a random digit, so every rule is reached.
      const lead = random() < 0.3 && plan.trunk !== null ? plan.trunk : random() < 0.1 ? plan.idd : '';
      let x = lead;
      while (x.length < len) x += String(Math.floor(random() * 10));
      checked++;
      const key = nationalKey(value, x);
      if (key === '-') continue;
      read++;
      const parsed = normalizer.parseCallerId(x, region);
      if (parsed.kind !== 'number' || parsed.value !== key)
        wrong.push(`${region} ${x}: daemon ${JSON.stringify(parsed)}, dialplan ${key}`);
    }
  }
  t.ok(regions > 50, `${regions} regions have plain rules`);
  t.ok(read > 4000 && read < checked, `${read} of ${checked} digit strings read by the dialplan, the rest to FastAGI`);
  t.same(wrong.slice(0, 10), [], `${wrong.length} differ`);
});

t.test('region US: 10 digits and 1 + 10 digits are read; others go to FastAGI', async (t) => {
  const value = readingOf('US');
  if (value === null) throw new Error('US has plain rules');
  t.match(value, /^1\|1\|\^\(/, 'calling code 1, trunk prefix 1, then the pattern');
  t.notMatch(value, /[,"]/, 'no comma or double quote (REGEX() arguments)');
  t.equal(nationalKey(value, '5551234567'), '+15551234567');
  t.equal(nationalKey(value, '15551234567'), '+15551234567');
  for (const x of ['1555123456', '011445551234', '0015551234567', '72345', '0000000000', '555123456', '155512345678'])
    t.equal(nationalKey(value, x), '-', `${x} goes to FastAGI`);
  t.equal(readingOf('GB'), null, "GB's national reading has rules (0|180020): every such caller goes to FastAGI");
});

t.test('a form the site left out goes to FastAGI; neither form: no reading at all', async (t) => {
  for (const [region, national, trunk] of [
    ['US', '5551234567', '15551234567'],
    ['DE', '3012345678', '03012345678'],
  ] as const) {
    const plan = normalizer.nationalPlan(region);
    if (plan === null) throw new Error(`${region} has plain rules`);
    const full = readingOf(region);
    t.not(full === null ? '-' : nationalKey(full, national), '-', `${region} ${national} read with both forms`);
    t.not(full === null ? '-' : nationalKey(full, trunk), '-', `${region} ${trunk} read with both forms`);
    const noTrunk = nationalReading(plan, { national: true, trunk: false }, 2000) ?? '';
    t.equal(nationalKey(noTrunk, trunk), '-', `${region}: trunk form left out`);
    t.equal(nationalKey(noTrunk, national), daemonReads(national, region), `${region}: national form still read`);
    const noNational = nationalReading(plan, { national: false, trunk: true }, 2000) ?? '';
    t.equal(nationalKey(noNational, national), '-', `${region}: national form left out`);
    t.equal(nationalKey(noNational, trunk), daemonReads(trunk, region), `${region}: trunk form still read`);
    t.equal(nationalReading(plan, { national: false, trunk: false }, 2000), null, `${region}: neither form`);
    t.equal(nationalReading(plan, BOTH, 10), null, `${region}: longer than the limit, not written`);
  }
});
