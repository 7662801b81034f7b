// Several `callscreen daemon` processes against one real PostgreSQL (issue #15), for the multi-node
// e2e test and `npm run bench:multinode`: each node its own SQLite replica and FastAGI port; calls
// are FastAGI sessions played by the shared fake Asterisk (faults-agi.ts), each with its own
// agi_uniqueid, so every call record in PostgreSQL can be matched to the call that made it.
//
//   const cl = await MultinodeCluster.create(sb, dir, ['a', 'b', 'c'], BLOCKED);
//   await cl.startAll();  await cl.verdict('a', BLOCKED);  await cl.stopAll();
//   const figures = await cl.outage(sb, { seconds: 30, rate: 200, blockedEntryId });
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../../daemon/cli/program.js';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import { openServices } from '../../daemon/main.js';
import { agiCall, callEnv } from './faults-agi.js';
import { silentLogger } from './harness.js';
import { must } from './must.js';
import { freePort, type PgSandbox } from './pg-sandbox.js';

const BIN = new URL('../../daemon/cli/bin.ts', import.meta.url).pathname;
/** A generous start-up ceiling for a daemon process on a loaded machine (ms), not a measurement. */
const READY_CEILING_MS = 180_000;
/** The DID every call is made to. */
export const MULTINODE_DID = '+15550100';

export interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/** Starts `callscreen --config CONFIG daemon` and resolves once it logged "callscreen ready". */
export function startDaemonProcess(config: string): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, '--config', config, 'daemon'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let buf = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('daemon not ready within the safety ceiling')), READY_CEILING_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"callscreen ready"')) {
          clearTimeout(timer);
          resolve({ child, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited early with ${String(code)}: ${err}`));
    });
  });
}

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly ms: number;
}

/** What an outage run measured. */
export interface OutageFigures {
  readonly seconds: number;
  /** Calls per second asked for, and made (started) per second. */
  readonly rate: number;
  readonly achievedRate: number;
  /** Calls made during the outage, per node. */
  readonly calls: number;
  readonly perNode: Readonly<Record<string, number>>;
  /** Calls whose verdict was not the list's (a blocked caller not rejected, another not allowed). */
  readonly wrong: number;
  /** Blocked callers let through, or no verdict at all (the dialplan would have let the call on). */
  readonly failOpen: number;
  /** Call records of the outage marked fail-open by the daemon itself (fail_mode set). */
  readonly failModeRecords: number;
  /** FastAGI round trip during the outage (ms). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Writes tried on each node during the outage, all refused with exit 69 (CS_ERR_UNAVAILABLE)? */
  readonly writesTried: number;
  readonly writesRefused: number;
  /** The slowest refusal (ms, the whole CLI command). */
  readonly refusalMaxMs: number;
  /** Every call made so far (the whole cluster's life) and what PostgreSQL holds of them. */
  readonly made: number;
  readonly shipped: number;
  readonly distinct: number;
  readonly duplicates: number;
  readonly lost: number;
  /** Hits on the blocked caller's entry: counted by the nodes' calls vs summed in PostgreSQL. */
  readonly hitsMade: number;
  readonly hitsShipped: number;
  /** PostgreSQL back → every outbox drained (ms). */
  readonly drainMs: number;
}

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export class MultinodeCluster {
  readonly ports: Record<string, number> = {};
  readonly configs: Record<string, string> = {};
  private readonly procs = new Map<string, Proc>();
  private seq = 0;
  /** Every FastAGI call made (each leaves one call record on its node). */
  made = 0;
  /** Calls from `blocked` that were rejected (each one hit on its entry). */
  hitsMade = 0;

  /** `blocked`: the caller the list blocks, whose entry's hits are counted. */
  private constructor(
    readonly names: readonly string[],
    readonly runId: string,
    readonly blocked: string,
  ) {}

  /** Writes one config per node (own SQLite file and FastAGI port, the panel off). */
  static async create(
    sb: PgSandbox,
    dir: string,
    names: readonly string[],
    blocked: string,
    logLevel = 'info',
  ): Promise<MultinodeCluster> {
    const cl = new MultinodeCluster(names, `mn${String(Date.now() % 1e9)}`, blocked);
    for (const n of names) {
      cl.ports[n] = await freePort();
      cl.configs[n] = join(dir, `${n}.toml`);
      writeFileSync(
        cl.configs[n],
        [
          '[store]',
          `path = ${JSON.stringify(join(dir, `${n}.db`))}`,
          'backend = "postgres"',
          `url = ${JSON.stringify(sb.url)}`,
          `node_name = "${n}"`,
          'replica_poll_ms = 200',
          'connect_timeout_ms = 1000',
          '[records]',
          'flush_ms = 100',
          '[log]',
          `level = "${logLevel}"`,
          '[fastagi]',
          `listen = "127.0.0.1:${cl.ports[n]}"`,
          '[admin]',
          'enabled = false',
        ].join('\n'),
      );
    }
    return cl;
  }

  config(name: string): string {
    const c = this.configs[name];
    if (c === undefined) throw new Error(`no node ${name}`);
    return c;
  }

  /** Opens node `name`'s services in this process (its file, PostgreSQL through its gate); the caller closes them. */
  services(name: string) {
    return openServices(new ConfigLoader().load(this.config(name)).config, silentLogger());
  }

  async start(name: string): Promise<void> {
    this.procs.set(name, await startDaemonProcess(this.config(name)));
  }

  async startAll(): Promise<void> {
    for (const n of this.names) await this.start(n);
  }

  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    p.child.kill(signal);
    await p.exited;
    this.procs.delete(name);
  }

  async stopAll(): Promise<void> {
    for (const n of [...this.procs.keys()]) await this.kill(n, 'SIGTERM');
  }

  /** `callscreen …` against node `name`'s config, in this process. */
  async cli(name: string, ...argv: string[]): Promise<CliResult> {
    let out = '';
    let err = '';
    const t0 = performance.now();
    const code = await runCli(['--config', this.config(name), ...argv], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env: { USER: 'tester' },
    });
    return { code, out, err, ms: performance.now() - t0 };
  }

  /** One FastAGI call to node `name`: the CALLSCREEN_ACTION it set ('none' when it set none). */
  async verdict(name: string, from: string): Promise<{ action: string; ms: number }> {
    const port = this.ports[name];
    if (port === undefined) throw new Error(`no node ${name}`);
    this.made++;
    const r = await agiCall(
      port,
      callEnv({
        agi_callerid: from,
        agi_dnid: MULTINODE_DID,
        agi_extension: MULTINODE_DID,
        agi_uniqueid: `${this.runId}.${++this.seq}`,
      }),
    );
    const set = r.commands.find((c) => c.startsWith('SET VARIABLE CALLSCREEN_ACTION'));
    const action = /"(\w+)"/.exec(set ?? '')?.[1] ?? 'none';
    if (from === this.blocked && action === 'reject') this.hitsMade++;
    return { action, ms: r.ms };
  }

  /**
   * PostgreSQL stopped for `seconds` while calls arrive at `rate` per second, round robin over the
   * nodes, half of them from the blocked caller (must be rejected), half from numbers on no list (allowed);
   * a write tried on each node every 5 s must be refused. Then PostgreSQL back: waits (at most
   * `drainCeilingMs`) until every call made so far is in PostgreSQL once, then counts again.
   * `blockedEntryId`: the blocked caller's entry, whose hits PostgreSQL must sum right (every hit
   * on it must have been made through this cluster's calls).
   */
  async outage(
    sb: PgSandbox,
    o: { seconds: number; rate: number; blockedEntryId: number; drainCeilingMs?: number },
  ): Promise<OutageFigures> {
    const firstSeq = this.seq + 1;
    await sb.pause();
    const perNode: Record<string, number> = Object.fromEntries(this.names.map((n) => [n, 0]));
    const ms: number[] = [];
    let wrong = 0;
    let failOpen = 0;
    let writesTried = 0;
    let writesRefused = 0;
    let refusalMaxMs = 0;
    const inFlight: Array<Promise<void>> = [];
    const writes: Array<Promise<void>> = [];
    const t0 = performance.now();
    const end = t0 + o.seconds * 1000;
    let nextWrite = t0;
    let i = 0;
    // Open loop: call i starts at t0 + i / rate, whether or not the earlier ones have answered.
    for (let due = t0; due < end; due = t0 + (i * 1000) / o.rate) {
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const node = must(this.names[i % this.names.length], `node ${i % this.names.length}`);
      const blocked = i % 2 === 0;
      const from = blocked ? this.blocked : `+1555${String(2_000_000 + (this.seq % 7_000_000)).padStart(7, '0')}`;
      i++;
      perNode[node] = (perNode[node] ?? 0) + 1;
      inFlight.push(
        (async () => {
          const r = await this.verdict(node, from);
          ms.push(r.ms);
          if (r.action !== (blocked ? 'reject' : 'allow')) wrong++;
          if (blocked && (r.action === 'allow' || r.action === 'none')) failOpen++;
        })(),
      );
      if (performance.now() >= nextWrite) {
        nextWrite += 5000;
        for (const n of this.names) {
          writesTried++;
          writes.push(
            this.cli(n, 'block', `555${String(9_000_000 + writesTried).slice(-7)}`, '--org', 'acme').then((r) => {
              if (r.code === 69 && /CS_ERR_UNAVAILABLE: PostgreSQL store .* is unreachable/.test(r.err))
                writesRefused++;
              refusalMaxMs = Math.max(refusalMaxMs, r.ms);
            }),
          );
        }
      }
    }
    const achievedRate = i / ((performance.now() - t0) / 1000);
    await Promise.all(inFlight);
    await Promise.all(writes);
    const lastSeq = this.seq;
    await sb.resume();
    const tBack = performance.now();
    const s = await this.services(must(this.names[0], 'a first node'));
    try {
      const pg = must(s.shared, 'the shared store').pg;
      const counts = async (): Promise<{ shipped: number; distinct: number; hits: number }> => {
        const r = (
          await pg.query<{ shipped: string; distinct: string }>(
            "SELECT count(*) AS shipped, count(DISTINCT data->>'call_id') AS distinct FROM cs_screened WHERE data->>'call_id' LIKE $1",
            [`${this.runId}.%`],
          )
        )[0];
        const h = (
          await pg.query<{ h: string }>('SELECT coalesce(sum(hits), 0) AS h FROM cs_hits WHERE entry_id = $1', [
            o.blockedEntryId,
          ])
        )[0];
        return { shipped: Number(r?.shipped ?? -1), distinct: Number(r?.distinct ?? -1), hits: Number(h?.h ?? -1) };
      };
      const ceiling = tBack + (o.drainCeilingMs ?? 120_000);
      let c = { shipped: -1, distinct: -1, hits: -1 };
      while (performance.now() < ceiling) {
        c = await counts().catch(() => c);
        if (c.distinct >= this.made && c.hits >= this.hitsMade) break;
        await sleep(100);
      }
      const drainMs = performance.now() - tBack;
      // Let any outbox that would ship twice do so before the final count.
      await sleep(2000);
      c = await counts();
      const failModeRecords = Number(
        (
          await pg.query<{ c: string }>(
            "SELECT count(*) AS c FROM cs_screened WHERE data->>'call_id' LIKE $1 AND split_part(data->>'call_id', '.', 2)::int BETWEEN $2 AND $3 AND data->>'fail_mode' IS NOT NULL",
            [`${this.runId}.%`, firstSeq, lastSeq],
          )
        )[0]?.c ?? -1,
      );
      const sorted = [...ms].sort((a, b) => a - b);
      return {
        seconds: o.seconds,
        rate: o.rate,
        achievedRate,
        calls: i,
        perNode,
        wrong,
        failOpen,
        failModeRecords,
        p50Ms: pct(sorted, 50),
        p99Ms: pct(sorted, 99),
        maxMs: sorted[sorted.length - 1] ?? NaN,
        writesTried,
        writesRefused,
        refusalMaxMs,
        made: this.made,
        shipped: c.shipped,
        distinct: c.distinct,
        duplicates: c.shipped - c.distinct,
        lost: this.made - c.distinct,
        hitsMade: this.hitsMade,
        hitsShipped: c.hits,
        drainMs,
      };
    } finally {
      await s.close();
    }
  }
}

/** The figures as lines for a report or a test comment. */
export function describeOutage(f: OutageFigures): string[] {
  return [
    `PostgreSQL stopped ${f.seconds} s under ${f.rate} FastAGI calls/s asked (${f.achievedRate.toFixed(0)}/s made) over ${Object.keys(f.perNode).length} nodes: ${f.calls} calls (${Object.entries(
      f.perNode,
    )
      .map(([n, c]) => `${n} ${c}`)
      .join(', ')})`,
    `  verdicts wrong ${f.wrong}, fail-open ${f.failOpen} (records marked fail-open ${f.failModeRecords}); FastAGI round trip p50 ${f.p50Ms.toFixed(1)} ms, p99 ${f.p99Ms.toFixed(1)} ms, max ${f.maxMs.toFixed(1)} ms`,
    `  writes tried during the outage ${f.writesTried}, refused with CS_ERR_UNAVAILABLE ${f.writesRefused} (slowest refusal ${f.refusalMaxMs.toFixed(0)} ms, whole CLI command)`,
    `  PostgreSQL back → outboxes drained in ${(f.drainMs / 1000).toFixed(1)} s: call records made ${f.made}, in PostgreSQL ${f.shipped} (distinct ${f.distinct}), lost ${f.lost}, duplicated ${f.duplicates}; hits made ${f.hitsMade}, summed in PostgreSQL ${f.hitsShipped}`,
  ];
}

/**
 * Closed-loop FastAGI load on one daemon for `seconds`: `concurrency` callers, each starting its
 * next call when the last answered, callers from `froms` in turn. Returns answered calls per second
 * and how many got no verdict.
 */
export async function fastagiRate(
  port: number,
  seconds: number,
  concurrency: number,
  froms: readonly string[],
): Promise<{ perSecond: number; noVerdict: number }> {
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let done = 0;
  let noVerdict = 0;
  let k = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const from = froms[k++ % froms.length] ?? '+15550000000';
        const r = await agiCall(
          port,
          callEnv({ agi_callerid: from, agi_dnid: MULTINODE_DID, agi_extension: MULTINODE_DID }),
        );
        if (!r.commands.some((c) => c.startsWith('SET VARIABLE CALLSCREEN_ACTION'))) noVerdict++;
        done++;
      }
    }),
  );
  return { perSecond: done / ((performance.now() - t0) / 1000), noVerdict };
}
