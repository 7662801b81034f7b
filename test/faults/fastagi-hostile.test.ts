// Fault suite 1: hostile FastAGI input against a started daemon (real SQLite, index, screener and
// the production FastAGI component), in-process, loopback only. Each case prints what was sent and
// what survived. The bounds asserted: no crash, every hostile connection closed by the server
// within idle_timeout_ms (+ slack), rss growth bounded, no socket left open, and real calls made
// during the abuse still get their verdicts.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { buildFastAgiServer } from '../../daemon/pbx/asterisk/fastagi-component.js';
import type { FastAgiServer } from '../../daemon/pbx/asterisk/fastagi-server.js';
import { cliActor, services, startDaemon, type TapLike } from '../support/harness.js';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { agiCall, callEnv, drip, mb, percentile, rawClient } from '../support/faults-agi.js';

const FLOOD = fileURLToPath(new URL('../support/faults-agi-flood.ts', import.meta.url));

function flood(
  port: number,
  kinds: Array<[string, number]>,
): Promise<Array<{ kind: string; ms: number; closedBy: string }>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', FLOOD, String(port), JSON.stringify(kinds)],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => {
        if (err) reject(new Error(err.message, { cause: err }));
        else resolve(JSON.parse(stdout) as Array<{ kind: string; ms: number; closedBy: string }>);
      },
    );
  });
}

const IDLE_MS = 1000;
const SLACK_MS = 1500;

async function rig(t: TapLike) {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', reason: 'spam' },
    cliActor,
  );
  let server: FastAgiServer | undefined;
  await startDaemon(t, s.dbPath, {
    toml: `[fastagi]\nlisten = "127.0.0.1:0"\nidle_timeout_ms = ${IDLE_MS}\nmax_connections = 2200\n`,
    components: (ctx) => [(server = buildFastAgiServer(ctx))],
  });
  if (!server) throw new Error('no FastAGI server');
  const srv: FastAgiServer = server;
  // Server-side view of each connection (accept → close), independent of the client's own delays.
  const held: number[] = [];
  const netServer = (srv as unknown as { server: net.Server }).server;
  netServer.on('connection', (sock) => {
    const t0 = performance.now();
    sock.on('close', () => held.push(performance.now() - t0));
  });
  return { server: srv, port: srv.address().port, held };
}

const REJECT = 'SET VARIABLE CALLSCREEN_ACTION "reject"';
const ALLOW = 'SET VARIABLE CALLSCREEN_ACTION "allow"';

/** Normal calls, one every `everyMs`, alternating a blocked and an allowed caller. */
async function normalCalls(
  port: number,
  n: number,
  everyMs: number,
): Promise<{ ok: number; bad: string[]; ms: number[] }> {
  const out = { ok: 0, bad: [] as string[], ms: [] as number[] };
  const calls: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const blocked = i % 2 === 0;
    calls.push(
      agiCall(
        port,
        callEnv({ agi_callerid: blocked ? '+15557770001' : `+1555000${String(i).padStart(4, '0')}` }),
        20_000,
      ).then((r) => {
        out.ms.push(r.ms);
        const verdict = r.commands.find((c) => c.startsWith('SET VARIABLE CALLSCREEN_ACTION'));
        if (verdict === (blocked ? REJECT : ALLOW)) out.ok++;
        else out.bad.push(`${blocked ? 'blocked' : 'allowed'} caller got ${verdict ?? `no verdict (${r.closedBy})`}`);
      }),
    );
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await Promise.all(calls);
  return out;
}

t.test(
  'single hostile clients: random bytes, 1 MB line, never-ending line, slow drip, endless env, silence',
  async (t) => {
    const { server, port } = await rig(t);
    const cases: Array<[string, Parameters<typeof rawClient>[1], number]> = [
      [
        '4 KiB random bytes',
        (s) => {
          s.write(randomBytes(4096));
        },
        IDLE_MS + SLACK_MS,
      ],
      [
        '1 MiB of random bytes',
        (s) => {
          s.write(randomBytes(1024 * 1024));
        },
        1000,
      ],
      [
        'a 1 MiB line with no newline',
        (s) => {
          s.write(Buffer.alloc(1024 * 1024, 0x61));
        },
        1000,
      ],
      ['a line that never ends (100 B every 5 ms)', drip('a'.repeat(100), 5), 2000],
      [
        'a valid env line, then one byte every 300 ms forever (slow drip)',
        (s) => {
          s.write('agi_network: yes\n');
          return drip('a', 300)(s);
        },
        IDLE_MS + SLACK_MS,
      ],
      ['endless valid env lines, never the blank line', drip('agi_x: y\n'.repeat(20), 5), 2000],
      [
        'an HTTP request',
        (s) => {
          s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        },
        1000,
      ],
      [
        'NUL bytes and CRs',
        (s) => {
          s.write(Buffer.alloc(2048, 0));
          s.write('\r\r\r\n');
        },
        1000,
      ],
      ['connects and says nothing', () => undefined, IDLE_MS + SLACK_MS],
    ];
    for (const [what, act, bound] of cases) {
      const r = await rawClient(port, act, 15_000);
      t.comment(`sent: ${what} → closed by ${r.closedBy} after ${r.ms.toFixed(0)} ms (bound ${bound} ms)`);
      t.equal(r.closedBy, 'server', `${what}: the server closed it`);
      t.ok(r.ms < bound, `${what}: held ${r.ms.toFixed(0)} ms < ${bound} ms`);
    }
    const ok = await agiCall(port, callEnv({ agi_callerid: '+15557770001' }));
    t.same(ok.commands.slice(-1), [REJECT], 'afterwards a blocked caller is still rejected');
    await new Promise((r) => setTimeout(r, 50));
    t.equal(server.counters.connections, 0, 'no connection left open');
    t.comment(`survived: protocol errors counted ${server.counters.protocolErrors}, connections open 0`);
  },
);

