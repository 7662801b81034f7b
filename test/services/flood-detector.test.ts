// The flood detector's decisions, with a hand-moved clock: each signal trips exactly past its
// threshold, only within the window, once per hold, and memory stays within its bound.
import t from 'tap';
import { ManualClock } from '../support/manual-clock.js';
import { floodPolicy, type FloodPolicy } from '../../daemon/core/flood-policy.js';
import { NumberNormalizer } from '../../daemon/core/phone-number.js';
import { FloodDetector, type FloodCall, type FloodHold } from '../../daemon/services/flood-detector.js';
import type { Screened } from '../../daemon/services/screening-service.js';
import type { OrgState } from '../../daemon/store/screening-index.js';

const MIN = 60_000;
const normalizer = new NumberNormalizer();

function detector(changes: Partial<FloodPolicy> = {}, maxKeys?: number) {
  const clock = new ManualClock(Date.UTC(2026, 11, 5, 0, 0, 0));
  const holds: FloodHold[] = [];
  const policy = floodPolicy(changes);
  const d = new FloodDetector({
    clock,
    policy: () => policy,
    onHold: (h) => holds.push(h),
    parseNumber: (raw, region) => normalizer.parseCallerId(raw, region),
    ...(maxKeys !== undefined ? { maxKeys } : {}),
  });
  const call = (caller: string, did = '+15550100'): void =>
    d.observe({ orgId: 1, org: 'demo', caller, did } satisfies FloodCall);
  return { clock, holds, d, call };
}

t.test('rate: more than maxCalls calls within the window hold the number, once', async (t) => {
  const { clock, holds, call } = detector({ maxCalls: 5, windowMinutes: 10, holdMinutes: 60 });
  for (let i = 0; i < 5; i++) {
    call('+14155550001');
    clock.advance(MIN);
  }
  t.same(holds, [], 'five calls in ten minutes: not more than five');
  call('+14155550001');
  t.equal(holds.length, 1, 'the sixth trips');
  t.match(holds[0], { kind: 'exact', value: '+14155550001', signal: 'rate', count: 6, mode: 'voicemail', org: 'demo' });
  t.equal(holds[0]?.expiresAt, clock.now() + 60 * MIN, 'expires after holdMinutes');
  call('+14155550001');
  t.equal(holds.length, 1, 'no second hold while the first lasts');
  clock.advance(61 * MIN);
  for (let i = 0; i < 6; i++) call('+14155550001');
  t.equal(holds.length, 2, 'after the hold ended, a new flood holds again');
});

t.test('rate: calls spread wider than the window never trip', async (t) => {
  const { clock, holds, call } = detector({ maxCalls: 3, windowMinutes: 10 });
  for (let i = 0; i < 50; i++) {
    call('+14155550002');
    clock.advance(4 * MIN);
  }
  t.same(holds, [], 'one call every 4 min is 3 per 10 min at most');
});

t.test('did-sweep: one number calling many of our DIDs is held', async (t) => {
  const { clock, holds, call } = detector({ didSweep: 4, maxCalls: 100 });
  call('+12125550009', '+15550100');
  call('+12125550009', '+15550100');
  call('+12125550009', '+15550101');
  call('+12125550009', '+15550102');
  t.same(holds, [], 'three distinct DIDs');
  clock.advance(MIN);
  call('+12125550009', '+15550103');
  t.match(holds, [{ kind: 'exact', value: '+12125550009', signal: 'did-sweep', count: 4 }]);
});

t.test('neighbours: many calls from numbers sharing a prefix hold the prefix', async (t) => {
  const { holds, call } = detector({ prefixDigits: 4, prefixMaxCalls: 10, maxCalls: 100, didSweep: 50 });
  for (let i = 0; i < 10; i++) call(`+1415555${String(1000 + i)}`);
  t.same(holds, [], 'ten calls: not more than ten');
  call('+14155551999');
  t.match(holds, [{ kind: 'prefix', value: '+1415555', signal: 'neighbours', count: 11, numbers: 11 }]);
});

t.test('neighbours: one number alone is the rate rule, not a prefix hold', async (t) => {
  const { holds, call } = detector({ prefixMaxCalls: 3, maxCalls: 100 });
  for (let i = 0; i < 10; i++) call('+14155551234');
  t.same(holds, []);
});

