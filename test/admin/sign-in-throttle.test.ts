/** The sign-in throttle: per account, per address (IPv6 by /64) and a global budget for unknown names. */
import t from 'tap';
import { addressKey, SignInThrottle } from '../../daemon/admin/sign-in-throttle.js';
import { ManualClock } from '../support/manual-clock.js';

t.test(
  'per account: rotating addresses does not reset the budget; the lock doubles, is capped, and success clears it',
  async (t) => {
    const clock = new ManualClock();
    const th = new SignInThrottle(clock, {
      accountFreeFailures: 5,
      addressFreeFailures: 1000,
      baseLockMs: 60_000,
      accountMaxLockMs: 300_000,
    });
    for (let i = 0; i < 4; i++) th.recordFailure('alice', `10.0.0.${i}`);
    t.equal(th.check('alice', '10.9.9.9'), null, 'four failures from four addresses: still free');
    th.recordFailure('alice', '10.0.0.5');
    t.same(
      th.check('alice', '10.9.9.9'),
      { reason: 'account', retryAfterMs: 60_000 },
      'fifth failure, any address: account locked 60 s',
    );
    t.same(
      th.check('ALICE', '192.0.2.1'),
      { reason: 'account', retryAfterMs: 60_000 },
      'user names are case-insensitive',
    );
    t.equal(th.check('bob', '10.0.0.5'), null, 'another account is not locked');
    clock.advance(60_000);
    t.equal(th.check('alice', '10.0.0.1'), null, 'lock over');
    th.recordFailure('alice', '10.0.0.1');
    t.equal(th.check('alice', '10.0.0.1')?.retryAfterMs, 120_000, 'next failure doubles the lock');
    for (let i = 0; i < 5; i++) th.recordFailure('alice', '10.0.0.1');
    t.equal(th.check('alice', '10.0.0.1')?.retryAfterMs, 300_000, 'capped at accountMaxLockMs');
    th.recordSuccess('alice');
    t.equal(th.check('alice', '10.0.0.1'), null, 'success clears the account');
  },
);

t.test('per address: rotating names does not reset it; an IPv6 /64 is one address', async (t) => {
  const clock = new ManualClock();
  const th = new SignInThrottle(clock, { accountFreeFailures: 1000, addressFreeFailures: 3 });
  th.recordFailure('n1', '2001:db8:1:2::1');
  th.recordFailure('n2', '2001:db8:1:2:ffff::9');
  t.equal(th.check('n3', '2001:db8:1:2::77'), null);
  th.recordFailure('n3', '2001:0db8:0001:0002:0:0:0:42');
  t.equal(
    th.check('n4', '2001:db8:1:2::abcd')?.reason,
    'address',
    'three names from one /64: the /64 is locked for every name',
  );
  t.equal(th.check('n4', '2001:db8:1:3::1'), null, 'the next /64 is not');
  th.recordSuccess('n1');
  t.equal(th.check('n1', '2001:db8:1:2::1')?.reason, 'address', 'a success does not clear the address');
  t.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
  t.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
});

t.test('unknown names share one global budget that refills with time', async (t) => {
  const clock = new ManualClock();
  const th = new SignInThrottle(clock, { unknownPerMinute: 3 });
  t.equal(th.takeUnknown(), null);
  t.equal(th.takeUnknown(), null);
  t.equal(th.takeUnknown(), null);
  const refused = th.takeUnknown();
  t.equal(refused?.reason, 'unknown', 'fourth unknown name within the minute: refused, whatever the name or address');
  t.equal(refused?.retryAfterMs, 20_000, 'one try comes back every 20 s');
  clock.advance(20_000);
  t.equal(th.takeUnknown(), null, 'refilled');
});

t.test('remembers a bounded number of keys', async (t) => {
  const th = new SignInThrottle(new ManualClock(), { accountFreeFailures: 1, addressFreeFailures: 1000, maxKeys: 2 });
  th.recordFailure('a', 'x');
  th.recordFailure('b', 'x');
  th.recordFailure('c', 'x');
  t.equal(th.check('a', 'x'), null, 'oldest forgotten');
  t.ok(th.check('c', 'x'));
});