t.test('2,000 hostile connections at once while real calls keep getting verdicts; bounded memory', async (t) => {
  const { server, port, held } = await rig(t);
  // Warm up (JIT, buffers) so that rss growth is the abuse's, not the first call's.
  await normalCalls(port, 20, 1);
  held.length = 0;
  const rss0 = process.memoryUsage().rss;
  const kinds: Array<[string, number]> = [
    ['silent', 700],
    ['random 4 KiB', 400],
    ['64 KiB line', 300],
    ['never-ending line', 300],
    ['endless env lines', 200],
    ['slow drip', 100],
  ];
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const t0 = performance.now();
  let peakConn = 0;
  let acceptedAll = 0;
  const accepted0 = server.counters.accepted;
  let peakRss = rss0;
  const sampler = setInterval(() => {
    peakConn = Math.max(peakConn, server.counters.connections);
    if (acceptedAll === 0 && server.counters.accepted >= accepted0 + 2000) acceptedAll = performance.now() - t0;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  // The hostile peer is another process (its own event loop, as Asterisk or an attacker would be).
  const hostile = flood(port, kinds);
  // Real calls start once the flood is on (bounded wait).
  for (let i = 0; i < 200 && server.counters.connections < 300; i++) await new Promise((r) => setTimeout(r, 50));
  t.comment(`flood on: ${server.counters.connections} hostile connections open when the real calls start`);
  const normal = normalCalls(port, 100, 10);
  const [results, calls] = await Promise.all([hostile, normal]);
  clearInterval(sampler);
  lag.disable();
  t.comment(`accepted 2,000 after ${acceptedAll.toFixed(0)} ms`);
  t.comment(
    `daemon event loop delay during the flood: p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(0)} ms`,
  );
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 100));
  const rss1 = process.memoryUsage().rss;

  for (const [kind, n] of kinds) {
    const mine = results.filter((r) => r.kind === kind);
    const byServer = mine.filter((r) => r.closedBy === 'server').length;
    t.comment(
      `sent: ${n} × ${kind} → ${byServer} closed by the server; seen by the client after p50 ${percentile(
        mine.map((r) => r.ms),
        0.5,
      ).toFixed(0)} ms, max ${Math.max(...mine.map((r) => r.ms)).toFixed(0)} ms`,
    );
    t.equal(byServer, n, `${kind}: every one closed by the server (none held until the client gave up at 20 s)`);
  }
  const heldMax = Math.max(...held);
  t.comment(
    `server side, accept → close over ${held.length} connections: p50 ${percentile(held, 0.5).toFixed(0)} ms, p99 ${percentile(held, 0.99).toFixed(0)} ms, max ${heldMax.toFixed(0)} ms (idle_timeout_ms ${IDLE_MS})`,
  );
  t.ok(held.length >= 2100, 'every connection seen by the server');
  t.ok(
    heldMax < IDLE_MS + 4000,
    `no connection held longer than idle_timeout_ms + 4 s of event-loop slack (max ${heldMax.toFixed(0)} ms)`,
  );
  t.comment(
    `during the abuse: ${calls.ok}/100 real calls got the right verdict, p50 ${percentile(calls.ms, 0.5).toFixed(0)} ms, p99 ${percentile(calls.ms, 0.99).toFixed(0)} ms`,
  );
  t.same(calls.bad, [], 'every real call during the abuse got its verdict');
  t.equal(calls.ok, 100);
  t.comment(
    `2,000 connections in ${wall.toFixed(0)} ms; peak open ${peakConn}; refused ${server.counters.refused}; rss ${mb(rss0)} → peak ${mb(peakRss)} → ${mb(rss1)}`,
  );
  t.ok(peakConn > 500, `they really were open at once (peak ${peakConn})`);
  t.ok(
    peakRss - rss0 < 200 * 1024 * 1024,
    `rss growth under 200 MB during 2,000 hostile connections (${mb(peakRss - rss0)})`,
  );
  t.equal(server.counters.connections, 0, 'no connection left open');
  const after = await agiCall(port, callEnv({ agi_callerid: '+15557770001' }));
  t.same(after.commands.slice(-1), [REJECT], 'still serving afterwards');
});
