import t from 'tap';
import {
  checkBreadth,
  compilePattern,
  narrowestFirst,
  patternMatches,
  prefixBreadth,
} from '../../daemon/core/number-pattern.js';

const matches = (text: string, n: string): boolean => {
  const p = compilePattern(text);
  return n.startsWith(p.lead) && patternMatches(p, n);
};

t.test('wildcards: "?" is one digit, a trailing "*" any further digits (none included)', async (t) => {
  t.ok(matches('+1415555????', '+14155550123'));
  t.notOk(matches('+1415555????', '+1415555012'), 'one digit short');
  t.notOk(matches('+1415555????', '+141555501234'), 'one digit long');
  t.notOk(matches('+1415555????', '+14155560123'), 'a fixed digit differs');
  t.ok(matches('+1415???0123', '+14159990123'), 'wildcards in the middle');
  t.notOk(matches('+1415???0123', '+14159990124'));
  t.ok(matches('+1415???0*', '+14159990'), 'a trailing * matches no further digit');
  t.ok(matches('+1415???0*', '+141599905555'));
  t.notOk(matches('+1415???0*', '+14159991555'));
  const p = compilePattern('+1415555????');
  t.equal(p.lead, '+1415555');
  t.equal(p.breadth, 10_000);
  t.equal(p.fixedDigits, 7);
});

t.test('ranges: both ends inclusive, same length only', async (t) => {
  t.ok(matches('+14155550100..+14155550199', '+14155550100'));
  t.ok(matches('+14155550100..+14155550199', '+14155550199'));
  t.ok(matches('+14155550100..+14155550199', '+14155550150'));
  t.notOk(matches('+14155550100..+14155550199', '+14155550200'));
  t.notOk(matches('+14155550100..+14155550199', '+14155550099'));
  t.notOk(matches('+14155550100..+14155550199', '+141555501500'), 'longer number with the same start');
  const r = compilePattern('+14155550100..+14155550199');
  t.equal(r.breadth, 100);
  t.equal(r.fixedDigits, 9);
  t.equal(r.lead, '+141555501');
  t.ok(matches('+14155550000..+14155559999', '+14155551234'), 'a range across a lead digit');
});

t.test('bad patterns are refused with a reason', async (t) => {
  for (const [text, why] of [
    ['+1415555', /no wildcard/],
    ['+1*5', /at most one "\*" at the end/],
    ['+?415555', /country code/],
    ['+0415????', /never starts with 0/],
    ['+14155550199..+14155550100', /lower one/],
    ['+14155550199..+1415555010', /same number of digits/],
    ['+1415555????????????', /longer than a whole number/],
  ] as const) {
    t.throws(() => compilePattern(text), { code: 'CS_ERR_INVALID_PATTERN', message: why }, text);
  }
});

t.test('the breadth guard counts fixed digits', async (t) => {
  t.doesNotThrow(() => checkBreadth(compilePattern('+1415555????'), 7));
  t.throws(() => checkBreadth(compilePattern('+1415555????'), 8), {
    code: 'CS_ERR_PATTERN_TOO_BROAD',
    message: /fixes 7 digit/,
  });
  t.throws(() => checkBreadth(compilePattern('+1????'), 6), { code: 'CS_ERR_PATTERN_TOO_BROAD' });
  t.throws(
    () => checkBreadth(compilePattern('+14150000000..+14159999999'), 6),
    { code: 'CS_ERR_PATTERN_TOO_BROAD' },
    'a wide range',
  );
});

t.test('narrowest first: breadth, then prefix before pattern, then the older entry', async (t) => {
  const prefix7 = { kind: 'prefix', id: 9, breadth: prefixBreadth(7) };
  const pattern4 = { kind: 'pattern', id: 10, breadth: 10_000 };
  const prefix11 = { kind: 'prefix', id: 11, breadth: prefixBreadth(11) };
  const alsoTenThousand = { kind: 'pattern', id: 3, breadth: 10_000 };
  t.equal(prefixBreadth(11), 10_000, 'a prefix of 11 digits covers the 10,000 numbers of 15 digits');
  t.same(
    [prefix7, pattern4, prefix11, alsoTenThousand].sort(narrowestFirst).map((e) => e.id),
    [11, 3, 10, 9],
  );
});
