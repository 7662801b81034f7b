import t from 'tap';
import { SignInThrottle } from '../../daemon/admin/sign-in-throttle.js';
import { ManualClock } from '../../daemon/core/clock.js';

t.test('5 failures lock the user+address pair for a time that doubles, success clears it', async (t) => {
  const clock = new ManualClock();
  const th = new SignInThrottle(clock, { freeFailures: 5, baseLockMs: 60_000, maxLockMs: 300_000 });
  for (let i = 0; i < 4; i++) th.recordFailure('alice', '10.0.0.1');
  t.equal(th.retryAfterMs('alice', '10.0.0.1'), 0, 'four failures: still free');
  th.recordFailure('alice', '10.0.0.1');
  t.equal(th.retryAfterMs('alice', '10.0.0.1'), 60_000, 'fifth failure: locked 60 s');
  t.equal(th.retryAfterMs('ALICE', '10.0.0.1'), 60_000, 'user names are case-insensitive here');
  t.equal(th.retryAfterMs('alice', '10.0.0.2'), 0, 'another address is not locked');
  clock.advance(60_000);
  t.equal(th.retryAfterMs('alice', '10.0.0.1'), 0, 'lock over');
  th.recordFailure('alice', '10.0.0.1');
  t.equal(th.retryAfterMs('alice', '10.0.0.1'), 120_000, 'next failure doubles the lock');
  for (let i = 0; i < 5; i++) th.recordFailure('alice', '10.0.0.1');
  t.equal(th.retryAfterMs('alice', '10.0.0.1'), 300_000, 'capped at maxLockMs');
  th.recordSuccess('alice', '10.0.0.1');
  t.equal(th.retryAfterMs('alice', '10.0.0.1'), 0, 'success clears');
});

t.test('remembers a bounded number of pairs', async (t) => {
  const th = new SignInThrottle(new ManualClock(), { freeFailures: 1, maxKeys: 2 });
  th.recordFailure('a', 'x');
  th.recordFailure('b', 'x');
  th.recordFailure('c', 'x');
  t.equal(th.retryAfterMs('a', 'x'), 0, 'oldest forgotten');
  t.ok(th.retryAfterMs('c', 'x') > 0);
});
