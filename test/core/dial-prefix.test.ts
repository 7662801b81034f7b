import t from 'tap';
import { stripDialPrefixes } from '../../daemon/core/dial-prefix.js';
import { NumberNormalizer } from '../../daemon/core/phone-number.js';

const n = new NumberNormalizer();
const strip = (s: string, prefixes: readonly string[] = ['9']): string =>
  stripDialPrefixes(s, prefixes, (x) => n.isDiallable(x, 'US'));

t.test('outside-line 9 is removed when what follows is a number', async (t) => {
  t.equal(strip('915557770001'), '15557770001');
  t.equal(strip('95557770001'), '5557770001');
  t.equal(strip('9+15557770001'), '+15557770001');
  t.equal(strip('9011442079460958'), '011442079460958');
});

t.test('a number is never cut: 911, a national number starting with 9, a number without prefix', async (t) => {
  t.equal(strip('911'), '911');
  t.equal(strip('9175551234'), '9175551234');
  t.equal(strip('15557770001'), '15557770001');
  t.equal(strip('+15557770001'), '+15557770001');
  t.equal(strip('9911'), '911', 'outside line then the emergency number');
});

t.test('*67 and *82 always go, with the outside line after them; site prefixes are the site’s', async (t) => {
  t.equal(strip('*6715557770001'), '15557770001');
  t.equal(strip('*82*67915557770001'), '15557770001');
  t.equal(strip('015557770001', ['0']), '15557770001');
  t.equal(strip('015557770001', []), '015557770001', 'no site prefix configured: left as dialled');
  t.equal(strip('8115557770001', ['8', '81']), '15557770001', 'longest prefix first');
});
