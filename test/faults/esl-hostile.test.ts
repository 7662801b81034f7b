// Fault suite: hostile peers on the outbound Event Socket server (issue #8), in-process, loopback
// only, against a started daemon (real SQLite, index, screener). Here the daemon is the server that
// FreeSWITCH's `socket` application dials, so the hostile peer plays FreeSWITCH's side: after our
// `connect` it sends random bytes instead of the channel data, a 1 MiB or never-ending header line,
// a Content-Length of 10^12, -1 or "abc", a slow drip, or nothing at all; then 2,000 such peers at
// once from another process while well-behaved fake-FreeSWITCH calls keep getting their verdicts.
// The session deadline is short (sessionDeadlineMs, injected) so nothing here sleeps long.
// Each case prints what was sent and what survived. Bounds asserted: no crash, every hostile
// connection closed by the server within the session deadline (+ slack), nothing but `connect`
// ever sent to a peer that is not FreeSWITCH, rss/heap growth bounded, no socket left open, real
// calls made during the abuse answered correctly.
import { execFile, execFileSync } from 'node:child_process';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import { EslServer } from '../../daemon/pbx/freeswitch/esl-server.js';
import { isStop, mb, percentile, type PeerActResult } from '../support/faults-agi.js';
import { ESL_HOSTILE, eslPeer, type EslAct } from '../support/faults-esl.js';
import { channelData, dialOut, executed } from '../support/fake-freeswitch.js';
import { captureLogger, cliActor, services, startDaemon, until, type TapLike } from '../support/harness.js';

const FLOOD = fileURLToPath(new URL('../support/faults-esl.ts', import.meta.url));
const BLOCKED = '+15557770001';
const REJECT = ['set callscreen_action=reject', 'respond 603'];
const ALLOW = ['set callscreen_action=allow'];

interface Rig {
  ctx: DaemonContext;
  server: EslServer;
  port: number;
  /** Server side, accept → close of every connection (ms). */
  held: number[];
  /** The same, by the peer's port. */
  heldByPort: Map<number, number>;
  lines: Array<Record<string, unknown>>;
}

async function rig(t: TapLike, deadlineMs: number): Promise<Rig> {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: BLOCKED }, { mode: 'reject', reason: 'spam' }, cliActor);
  const { logger, lines } = captureLogger('info');
  let server: EslServer | undefined;
  const { ctx } = await startDaemon(t, s.dbPath, {
    clock: s.clock,
    components: (c) => [
      (server = new EslServer(
        { screening: c.screening, config: () => c.config, logger },
        // The two-command exchange that ends in `exit`: the peers below misbehave after `exit`. The
        // default one-command exchange ends in a FIN with the same 1 s idle cut and deadline after it.
        { listen: '127.0.0.1:0', sessionDeadlineMs: deadlineMs, maxConnections: 2200, exchange: 'classic' },
      )),
    ],
  });
  if (!server) throw new Error('no ESL server');
  const held: number[] = [];
  const heldByPort = new Map<number, number>();
  const netServer = (server as unknown as { server: net.Server }).server;
  netServer.on('connection', (sock) => {
    const t0 = performance.now();
    const peer = sock.remotePort ?? 0;
    sock.on('close', () => {
      held.push(performance.now() - t0);
      heldByPort.set(peer, performance.now() - t0);
    });
  });
  return { ctx, server, port: Number(server.address().split(':').at(-1)), held, heldByPort, lines };
}

const open = (r: Rig): number => (r.server.health().detail as { open: number }).open;

/** Well-behaved fake-FreeSWITCH calls, one every `everyMs`, alternating a blocked and an unlisted caller. */
async function goodCalls(
  port: number,
  n: number,
  everyMs: number,
): Promise<{ ok: number; bad: string[]; ms: number[] }> {
  const out = { ok: 0, bad: [] as string[], ms: [] as number[] };
  const calls: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const blocked = i % 2 === 0;
    const from = blocked ? BLOCKED : `+1555000${String(i).padStart(4, '0')}`;
    calls.push(
      dialOut(port, channelData({ 'Caller-Caller-ID-Number': from }), { timeoutMs: 20_000 }).then(
        (c) => {
          out.ms.push(c.ms);
          const got = executed(c);
          if (JSON.stringify(got) === JSON.stringify(blocked ? REJECT : ALLOW) && c.endedBy === 'server') out.ok++;
          else out.bad.push(`${from} got ${JSON.stringify(got)} (${c.endedBy})`);
        },
        (err: unknown) => {
          out.bad.push(`${from}: ${err instanceof Error ? err.message : String(err)}`);
        },
      ),
    );
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await Promise.all(calls);
  return out;
}

