// A new FastAGI connection is read FIRST_READ_HOLD_MS after it was accepted, so the environment
// Asterisk writes one line per write() arrives in one read. The hold is on the server's timers:
// here a manual clock, so "not yet read" and "read once the hold is over" are decided by the
// clock, not by how fast this machine is.
import t from 'tap';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIRST_READ_HOLD_MS } from '../../../daemon/pbx/asterisk/fastagi-server.js';
import { captureLogger, until } from '../../support/harness.js';
import { callEnv } from '../../support/faults-agi.js';
import { startFastAgiDaemon } from '../../support/fastagi-daemon.js';
import { ManualClock } from '../../support/manual-clock.js';

/** Connects and writes the environment as Asterisk does, one write() per line; collects what the server sends. */
function asterisk(port: number): { sock: net.Socket; received: () => string } {
  const sock = net.connect(port, '127.0.0.1');
  let got = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (got += d));
  sock.on('error', () => undefined);
  sock.on('connect', () => {
    for (const [k, v] of Object.entries(callEnv())) sock.write(`${k}: ${v}\n`);
    sock.write('\n');
  });
  return { sock, received: () => got };
}

t.test('the first read waits for the hold; then the environment is answered', async (t) => {
  const timers = new ManualClock();
  const { server, port } = await startFastAgiDaemon(t, { logger: captureLogger('warn').logger, deps: { timers } });
  const a = asterisk(port);
  t.teardown(() => a.sock.destroy());
  t.ok(await until(() => server.counters.accepted === 1, 30_000, 10), 'accepted');
  t.ok(timers.armed().includes(FIRST_READ_HOLD_MS), `the hold (${FIRST_READ_HOLD_MS} ms) is armed`);
  // The whole environment is in the server's receive buffer long before this (loopback); a server
  // that read it would have answered with its first command.
  await sleep(200);
  t.equal(a.received(), '', 'nothing read, nothing answered while the hold lasts');
  timers.advance(FIRST_READ_HOLD_MS);
  t.ok(await until(() => a.received().includes('\n'), 30_000, 10), 'answered once the hold is over');
  t.match(a.received(), /^SET VARIABLE CALLSCREEN_/, 'with the first command of a verdict');
});

t.test('firstReadHoldMs 0: read at once, no timer', async (t) => {
  const timers = new ManualClock();
  const { server, port } = await startFastAgiDaemon(t, {
    logger: captureLogger('warn').logger,
    deps: { timers, firstReadHoldMs: 0 },
  });
  const a = asterisk(port);
  t.teardown(() => a.sock.destroy());
  t.ok(await until(() => a.received().includes('\n'), 30_000, 10), 'answered without the clock moving');
  t.equal(server.counters.accepted, 1);
  t.notOk(timers.armed().includes(0), 'no hold timer was armed');
});
