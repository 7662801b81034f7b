// The FastAGI sessions' deadlines on one sweep (daemon/pbx/asterisk/agi-deadlines.ts): silence and
// the environment, never enforced early, at most two sweep periods late; the sweep runs only while
// sessions are open. Time is moved by hand (ManualClock), never slept.
import t from 'tap';
import net from 'node:net';
import { AgiDeadlines, sweepPeriodMs, type DeadlinedSession } from '../../../daemon/pbx/asterisk/agi-deadlines.js';
import { AgiProtocolError } from '../../../daemon/pbx/asterisk/agi-session.js';
import { callEnv } from '../../support/faults-agi.js';
import { captureLogger, until } from '../../support/harness.js';
import { startFastAgiDaemon } from '../../support/fastagi-daemon.js';
import { ManualClock } from '../../support/manual-clock.js';

class FakeSession implements DeadlinedSession {
  activity = 0;
  environmentComplete = false;
  failed: AgiProtocolError | null = null;
  fail(err: Error): void {
    if (!(err instanceof AgiProtocolError)) throw new Error(`not a protocol error: ${err.message}`);
    this.failed ??= err;
  }
}

t.test('sweep period: a fifth of the idle timeout, within 20–1,000 ms', async (t) => {
  t.equal(sweepPeriodMs(5000), 1000, 'the default idle_timeout_ms');
  t.equal(sweepPeriodMs(300), 60);
  t.equal(sweepPeriodMs(100), 20, 'the smallest idle_timeout_ms');
  t.equal(sweepPeriodMs(600_000), 1000);
});

t.test('a silent session fails at its idle deadline, not before, at most two periods after', async (t) => {
  const clock = new ManualClock();
  const d = new AgiDeadlines(clock, () => clock.now());
  const idle = 500;
  const period = sweepPeriodMs(idle);
  const s = new FakeSession();
  d.track(s, idle);
  s.activity++; // the environment arrived at once
  s.environmentComplete = true;
  clock.advance(idle - 1);
  t.equal(s.failed, null, 'silent for idle - 1 ms: still open');
  clock.advance(2 * period);
  t.match(s.failed, { reason: 'idle', message: 'idle timeout' }, 'silent past idle_timeout_ms: failed');
  t.equal(d.size, 0, 'no longer watched');
  t.same(clock.intervals(), [], 'no session left: the sweep stops');
});

t.test('activity restarts the idle deadline', async (t) => {
  const clock = new ManualClock();
  const d = new AgiDeadlines(clock, () => clock.now());
  const idle = 500;
  const s = new FakeSession();
  s.environmentComplete = true;
  d.track(s, idle);
  // A command every 300 ms (< idle) for 3 s: Asterisk answering slowly is not silence.
  for (let i = 0; i < 10; i++) {
    clock.advance(300);
    s.activity++;
  }
  t.equal(s.failed, null, 'never silent for idle_timeout_ms: open after 3 s');
  clock.advance(idle + 2 * sweepPeriodMs(idle));
  t.match(s.failed, { reason: 'idle' }, 'then silent: failed');
});

t.test('a peer dripping bytes is cut when the environment is not complete within idle_timeout_ms', async (t) => {
  const clock = new ManualClock();
  const d = new AgiDeadlines(clock, () => clock.now());
  const idle = 1000;
  const period = sweepPeriodMs(idle);
  const drip = new FakeSession();
  const done = new FakeSession();
  d.track(drip, idle);
  d.track(done, idle);
  done.activity++;
  done.environmentComplete = true;
  for (let ms = 0; ms < idle - period; ms += 50) {
    clock.advance(50);
    drip.activity++;
    done.activity++;
  }
  t.equal(drip.failed, null, 'before the deadline: open');
  for (let ms = 0; ms < 2 * period; ms += 50) {
    clock.advance(50);
    drip.activity++;
    done.activity++;
  }
  t.match(
    drip.failed,
    { reason: 'idle', message: 'environment not complete within idle_timeout_ms' },
    'the environment deadline holds however often bytes come',
  );
  t.equal(done.failed, null, 'a session whose environment is complete and that keeps talking stays');
  d.untrack(done);
  clock.advance(period);
  t.same(clock.intervals(), [], 'the sweep stops with the last session');
});

t.test('the sweep starts with a session, stops without, and follows a smaller idle timeout', async (t) => {
  const clock = new ManualClock();
  const d = new AgiDeadlines(clock, () => clock.now());
  t.same(clock.intervals(), [], 'nothing runs before the first session');
  const a = new FakeSession();
  d.track(a, 5000);
  t.same(clock.intervals(), [1000]);
  const b = new FakeSession();
  d.track(b, 300); // a reload lowered idle_timeout_ms: the new session's deadline must be kept too
  t.same(clock.intervals(), [60], 'one sweep, at the period of the smallest idle timeout');
  clock.advance(300 + 2 * 60);
  t.match(b.failed, { reason: 'idle' }, 'the short deadline kept');
  t.equal(a.failed, null, 'the long one not yet');
  clock.advance(5000);
  t.match(a.failed, { reason: 'idle' });
  t.same(clock.intervals(), []);
  d.track(new FakeSession(), 5000);
  t.same(clock.intervals(), [1000], 'the next session starts it again');
  d.stop();
  t.same(clock.intervals(), [], 'stop() ends it');
});

t.test('FastAGI: a silent connection and a dripping one are cut on the injected clock', async (t) => {
  const { logger } = captureLogger('warn');
  const timers = new ManualClock();
  const { server: srv } = await startFastAgiDaemon(t, { logger, toml: 'idle_timeout_ms = 60000\n', deps: { timers } });
  const open = (): { sock: net.Socket; closed: Promise<void> } => {
    const sock = net.connect(srv.address().port, '127.0.0.1');
    sock.on('error', () => undefined);
    return { sock, closed: new Promise<void>((r) => sock.once('close', () => r())) };
  };
  const silent = open();
  const drip = open();
  t.teardown(() => {
    silent.sock.destroy();
    drip.sock.destroy();
  });
  t.ok(await until(() => srv.counters.connections === 2, 30_000, 10), 'both accepted');
  // The dripping peer sends a valid line, then one byte per (fake) second: never silent, never done.
  drip.sock.write('agi_network: yes\n');
  const env = Object.entries(callEnv())
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
  let sent = 0;
  for (let s = 0; s < 59; s++) {
    const chunk = env.slice(sent, sent + 1);
    sent++;
    drip.sock.write(chunk);
    const before = srv.counters.protocolErrors;
    // Wait for the byte to arrive before moving the clock past it (the server counts activity per chunk).
    await new Promise<void>((r) => setImmediate(r));
    timers.advance(1000);
    t.equal(srv.counters.protocolErrors, before, `second ${String(s + 1)}: nothing cut yet`);
  }
  t.equal(srv.counters.connections, 2, 'both still open just before idle_timeout_ms');
  timers.advance(2 * sweepPeriodMs(60_000) + 1000);
  await Promise.all([silent.closed, drip.closed]);
  t.equal(srv.counters.protocolErrors, 2, 'both cut once past idle_timeout_ms: counted as protocol errors');
  t.ok(await until(() => srv.counters.connections === 0, 30_000, 10), 'no connection left open');
  t.same(timers.intervals(), [], 'and the sweep has stopped');
});