/**
 * A peer that behaves like FreeSWITCH until the verdict is given (channel data, +OK to each
 * sendmsg), then, after `exit`, runs `after` instead of closing: the half of a session where the
 * daemon has nothing left to wait for.
 */
function answerThen(from: string, after: EslAct): EslAct {
  const encode = (h: Record<string, string>): string =>
    Object.entries(h)
      .map(([k, v]) => `${k}: ${encodeURIComponent(v)}\n`)
      .join('') + '\n';
  return (s) => {
    let buf = '';
    let stop: PeerActResult;
    s.write(encode(channelData({ 'Caller-Caller-ID-Number': from })));
    s.on('data', (d: string) => {
      buf += d;
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const cmd = buf.slice(0, end);
        buf = buf.slice(end + 2);
        if (cmd.startsWith('sendmsg')) s.write('Content-Type: command/reply\nReply-Text: +OK\n\n');
        else if (cmd === 'exit') stop = after(s);
      }
    });
    return () => {
      if (isStop(stop)) stop();
    };
  };
}

t.test('single hostile peers: each closed by the server within the session deadline, nothing answered', async (t) => {
  const DEADLINE = 500;
  const SLACK = 700;
  const r = await rig(t, DEADLINE);
  // kind → the reason the server gives (from its log), as a regexp.
  const cases: Array<[string, RegExp]> = [
    ['silent', /^timeout$/],
    ['random 4 KiB', /^(not-esl|timeout)$/],
    ['random 1 MiB', /^(not-esl|header-too-long)$/],
    ['1 MiB header line', /^header-too-long$/],
    ['never-ending header line', /^timeout$/],
    ['Content-Length 10^12', /^not-esl$/],
    ['Content-Length -1', /^not-esl$/],
    ['Content-Length abc', /^not-esl$/],
    ['Content-Length 999999999', /^body-too-long$/],
    ['Content-Length 60000, body never sent', /^timeout$/],
    ['slow drip', /^timeout$/],
    ['endless event frames', /^too-many-frames$/],
    ['tiny event frames as fast as TCP takes them', /^too-many-frames$/],
    ['an HTTP request', /^timeout$/],
    ['NUL bytes and CRs', /^not-esl$/],
    ['CRLF framing (telnet)', /^timeout$/],
  ];
  for (const [kind, reason] of cases) {
    const mark = r.lines.length;
    const p = await eslPeer(r.port, ESL_HOSTILE[kind]!, 10_000);
    await until(() => r.lines.slice(mark).some((l) => l.msg === 'ESL session failed'), 1000, 10);
    const failed = r.lines.slice(mark).find((l) => l.msg === 'ESL session failed');
    t.comment(
      `sent: connect answered with ${kind} → closed by ${p.closedBy} after ${p.ms.toFixed(0)} ms (deadline ${DEADLINE} ms), reason ${String(failed?.reason)}, server wrote ${JSON.stringify(p.received)}`,
    );
    t.equal(p.closedBy, 'server', `${kind}: the server closed it`);
    t.ok(p.ms < DEADLINE + SLACK, `${kind}: held ${p.ms.toFixed(0)} ms < ${DEADLINE + SLACK} ms`);
    t.equal(
      p.received,
      'connect\n\n',
      `${kind}: the server sent nothing but connect (no verdict for a peer that is not FreeSWITCH)`,
    );
    t.match(String(failed?.reason), reason, `${kind}: refused as ${reason.source}`);
  }

  // The other half of a session: the verdict is given, then the peer neither says goodbye nor closes.
  const afterVerdict: Array<[string, EslAct]> = [
    ['says nothing and never closes after exit', () => undefined],
    [
      'keeps sending event frames after exit and never closes',
      (s) => {
        const h = setInterval(() => {
          if (!s.destroyed) s.write('Content-Type: text/event-plain\nContent-Length: 0\n\n');
        }, 100);
        return () => clearInterval(h);
      },
    ],
    [
      'drips one byte every 200 ms after exit and never closes',
      (s) => {
        const h = setInterval(() => {
          if (!s.destroyed) s.write('x');
        }, 200);
        return () => clearInterval(h);
      },
    ],
  ];
  for (const [what, after] of afterVerdict) {
    // The peer does not hang up, so the server's side tells how long it kept the connection.
    const p = await eslPeer(r.port, answerThen(BLOCKED, after), DEADLINE + SLACK + 300, { halfOpen: true });
    await until(() => r.heldByPort.has(p.port), 5000, 10);
    const heldMs = r.heldByPort.get(p.port) ?? Infinity;
    const sent = p.received.split('\n\n').filter(Boolean);
    t.comment(
      `sent: a proper channel data for ${BLOCKED}, then ${what} → verdict ${JSON.stringify(sent.filter((c) => c.startsWith('sendmsg')).map((c) => /execute-app-arg: (.*)/.exec(c)?.[1]))}, then ${JSON.stringify(sent.at(-1))}; the server closed the connection after ${heldMs.toFixed(0)} ms`,
    );
    t.ok(
      heldMs < DEADLINE + SLACK,
      `${what}: held ${heldMs.toFixed(0)} ms < the session deadline ${DEADLINE} ms + ${SLACK} ms`,
    );
    t.match(
      p.received,
      /execute-app-arg: callscreen_action=reject\n\n[\s\S]*execute-app-arg: 603\n\nexit\n\n/,
      `${what}: the verdict was given first (reject, 603, exit)`,
    );
  }

  const ok = await dialOut(r.port, channelData({ 'Caller-Caller-ID-Number': BLOCKED }));
  t.same(executed(ok), REJECT, 'afterwards a blocked caller is still rejected');
  t.ok(await until(() => open(r) === 0, 2000, 10), 'no connection left open');
  t.match(r.server.health(), { ok: true, state: 'listening' });
  t.comment(`survived: ${JSON.stringify(r.server.health().detail)}`);
});

