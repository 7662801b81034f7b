// FastAGI over max_connections: every refusal counted (health, /metrics) and logged at most once
// per REFUSED_LOG_MS with the count since the last line — time advanced by hand, not slept.
import t from 'tap';
import net from 'node:net';
import { REFUSED_LOG_MS, STOP_GRACE_MS } from '../../../daemon/pbx/asterisk/fastagi-server.js';
import { sweepPeriodMs } from '../../../daemon/pbx/asterisk/agi-deadlines.js';
import { captureLogger, until } from '../../support/harness.js';
import { startFastAgiDaemon } from '../../support/fastagi-daemon.js';
import { ManualClock } from '../../support/manual-clock.js';

t.test(
  'refusals: the first logged at once, the rest once per window with their count, all in the metric',
  async (t) => {
    const { logger, lines } = captureLogger('info');
    const timers = new ManualClock();
    const {
      ctx,
      server: srv,
      port,
    } = await startFastAgiDaemon(t, {
      logger,
      toml: 'max_connections = 2\nidle_timeout_ms = 60000\n',
      deps: { timers },
    });
    const open: net.Socket[] = [];
    t.teardown(() => {
      for (const s of open) s.destroy();
    });
    const connect = async (): Promise<void> => {
      const s = net.connect(port, '127.0.0.1');
      open.push(s);
      s.on('error', () => undefined);
      await new Promise<void>((r) => {
        s.once('connect', () => r());
        s.once('close', () => r());
      });
    };
    // Two held connections fill the server; the next ones are refused. Each wait is on the server's own count.
    await connect();
    await connect();
    t.ok(await until(() => srv.counters.connections === 2, 30_000, 10), 'two connections held');
    const refusedLines = (): Array<Record<string, unknown>> =>
      lines.filter((l) => /^FastAGI refused/.test(String(l.msg)));
    await connect();
    t.ok(await until(() => srv.counters.refused === 1, 30_000, 10));
    t.match(
      refusedLines(),
      [{ level: 40, refused: 1, refusedTotal: 1, maxConnections: 2 }],
      'the first refusal is logged at once',
    );
    for (let i = 0; i < 5; i++) await connect();
    t.ok(await until(() => srv.counters.refused === 6, 30_000, 10), 'six refused');
    t.equal(refusedLines().length, 1, 'no more lines within the window');
    timers.advance(REFUSED_LOG_MS);
    t.match(refusedLines()[1], { refused: 5, refusedTotal: 6 }, 'one line for the next five');
    t.match(String(refusedLines()[1]?.msg), /FastAGI refused 5 connections: 2 open \(fastagi\.max_connections\)/);
    timers.advance(REFUSED_LOG_MS);
    t.equal(refusedLines().length, 2, 'a quiet window writes nothing');
    // The server's timers are all on this clock: what is left is the sweep that holds the two held
    // sessions to their deadlines (an interval, agi-deadlines.ts), no timeout.
    t.same(timers.armed(), [], 'and stops the timer');
    t.same(timers.intervals(), [sweepPeriodMs(60_000)], 'the deadline sweep runs while sessions are open');
    await connect();
    t.ok(await until(() => srv.counters.refused === 7, 30_000, 10));
    t.equal(refusedLines().length, 3, 'the next refusal after a quiet window is logged at once');
    t.match(
      (await ctx.metrics.render()).body,
      /^callscreen_fastagi_refused_total 7$/m,
      'callscreen_fastagi_refused_total',
    );
    await connect();
    t.ok(await until(() => srv.counters.refused === 8, 30_000, 10));
    // stop() gives the two held sessions STOP_GRACE_MS on the same clock, then cuts them.
    const stopping = srv.stop();
    timers.advance(STOP_GRACE_MS);
    await stopping;
    t.match(refusedLines()[3], { refused: 1, refusedTotal: 8 }, 'stop writes what was still unlogged');
    t.ok(
      await until(() => timers.pending === 0 && timers.intervals().length === 0, 30_000, 10),
      'no timer left once the cut sessions end',
    );
  },
);
