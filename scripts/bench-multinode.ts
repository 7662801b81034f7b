/**
 * `npm run bench:multinode` (issue #15): three daemons in this process, each with its own SQLite
 * replica, against one throw-away PostgreSQL (scripts/pg-sandbox). Prints:
 *  - propagation: a block made on one node until the two others' in-memory verdicts reject the
 *    caller (p50/p99/max over CS_BENCH_BLOCKS blocks, default 200; target p99 ≤ 250 ms);
 *  - write latency of one block through the write gate (p50/p99);
 *  - catch-up: a node stopped while CS_BENCH_CHANGES changes (default 10,000) are made, restarted,
 *    time until it has applied them all;
 *  - verdict rate: screenSync calls per second on a node of the shared store against a single-node
 *    daemon (SQLite alone) holding the same list, interleaved, best of 5 rounds each.
 * Verdicts are read with screenSync, the call path's own read, every 1 ms.
 * The machine is shared with other work: figures are an upper bound, not a quiet-machine measurement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { Daemon } from '../daemon/main.js';
import type { DaemonContext } from '../daemon/daemon-context.js';
import { systemScheduler as realTimers } from '../daemon/core/clock.js';
import { PgSandbox } from '../test/support/pg-sandbox.js';
import { at, must } from './checked.js';

const BLOCKS = Number(process.env.CS_BENCH_BLOCKS ?? 200);
const CHANGES = Number(process.env.CS_BENCH_CHANGES ?? 10_000);

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

try {
  const nodes = [await start('a'), await start('b'), await start('c')];
  const [a] = nodes as [DaemonContext];
  await a.orgs.add('acme', 'Acme', 'US', actor);
  await a.orgs.addDids('acme', ['+12125550100'], actor);
  while (nodes.some((n) => n.index.orgs().length === 0)) await sleep(5);

  const propagation: number[] = [];
  const writes: number[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    const from = `+1555700${String(i).padStart(4, '0')}`;
    const writer = at(nodes, i % 3);
    const others = nodes.filter((n) => n !== writer);
    const t0 = performance.now();
    await writer.blocklist.block('acme', { kind: 'exact', number: from }, {}, actor);
    writes.push(performance.now() - t0);
    const req = { org: 'acme', channel: 'call' as const, direction: 'inbound' as const, from, to: '+12125550100' };
    while (others.some((n) => n.screener.screenSync(req).action === 'allow')) {
      if (performance.now() - t0 > 10_000) throw new Error(`block ${i} did not propagate within 10 s`);
      await sleep(1);
    }
    propagation.push(performance.now() - t0);
  }
  console.log(`propagation (block on one node → both others reject): ${fmt(propagation)}`);
  console.log(`write through the gate (one block, PostgreSQL + local commit): ${fmt(writes)}`);

  // Verdict rate: the call path reads memory only, so a node of a shared store should match one alone.
  const single = new Daemon(loader.fromText(`[store]\npath = ${JSON.stringify(join(dir, 'single.db'))}\n[log]\nlevel = "warn"\n`, 'single.toml'), pino({ level: 'warn' }), { timers: realTimers, components: () => [] });
  const sctx = await single.start();
  await sctx.orgs.add('acme', 'Acme', 'US', actor);
  await sctx.orgs.addDids('acme', ['+12125550100'], actor);
  for (let i = 0; i < BLOCKS; i++) await sctx.blocklist.block('acme', { kind: 'exact', number: `+1555700${String(i).padStart(4, '0')}` }, {}, actor);
  await sctx.feed.poll();
  const rate = (ctx: DaemonContext): number => {
    const n = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      ctx.screener.screenSync({ org: 'acme', channel: 'call', direction: 'inbound', from: `+1555700${String(i % (2 * BLOCKS)).padStart(4, '0')}`, to: '+12125550100' });
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
  console.log(`verdict rate (screenSync, best of 5): node of the shared store ${Math.round(bestShared).toLocaleString('en')}/s, single node ${Math.round(bestSingle).toLocaleString('en')}/s (ratio ${(bestShared / bestSingle).toFixed(2)})`);

  await must(daemons.get('c'), 'node c').stop();
  daemons.delete('c');
  const t1 = performance.now();
  for (let i = 0; i < CHANGES; i++) await a.blocklist.block('acme', { kind: 'exact', number: `+1555800${String(i).padStart(4, '0')}` }, {}, actor);
  const madeMs = performance.now() - t1;
  console.log(`${CHANGES} changes made on node a while c was down: ${(madeMs / 1000).toFixed(1)} s (${Math.round(CHANGES / (madeMs / 1000))} writes/s, one at a time)`);
  const t2 = performance.now();
  const c = await start('c');
  const head = Number((await must(a.shared, 'node a\'s shared store').pg.query<{ seq: string }>('SELECT seq FROM cs_head'))[0]?.seq);
  const cShared = must(c.shared, 'node c\'s shared store');
  while (cShared.replicator.status().appliedSeq < head) await sleep(5);
  const last = `+1555800${String(CHANGES - 1).padStart(4, '0')}`;
  while (c.screener.screenSync({ org: 'acme', channel: 'call', direction: 'inbound', from: last, to: '+12125550100' }).action === 'allow') await sleep(5);
  console.log(`catch-up of ${CHANGES} changes (restart to last verdict right on c): ${((performance.now() - t2) / 1000).toFixed(2)} s`);
} finally {
  for (const d of daemons.values()) await d.stop().catch(() => undefined);
  await sb.stop();
  rmSync(dir, { recursive: true, force: true });
}