t.test('hostile channel data: odd caller ids and header names still give the right verdict', async (t) => {
  const r = await rig(t, 1000);
  const cases: Array<[string, Record<string, string>, string[]]> = [
    [
      'header names __proto__, constructor, hasOwnProperty',
      { ['__proto__']: 'x', constructor: 'y', hasOwnProperty: 'z', 'Caller-Caller-ID-Number': BLOCKED },
      REJECT,
    ],
    ['punctuation: +1 (555) 777-0001', { 'Caller-Caller-ID-Number': '+1 (555) 777-0001' }, REJECT],
    [
      'a sip: URI with ;user=phone as the caller id number',
      { 'Caller-Caller-ID-Number': `sip:${BLOCKED}@carrier.example;user=phone` },
      REJECT,
    ],
    [
      'a 30 KiB caller id name',
      { 'Caller-Caller-ID-Name': 'N'.repeat(30 * 1024), 'Caller-Caller-ID-Number': BLOCKED },
      REJECT,
    ],
    [
      'non-ASCII name (é, 中文, emoji)',
      { 'Caller-Caller-ID-Name': 'Élodie 中文 📞', 'Caller-Caller-ID-Number': BLOCKED },
      REJECT,
    ],
    [
      'PAI with quotes, commas and params',
      {
        'variable_sip_h_P-Asserted-Identity': `"Spam, \\"Inc\\"" <sip:${BLOCKED}@carrier.example;user=phone>;party=calling`,
      },
      REJECT,
    ],
    [
      'PAI tel: URI with separators',
      { 'variable_sip_h_P-Asserted-Identity': '<tel:+1-555-777-0001;cpc=ordinary>' },
      REJECT,
    ],
    [
      'PAI whose display name holds a fake sip: URI of an unlisted number',
      { 'variable_sip_h_P-Asserted-Identity': `"<sip:+15550000000@x>" <sip:${BLOCKED}@carrier.example>` },
      REJECT,
    ],
  ];
  for (const [what, over, expected] of cases) {
    const call = await dialOut(r.port, channelData(over));
    t.comment(`sent channel data with ${what} → ${JSON.stringify(executed(call))}`);
    t.same(executed(call), expected, what);
  }
  // Bytes that are not valid UTF-8 or percent-encoding, written raw (dialOut would encode them).
  const raw = Buffer.concat([
    Buffer.from(
      'Content-Type: command/reply\nReply-Text: +OK\nUnique-ID: raw-1\nCaller-Destination-Number: +15550100\n',
    ),
    Buffer.from('Caller-Caller-ID-Name: '),
    Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
    Buffer.from('%ZZ%\n'),
    Buffer.from(`Caller-Caller-ID-Number: ${encodeURIComponent(BLOCKED)}\n\n`),
  ]);
  const p = await eslPeer(
    r.port,
    (s) => {
      s.on('data', (d: string) => {
        if (d.includes('sendmsg')) s.write('Content-Type: command/reply\nReply-Text: +OK\n\n');
      });
      s.write(raw);
    },
    5000,
  );
  t.comment(
    `sent invalid UTF-8 and a bad %-escape in the caller name → ${JSON.stringify(p.received.match(/execute-app-arg: .*/g))}`,
  );
  t.match(
    p.received,
    /execute-app-arg: callscreen_action=reject\n\n[\s\S]*execute-app-arg: 603\n/,
    'invalid UTF-8 / bad %-escape in a value: still rejected',
  );
  t.equal(r.lines.filter((l) => typeof l.level === 'number' && l.level >= 50).length, 0, 'no error logged');
});

