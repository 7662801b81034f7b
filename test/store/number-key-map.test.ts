import t from 'tap';
import { ABSENT, NumberKeyMap, numberKey, numberOfKey } from '../../daemon/store/number-key-map.js';

t.test('numberKey: E.164 positive, short codes negative and length-aware', async (t) => {
  t.equal(numberKey('+15551234567'), 15551234567);
  t.equal(numberKey('+999999999999999'), 999999999999999, '15 digits are exact in a double');
  t.ok(numberKey('911') < 0);
  t.not(numberKey('000'), numberKey('00'), '000 and 00 differ');
  t.not(numberKey('0911'), numberKey('911'));
});

t.test('numberOfKey gives the number back, zeros of a short code included', async (t) => {
  for (const n of ['+15551234567', '+999999999999999', '+44', '911', '000', '00', '0911', '72345', '1234567'])
    t.equal(numberOfKey(numberKey(n)), n, n);
});

t.test('keysNow: a copy of the live keys, unchanged by later sets, deletes and growth', async (t) => {
  const s = new NumberKeyMap();
  for (let i = 1; i <= 10; i++) s.set(15550000000 + i, i, 0);
  s.delete(15550000003);
  const copy = s.keysNow();
  t.same(
    [...copy].sort((a, b) => a - b),
    [1, 2, 4, 5, 6, 7, 8, 9, 10].map((i) => 15550000000 + i),
    'the live keys, no tombstone',
  );
  for (let i = 11; i <= 3000; i++) s.set(15550000000 + i, i, 0); // grows: rehashed
  s.delete(15550000001);
  t.equal(copy.length, 9, 'the copy is as it was');
  t.equal(s.keysNow().length, 2998);
});

t.test('set, has, delete, re-set over a tombstone', async (t) => {
  const s = new NumberKeyMap();
  t.equal(s.size, 0);
  s.set(15551234567, 7, 0);
  s.set(15551234567, 7, 0);
  t.equal(s.size, 1, 'setting twice keeps one');
  t.ok(s.has(15551234567));
  t.notOk(s.has(15551234568));
  t.ok(s.delete(15551234567));
  t.notOk(s.delete(15551234567), 'second delete finds nothing');
  t.notOk(s.has(15551234567));
  s.set(15551234567, 7, 0);
  t.ok(s.has(15551234567));
  t.equal(s.size, 1);
  t.throws(() => s.set(0, 7, 0), RangeError, 'the empty marker is not a key');
  t.throws(() => s.set(-1, 7, 0), RangeError, 'the tombstone marker is not a key');
  t.throws(() => s.set(Number.NaN, 7, 0), RangeError);
});

t.test('grows past its initial capacity and keeps every key', async (t) => {
  const s = new NumberKeyMap();
  const before = s.byteLength;
  for (let i = 1; i <= 50_000; i++) s.set(15550000000 + i, 7, 0);
  t.equal(s.size, 50_000);
  t.ok(s.byteLength > before, 'rehashed to a bigger table');
  let missing = 0;
  for (let i = 1; i <= 50_000; i++) if (!s.has(15550000000 + i)) missing++;
  t.equal(missing, 0);
  t.notOk(s.has(15550000000 + 50_001));
});

t.test('a churn of add/delete does not grow the table without bound (tombstones are reclaimed)', async (t) => {
  const s = new NumberKeyMap(100);
  const cap = s.byteLength;
  for (let i = 1; i <= 200_000; i++) {
    s.set(i, 7, 0);
    s.delete(i);
  }
  t.equal(s.size, 0);
  t.equal(s.byteLength, cap, 'rehash in place rather than doubling');
  t.notOk(s.has(5), 'lookups of absent keys terminate');
});

t.test('random differential against Set', async (t) => {
  // A fixed-seed generator so a failure reproduces.
  let seed = 0x2545f491;
  const rnd = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const s = new NumberKeyMap();
  const ref = new Set<number>();
  // Keys from a small range so adds, deletes and lookups collide often; short codes included.
  const key = (): number =>
    rnd() < 0.1 ? -(3 * 10_000_000 + Math.floor(rnd() * 1000)) : 4400000000 + Math.floor(rnd() * 5000);
  let mismatches = 0;
  for (let i = 0; i < 100_000; i++) {
    const k = key();
    const op = rnd();
    if (op < 0.45) {
      s.set(k, 7, 0);
      ref.add(k);
    } else if (op < 0.75) {
      if (s.delete(k) !== ref.delete(k)) mismatches++;
    } else if (s.has(k) !== ref.has(k)) mismatches++;
    if (s.size !== ref.size) mismatches++;
  }
  for (const k of ref) if (!s.has(k)) mismatches++;
  t.equal(mismatches, 0);
  t.equal(s.size, ref.size);
});

t.test('numberKey agrees with Number() for every length up to 15 digits', async (t) => {
  let bad = 0;
  for (let len = 1; len <= 15; len++) {
    for (let j = 0; j < 200; j++) {
      let d = String(1 + ((j * 7) % 9));
      while (d.length < len) d += String((j * 31 + d.length * 17) % 10);
      if (numberKey('+' + d) !== Number(d)) bad++;
      if (numberKey(d) !== -(d.length * 10_000_000 + Number(d))) bad++;
    }
  }
  t.equal(bad, 0);
});

t.test('values: get returns the meta, extra() the second value of the key just found; set replaces both', async (t) => {
  const s = new NumberKeyMap();
  t.equal(s.get(15551234567), ABSENT, 'absent');
  t.equal(s.extra(), 0, 'no extra after a miss');
  s.set(15551234567, 40_001, 1_767_225_600_000);
  s.set(15551234568, 0, 0);
  t.equal(s.get(15551234567), 40_001);
  t.equal(s.extra(), 1_767_225_600_000);
  t.equal(s.get(15551234568), 0, 'a meta of 0 is a value, not absence');
  t.equal(s.extra(), 0);
  s.set(15551234567, -1, 0);
  t.equal(s.get(15551234567), -1, 'replaced');
  t.equal(s.extra(), 0);
  t.equal(s.size, 2);
  for (let i = 1; i <= 5000; i++) s.set(4400000000 + i, i * 4 + 1, i);
  let bad = 0;
  for (let i = 1; i <= 5000; i++) if (s.get(4400000000 + i) !== i * 4 + 1 || s.extra() !== i) bad++;
  t.equal(bad, 0, 'values survive rehashing');
  t.equal(s.get(15551234568), 0);
});
