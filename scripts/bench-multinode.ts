/**
 * `npm run bench:multinode` (issue #15). Part one: three daemons in this process, each with its
 * own SQLite replica, against one throw-away PostgreSQL (scripts/pg-sandbox). Prints:
 *  - propagation: a block made on one node until the two others' in-memory verdicts reject the
 *    caller (p50/p99/max over CS_BENCH_BLOCKS blocks, default 200; target p99 ≤ 250 ms);
 *  - write latency of one block through the write gate (p50/p99);
 *  - verdict rate: screenSync calls per second on a node of the shared store against a single-node
 *    daemon (SQLite alone) holding the same list, interleaved, best of 5 rounds each;
 *  - catch-up: a node stopped while CS_BENCH_CHANGES changes (default 100,000) are made, restarted,
 *    time until it has applied them all and its verdicts show the last one.
 * Part two: three `callscreen daemon` processes (FastAGI) against a second throw-away PostgreSQL:
 *  - the outage: PostgreSQL stopped CS_BENCH_OUTAGE_S seconds (default 30) under CS_BENCH_RATE
 *    FastAGI calls/s (default 200) spread over the three nodes: verdicts, fail-open, writes refused;
 *    PostgreSQL back: records shipped vs made, duplicates, lost, hits, drain time;
 *  - FastAGI verdict rate per node (closed loop, 16 callers, 5 s, best of 3 interleaved rounds)
 *    against a single-node daemon process holding the same list.
 * CS_BENCH_ONLY=propagation,rate,catchup,outage,agi runs some parts only.
 * Verdicts are read with screenSync, the call path's own read, every 1 ms.
 * The machine is shared with other work: figures are an upper bound, not a quiet-machine measurement.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { Daemon, openServices } from '../daemon/main.js';
import type { DaemonContext } from '../daemon/daemon-context.js';
import { systemScheduler as realTimers } from '../daemon/core/clock.js';
import { freePort, PgSandbox } from '../test/support/pg-sandbox.js';
import {
  describeOutage,
  fastagiRate,
  MultinodeCluster,
  MULTINODE_DID,
  startDaemonProcess,
} from '../test/support/multinode-cluster.js';
import { at, must } from './checked.js';

const BLOCKS = Number(process.env.CS_BENCH_BLOCKS ?? 200);
const CHANGES = Number(process.env.CS_BENCH_CHANGES ?? 100_000);
const OUTAGE_S = Number(process.env.CS_BENCH_OUTAGE_S ?? 30);
const RATE = Number(process.env.CS_BENCH_RATE ?? 200);
const ONLY = new Set(
  (process.env.CS_BENCH_ONLY ?? 'propagation,rate,catchup,outage,agi').split(',').map((x) => x.trim()),
);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
const fmt = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${pct(s, 50).toFixed(1)} ms, p99 ${pct(s, 99).toFixed(1)} ms, max ${(s[s.length - 1] ?? NaN).toFixed(1)} ms (n=${s.length})`;
};

const sb = await PgSandbox.start();
const dir = mkdtempSync(join(tmpdir(), 'callscreen-bench-multinode-'));
const loader = new ConfigLoader();
const daemons = new Map<string, Daemon>();
const actor = { name: 'bench', source: 'cli' as const, origin: 'bench' };

async function start(name: string): Promise<DaemonContext> {
  const config = loader.fromText(
    `[store]\npath = ${JSON.stringify(join(dir, `${name}.db`))}\nbackend = "postgres"\nurl = ${JSON.stringify(sb.url)}\nnode_name = "${name}"\n[log]\nlevel = "warn"\n`,
    `${name}.toml`,
  );
  const d = new Daemon(config, pino({ level: 'warn' }), { timers: realTimers, components: () => [] });
  const ctx = await d.start();
  daemons.set(name, d);
  return ctx;
}

const procs: Array<{ kill: () => Promise<void> }> = [];
let sb2: PgSandbox | null = null;
const num = (base: number, i: number): string => `+1555${String(base + i).padStart(7, '0')}`;
try {
  const nodes = [await start('a'), await start('b'), await start('c')];
  const [a] = nodes as [DaemonContext];
  await a.orgs.add('acme', 'Acme', 'US', actor);
  await a.orgs.addDids('acme', ['+12125550100'], actor);
  while (nodes.some((n) => n.index.orgs().length === 0)) await sleep(5);

  const propagation: number[] = [];
  const writes: number[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    const from = num(7_000_000, i);
    const writer = at(nodes, i % 3);
    const others = nodes.filter((n) => n !== writer);
    const t0 = performance.now();
    await writer.blocklist.block('acme', { kind: 'exact', number: from }, {}, actor);
    writes.push(performance.now() - t0);
    if (!ONLY.has('propagation')) continue;
    const req = { org: 'acme', channel: 'call' as const, direction: 'inbound' as const, from, to: '+12125550100' };
    while (others.some((n) => n.screener.screenSync(req).action === 'allow')) {
      if (performance.now() - t0 > 10_000) throw new Error(`block ${i} did not propagate within 10 s`);
      await sleep(1);
    }
    propagation.push(performance.now() - t0);
  }
  if (ONLY.has('propagation')) {
    console.log(`propagation (block on one node → both others reject): ${fmt(propagation)}`);
    console.log(`write through the gate (one block, PostgreSQL + local commit): ${fmt(writes)}`);
  }

  if (ONLY.has('rate')) {
    // Verdict rate: the call path reads memory only, so a node of a shared store should match one alone.
    const single = new Daemon(
      loader.fromText(
        `[store]\npath = ${JSON.stringify(join(dir, 'single.db'))}\n[log]\nlevel = "warn"\n`,
        'single.toml',
      ),
      pino({ level: 'warn' }),
      { timers: realTimers, components: () => [] },
    );
    const sctx = await single.start();
    await sctx.orgs.add('acme', 'Acme', 'US', actor);
    await sctx.orgs.addDids('acme', ['+12125550100'], actor);
    for (let i = 0; i < BLOCKS; i++)
      await sctx.blocklist.block('acme', { kind: 'exact', number: num(7_000_000, i) }, {}, actor);
    await sctx.feed.poll();
    const rate = (ctx: DaemonContext): number => {
      const n = 200_000;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        ctx.screener.screenSync({
          org: 'acme',
          channel: 'call',
          direction: 'inbound',
          from: num(7_000_000, i % (2 * BLOCKS)),
          to: '+12125550100',
        });
      }
      return n / ((performance.now() - t0) / 1000);
    };
    let bestShared = 0;
    let bestSingle = 0;
    for (let round = 0; round < 5; round++) {
      bestShared = Math.max(bestShared, rate(a));
      bestSingle = Math.max(bestSingle, rate(sctx));
    }
    await single.stop();
    console.log(
      `verdict rate (screenSync, best of 5): node of the shared store ${Math.round(bestShared).toLocaleString('en')}/s, single node ${Math.round(bestSingle).toLocaleString('en')}/s (ratio ${(bestShared / bestSingle).toFixed(2)})`,
    );
  }

  if (ONLY.has('catchup')) {
    await must(daemons.get('c'), 'daemon c').stop();
    daemons.delete('c');
    // b stays up and follows: the catch-up is c's alone.
    const t1 = performance.now();
    for (let i = 0; i < CHANGES; i++) {
      await a.blocklist.block('acme', { kind: 'exact', number: num(8_000_000, i) }, {}, actor);
      if ((i + 1) % 10_000 === 0)
        console.log(`  … ${i + 1} changes made (${Math.round((i + 1) / ((performance.now() - t1) / 1000))} writes/s)`);
    }
    const madeMs = performance.now() - t1;
    console.log(
      `${CHANGES.toLocaleString('en')} changes made on node a while c was down: ${(madeMs / 1000).toFixed(1)} s (${Math.round(CHANGES / (madeMs / 1000))} writes/s, one at a time)`,
    );
    const t2 = performance.now();
    const c = await start('c');
    const startedMs = performance.now() - t2;
    const head = Number(
      (await must(a.shared, 'a shared store').pg.query<{ seq: string }>('SELECT seq FROM cs_head'))[0]?.seq,
    );
    while (must(c.shared, 'c shared store').replicator.status().appliedSeq < head) await sleep(5);
    const last = num(8_000_000, CHANGES - 1);
    while (
      c.screener.screenSync({ org: 'acme', channel: 'call', direction: 'inbound', from: last, to: '+12125550100' })
        .action === 'allow'
    )
      await sleep(5);
    const first = c.screener.screenSync({
      org: 'acme',
      channel: 'call',
      direction: 'inbound',
      from: num(8_000_000, 0),
      to: '+12125550100',
    }).action;
    console.log(
      `catch-up of ${CHANGES.toLocaleString('en')} changes (restart to last verdict right on c): ${((performance.now() - t2) / 1000).toFixed(2)} s (daemon.start() returned after ${(startedMs / 1000).toFixed(2)} s; resyncs ${must(c.shared, 'c shared store').replicator.status().resyncs}; first change's verdict ${first})`,
    );
  }
  for (const d of daemons.values()) await d.stop().catch(() => undefined);
  daemons.clear();

  if (ONLY.has('outage') || ONLY.has('agi')) {
    // Part two: daemon processes, FastAGI, a fresh PostgreSQL.
    sb2 = await PgSandbox.start();
    const pdir = join(dir, 'processes');
    mkdirSync(pdir);
    const BLOCKED = '+15551234567';
    const cl = await MultinodeCluster.create(sb2, pdir, ['a', 'b', 'c'], BLOCKED);
    procs.push({ kill: () => cl.stopAll() });
    const setup = await cl.services('a');
    await setup.orgs.add('acme', 'Acme', 'US', actor);
    await setup.orgs.addDids('acme', [MULTINODE_DID], actor);
    const blockedEntryId = (
      await setup.blocklist.block('acme', { kind: 'exact', number: BLOCKED }, { mode: 'reject' }, actor)
    ).id;
    await setup.close();
    await cl.startAll();
    for (const n of cl.names) {
      if ((await cl.verdict(n, BLOCKED)).action !== 'reject')
        throw new Error(`node ${n} does not reject the blocked caller`);
    }
    if (ONLY.has('outage')) {
      const f = await cl.outage(sb2, { seconds: OUTAGE_S, rate: RATE, blockedEntryId, drainCeilingMs: 300_000 });
      for (const l of describeOutage(f)) console.log(l);
    }
    if (ONLY.has('agi')) {
      const sdir = join(dir, 'single-process');
      mkdirSync(sdir);
      const sport = await freePort();
      const sconf = join(sdir, 'single.toml');
      writeFileSync(
        sconf,
        [
          '[store]',
          `path = ${JSON.stringify(join(sdir, 'single.db'))}`,
          '[records]',
          'flush_ms = 100',
          '[log]',
          'level = "info"',
          '[fastagi]',
          `listen = "127.0.0.1:${sport}"`,
          '[admin]',
          'enabled = false',
        ].join('\n'),
      );
      const s1 = await openServices(loader.load(sconf).config, pino({ level: 'warn' }));
      await s1.orgs.add('acme', 'Acme', 'US', actor);
      await s1.orgs.addDids('acme', [MULTINODE_DID], actor);
      await s1.blocklist.block('acme', { kind: 'exact', number: BLOCKED }, { mode: 'reject' }, actor);
      await s1.close();
      const single = await startDaemonProcess(sconf);
      procs.push({
        kill: async () => {
          single.child.kill('SIGTERM');
          await single.exited;
        },
      });
      const froms = [BLOCKED, ...Array.from({ length: 99 }, (_, i) => num(3_000_000, i))];
      const best = { shared: 0, single: 0, noVerdict: 0 };
      for (let round = 0; round < 3; round++) {
        const r1 = await fastagiRate(must(cl.ports.a, 'node a port'), 5, 16, froms);
        const r2 = await fastagiRate(sport, 5, 16, froms);
        best.shared = Math.max(best.shared, r1.perSecond);
        best.single = Math.max(best.single, r2.perSecond);
        best.noVerdict += r1.noVerdict + r2.noVerdict;
      }
      console.log(
        `FastAGI verdict rate per node (closed loop, 16 callers, best of 3 × 5 s): node a of the shared store ${Math.round(best.shared)}/s, single-node daemon ${Math.round(best.single)}/s (ratio ${(best.shared / best.single).toFixed(2)}; calls with no verdict ${best.noVerdict})`,
      );
    }
  }
} finally {
  for (const d of daemons.values()) await d.stop().catch(() => undefined);
  for (const p of procs.reverse()) await p.kill().catch(() => undefined);
  await sb.stop();
  await sb2?.stop();
  rmSync(dir, { recursive: true, force: true });
}