t.test(
  '20 peers blasting tiny frames as fast as TCP takes them: cut off at once, real calls keep their verdicts',
  async (t) => {
    // Default session deadline: parsing junk is what costs here, not waiting.
    const r = await rig(t, 2000);
    const mark = r.lines.length;
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const blasters = Array.from({ length: 20 }, () =>
      eslPeer(r.port, ESL_HOSTILE['tiny event frames as fast as TCP takes them']!, 10_000),
    );
    const calls: Array<ReturnType<typeof dialOut>> = [];
    for (let i = 0; i < 10; i++) {
      calls.push(dialOut(r.port, channelData({ 'Caller-Caller-ID-Number': BLOCKED }), { timeoutMs: 10_000 }));
      await new Promise((res) => setTimeout(res, 20));
    }
    const [peers, answered] = await Promise.all([Promise.all(blasters), Promise.all(calls)]);
    lag.disable();
    const reasons = r.lines
      .slice(mark)
      .filter((l) => l.msg === 'ESL session failed')
      .map((l) => String(l.reason));
    t.comment(
      `sent: 20 peers writing "Content-Type: text/event-plain\\n\\n" as fast as TCP takes it → closed by the server after max ${Math.max(...peers.map((p) => p.ms)).toFixed(0)} ms, reasons ${JSON.stringify([...new Set(reasons)])}; event loop delay max ${(lag.max / 1e6).toFixed(0)} ms`,
    );
    t.comment(
      `survived: 10 real calls alongside, ${answered.filter((c) => JSON.stringify(executed(c)) === JSON.stringify(REJECT)).length}/10 rejected as they should be, in ${answered.map((c) => c.ms.toFixed(0)).join(', ')} ms`,
    );
    t.ok(
      peers.every((p) => p.closedBy === 'server'),
      'every blaster closed by the server',
    );
    t.same(reasons, Array(20).fill('too-many-frames'), 'each one for too many frames, not at the deadline');
    t.ok(
      peers.every((p) => p.ms < 1000),
      `each cut off well before the 2 s deadline (max ${Math.max(...peers.map((p) => p.ms)).toFixed(0)} ms)`,
    );
    t.same(
      answered.map((c) => executed(c)),
      Array(10).fill(REJECT),
      'every real call alongside got its verdict',
    );
    // Were the blasters parsed until the deadline, each call would wait behind them (2 s and more).
    t.ok(
      answered.every((c) => c.ms < 1500),
      `and got it without waiting behind the junk (max ${Math.max(...answered.map((c) => c.ms)).toFixed(0)} ms < 1,500 ms)`,
    );
  },
);

function flood(
  port: number,
  kinds: Array<[string, number]>,
): Promise<Array<{ kind: string; ms: number; closedBy: string; sentMore: boolean }>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', FLOOD, String(port), JSON.stringify(kinds)],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => {
        if (err) reject(new Error(err.message, { cause: err }));
        else resolve(JSON.parse(stdout) as Array<{ kind: string; ms: number; closedBy: string; sentMore: boolean }>);
      },
    );
  });
}