t.test('neighbour spoofing is off by default and, when on, holds the DID’s exchange', async (t) => {
  const did = '+14155550100';
  const neighbours = ['+14155557777', '+14155558888', '+14155559999', '+14155556666'];
  const off = detector({ maxCalls: 100, prefixMaxCalls: 100 });
  for (const n of neighbours) off.call(n, did);
  t.same(off.holds, [], 'off: nothing');
  const on = detector({ neighbour: true, neighbourMaxCalls: 3, maxCalls: 100, prefixMaxCalls: 100 });
  on.call('+12125550100', did);
  on.call('+14155560100', did);
  on.call(did, did);
  t.same(on.holds, [], 'another exchange, or the DID itself, does not count');
  for (const n of neighbours.slice(0, 3)) on.call(n, did);
  t.same(on.holds, [], 'three neighbour calls: not more than three');
  on.call(neighbours[3]!, did);
  t.match(on.holds, [{ kind: 'prefix', value: '+1415555', signal: 'neighbour-spoofing', count: 4, numbers: 4 }]);
});

t.test('disabled: nothing is counted', async (t) => {
  const { holds, call } = detector({ enabled: false, maxCalls: 1 });
  for (let i = 0; i < 10; i++) call('+14155550003');
  t.same(holds, []);
});

t.test('observeScreened counts only inbound calls let through by default', async (t) => {
  const { holds, d } = detector({ maxCalls: 1, didSweep: 50, prefixMaxCalls: 100 });
  const org = { org: { id: 1, slug: 'demo', policy: { region: 'US' } } } as unknown as OrgState;
  const base: Screened = {
    req: { org: 'demo', channel: 'call', direction: 'inbound', from: '+14155550004', to: '5550100' },
    org,
    fallback: null,
    verdict: { action: 'allow', normalized: '+14155550004', rule: null, reason: 'allowed' },
  };
  const blocked: Screened = {
    ...base,
    verdict: {
      action: 'reject',
      normalized: '+14155550004',
      rule: { id: 1, kind: 'exact', value: '+14155550004' },
      reason: 'x',
    },
  };
  const sms: Screened = { ...base, req: { ...base.req, channel: 'sms' } };
  const failOpen: Screened = { ...base, fallback: 'error' };
  const withheld: Screened = { ...base, verdict: { ...base.verdict, normalized: 'unidentified' } };
  for (const s of [blocked, blocked, sms, sms, failOpen, failOpen, withheld, withheld]) d.observeScreened(s);
  t.same(holds, [], 'blocked, SMS, fail-mode and withheld calls are not counted');
  d.observeScreened(base);
  d.observeScreened(base);
  t.match(holds, [{ value: '+14155550004', signal: 'rate', count: 2 }]);
});

t.test('memory stays within maxKeys, and its size is measured', async (t) => {
  const { d, call, clock } = detector({}, 1000);
  for (let i = 0; i < 5000; i++) call(`+1${String(2000000000 + i * 7919)}`);
  t.equal(d.stats().tracked, 1000, 'never more than maxKeys');
  t.ok(d.stats().evicted > 0);
  // What counting costs per call, for the record (no bound asserted: it depends on the machine).
  const t0 = performance.now();
  for (let i = 0; i < 100_000; i++) call(`+1${String(2000000000 + (i % 3000) * 7919)}`, `+1555010${i % 10}`);
  t.comment(
    `flood detector: ${(((performance.now() - t0) * 1000) / 100_000).toFixed(2)} µs per call counted (100,000 calls, 3,000 callers)`,
  );
  // Bytes per key with the default thresholds: fill 20,000 keys (the default bound) and weigh the heap.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    t.comment('run node with --expose-gc to print bytes per key');
    return;
  }
  const big = detector();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 10_000; i++) {
    const n = `+1${String(2000000000 + i * 7919)}`;
    big.call(n);
    big.call(n);
    clock.advance(1);
  }
  gc();
  const per = (process.memoryUsage().heapUsed - before) / big.d.stats().tracked;
  t.comment(`flood detector: ${big.d.stats().tracked} keys, ${per.toFixed(0)} bytes per key`);
  t.ok(per < 1000, 'well under 1 KB per key');
});