t.test('2,000 hostile peers at once while real calls keep getting verdicts; bounded memory and time', async (t) => {
  const DEADLINE = 1000;
  const r = await rig(t, DEADLINE);
  // Warm up (JIT, buffers) so that growth is the abuse's, not the first call's.
  await goodCalls(r.port, 20, 1);
  r.held.length = 0;
  const failed0 = (r.server.health().detail as { failed: number }).failed;
  // A burst beyond the listen backlog is not refused: the kernel drops the SYNs and the peer retries
  // after 1 s, then 3 s — past FreeSWITCH's patience for a call. `ss` shows the backlog (Send-Q).
  const backlog = Number(
    execFileSync('ss', ['-ltnH', `src 127.0.0.1:${r.port}`], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)[2],
  );
  t.comment(`listen backlog ${backlog}`);
  t.ok(backlog >= 2000, `the listen backlog (${backlog}) holds a burst of 2,000 connections`);
  const mem0 = process.memoryUsage();
  const kinds: Array<[string, number]> = [
    ['silent', 600],
    ['random 4 KiB', 400],
    ['64 KiB header line', 300],
    ['never-ending header line', 300],
    ['endless event frames', 200],
    ['slow drip', 100],
    ['Content-Length 10^12', 100],
  ];
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  let peakOpen = 0;
  let peakRss = mem0.rss;
  let peakHeap = mem0.heapUsed;
  const sampler = setInterval(() => {
    peakOpen = Math.max(peakOpen, open(r));
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const t0 = performance.now();
  const hostile = flood(r.port, kinds);
  // Real calls start once the flood is on (bounded wait).
  await until(() => open(r) >= 300, 10_000, 10);
  t.comment(`flood on: ${open(r)} hostile connections open when the real calls start`);
  const [results, calls] = await Promise.all([hostile, goodCalls(r.port, 100, 10)]);
  const wall = performance.now() - t0;
  clearInterval(sampler);
  lag.disable();
  await until(() => open(r) === 0, 5000, 10);
  const mem1 = process.memoryUsage();

  for (const [kind, n] of kinds) {
    const mine = results.filter((x) => x.kind === kind);
    const byServer = mine.filter((x) => x.closedBy === 'server').length;
    t.comment(
      `sent: ${n} × ${kind} → ${byServer} closed by the server; seen by the peer after p50 ${percentile(
        mine.map((x) => x.ms),
        0.5,
      ).toFixed(0)} ms, max ${Math.max(...mine.map((x) => x.ms)).toFixed(0)} ms`,
    );
    t.equal(byServer, n, `${kind}: every one closed by the server (none held until the peer gave up at 20 s)`);
    t.equal(mine.filter((x) => x.sentMore).length, 0, `${kind}: none got anything but connect`);
  }
  const heldMax = Math.max(...r.held);
  t.comment(
    `server side, accept → close over ${r.held.length} connections: p50 ${percentile(r.held, 0.5).toFixed(0)} ms, p99 ${percentile(r.held, 0.99).toFixed(0)} ms, max ${heldMax.toFixed(0)} ms (session deadline ${DEADLINE} ms)`,
  );
  t.ok(r.held.length >= 2100, `every connection seen by the server (${r.held.length})`);
  t.ok(
    heldMax < DEADLINE + 4000,
    `no connection held longer than the deadline + 4 s of event-loop slack (max ${heldMax.toFixed(0)} ms)`,
  );
  t.comment(
    `daemon event loop delay during the flood: p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(0)} ms`,
  );
  t.comment(
    `during the abuse: ${calls.ok}/100 real calls got the right verdict, p50 ${percentile(calls.ms, 0.5).toFixed(0)} ms, p99 ${percentile(calls.ms, 0.99).toFixed(0)} ms, max ${Math.max(...calls.ms).toFixed(0)} ms; ${calls.ms.filter((x) => x >= 1000).length} took 1 s or more (queued behind the flood; a dropped SYN would add 1 s, then 3 s)`,
  );
  t.same(calls.bad, [], 'every real call during the abuse got its verdict');
  t.equal(calls.ok, 100);
  const failed = (r.server.health().detail as { failed: number }).failed - failed0;
  t.comment(
    `2,000 connections in ${wall.toFixed(0)} ms; peak open ${peakOpen}; sessions failed ${failed}; rss ${mb(mem0.rss)} → peak ${mb(peakRss)} → ${mb(mem1.rss)}; heap ${mb(mem0.heapUsed)} → peak ${mb(peakHeap)} → ${mb(mem1.heapUsed)}`,
  );
  t.ok(peakOpen > 500, `they really were open at once (peak ${peakOpen})`);
  t.equal(failed, 2000, 'every hostile session ended as failed, none as screened');
  t.ok(
    peakRss - mem0.rss < 200 * 1024 * 1024,
    `rss growth under 200 MB during 2,000 hostile connections (${mb(peakRss - mem0.rss)})`,
  );
  t.ok(peakHeap - mem0.heapUsed < 150 * 1024 * 1024, `heap growth under 150 MB (${mb(peakHeap - mem0.heapUsed)})`);
  t.equal(open(r), 0, 'no connection left open');
  const after = await dialOut(r.port, channelData({ 'Caller-Caller-ID-Number': BLOCKED }));
  t.same(executed(after), REJECT, 'still serving afterwards');
});
