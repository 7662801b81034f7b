/**
 * `npm run bench:mirror-sync`: how long the AstDB mirror's first full sync takes through the real
 * Asterisk 22 sandbox, for each `astdb_caller_forms` setting asked for (BENCH_FORMS), and the longest an AstDB read
 * waited meanwhile.
 *
 * The daemon runs in this process (SQLite store with BENCH_N blocked numbers of region US); for each
 * setting it is started, the mirror's `live` line is read (its own `ms`, from the first DBDel to the
 * heartbeat; one key per number whatever the setting, which only changes `national/<org>`), and it
 * is stopped. Meanwhile a second AMI session sends
 * `DBGet callscreen/alive` back to back and keeps the longest round trip: AstDB reads, the dialplan's
 * `DB_EXISTS()` included, take the same AstDB lock as the sync's `DBPut`s, so this is what a call's
 * mirror step could wait (plus the manager's own queueing, so an upper bound). Both are `ast_db_get()`
 * under AstDB's one mutex; the manager's `Getvar` of `DB_EXISTS()` would be the function itself, but
 * the sandbox's AMI user may not send Getvar (write = message,originate,system). The row says when the
 * longest wait began, in seconds from the mirror's `syncing` (the first DBDel, then the DBDelTree of
 * the family, then the DBPuts), and lists every wait of 100 ms or more after the table.
 *
 * Also the CPU each side spent during the sync, as cores busy (CPU seconds ÷ wall seconds): the daemon
 * (this process, prober included — a few % of it) and Asterisk (its /proc stat; the prober's DBGets
 * included — run with BENCH_PROBE=0 for the sync alone). A side near 1.0 is the one the sync waits for.
 *
 *   BENCH_N      blocked numbers (default 100,000)
 *   BENCH_FORMS  settings to compare, `;`-separated (default `e164,national,trunk`, the config's: every
 *                setting writes the same keys now, one per number, so one is enough)
 *   BENCH_PROBE  0: no DBGet prober (default 1)
 *   BENCH_WINDOW `[ami] astdb_window`, keys in flight (default: the config's default, 1024)
 *   BENCH_PUTS   how Asterisk is asked to store the keys, `,`-separated, alternated within each
 *                repetition (default `CallScreenDBPut,DBPut`): `CallScreenDBPut` with callscreen's
 *                module loaded (100 keys an action), `DBPut` with it unloaded (one action a key)
 *   BENCH_DB     keep the blocklist database in this file between runs (imported once; default: a
 *                temporary file, imported each run — a 1M-number import takes longer than the sync)
 *   BENCH_REPS   syncs per setting, each row printed (default 1)
 *   --cpu-prof   profile the daemon (this process, in-process inspector) during each sync and print its
 *                top functions by self time
 *
 * Needs root (the sandbox chroot); takes the sandbox lock.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import net from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { Daemon, openServices } from '../daemon/main.js';
import type { PutAction } from '../daemon/pbx/asterisk/astdb-mirror.js';
import { importBenchList } from './bench-list.js';
import * as sandbox from '../test/support/pbx-sandbox.js';
import { profileTable } from './cpu-profile.js';
import { asteriskPid, cpuTicks, TICK_MS } from './proc-cpu.js';

const N = Number(process.env.BENCH_N ?? 100_000);
const FORMS = (process.env.BENCH_FORMS ?? 'e164,national,trunk').split(';').map((f) => f.split(','));
const AMI = { port: 5038, username: 'callscreen', secret: 'callscreen-sandbox' } as const;
const PROBE = process.env.BENCH_PROBE !== '0';
const REPS = Number(process.env.BENCH_REPS ?? 1);
const PUTS = (process.env.BENCH_PUTS ?? 'CallScreenDBPut,DBPut').split(',').map((p): PutAction => {
  if (p !== 'CallScreenDBPut' && p !== 'DBPut')
    throw new Error(`BENCH_PUTS: ${p} is neither CallScreenDBPut nor DBPut`);
  return p;
});
const PROFILE = process.argv.includes('--cpu-prof');
const DIDS = ['+15559300000'];
const blocked = (i: number): string => `+1555${String(2_000_000 + i).padStart(7, '0')}`;
const log = (s: string): void => void process.stdout.write(`${s}\n`);

interface ProbeResult {
  readonly maxMs: number;
  /** When the longest wait began (performance.now() ms). */
  readonly maxAt: number;
  readonly count: number;
  /** Every wait of 100 ms or more: when it began (performance.now() ms) and how long it was. */
  readonly long: ReadonlyArray<{ readonly at: number; readonly ms: number }>;
}

/** Sends DBGet back to back on its own AMI session until stopped; returns the longest wait (ms). */
function prober(): { stop(): Promise<ProbeResult> } {
  const socket = net.connect(AMI.port, '127.0.0.1');
  let buf = '';
  let maxMs = 0;
  let maxAt = 0;
  let count = 0;
  const long: Array<{ at: number; ms: number }> = [];
  let stopping = false;
  let sentAt = 0;
  let done: ((v: ProbeResult) => void) | null = null;
  const ask = (): void => {
    if (stopping) {
      socket.end();
      done?.({ maxMs, maxAt, count, long });
      return;
    }
    sentAt = performance.now();
    socket.write('Action: DBGet\r\nFamily: callscreen\r\nKey: alive\r\n\r\n');
  };
  let loggedIn = false;
  socket.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) break;
      const msg = buf.slice(0, end);
      buf = buf.slice(end + 4);
      if (!loggedIn) {
        if (msg.includes('Response: Success')) {
          loggedIn = true;
          ask();
        }
        continue;
      }
      // A found key ends with the DBGetComplete event, a missing one with Response: Error.
      if (msg.includes('Event: DBGetComplete') || msg.includes('Response: Error')) {
        const ms = performance.now() - sentAt;
        count++;
        if (ms >= 100) long.push({ at: sentAt, ms });
        if (ms > maxMs) {
          maxMs = ms;
          maxAt = sentAt;
        }
        ask();
      }
    }
  });
  socket.once('connect', () =>
    socket.write(`Action: Login\r\nUsername: ${AMI.username}\r\nSecret: ${AMI.secret}\r\nEvents: off\r\n\r\n`),
  );
  return {
    stop: () =>
      new Promise((resolve) => {
        stopping = true;
        done = resolve;
      }),
  };
}

function loadavg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

/** A blocklist of N numbers of region US in a fresh SQLite store at `dbPath`. */
async function importList(work: string, dbPath: string): Promise<void> {
  const s = await openServices(
    new ConfigLoader().fromText(`[store]\npath = ${JSON.stringify(dbPath)}\n[log]\nlevel = "silent"\n`, 'bench.toml'),
    pino({ level: 'silent' }),
  );
  await importBenchList(s, work, { n: N, dids: DIDS, number: blocked });
  await s.close();
}

/**
 * Starts the daemon with these caller forms, callscreen's module loaded (CallScreenDBPut) or not
 * (DBPut), waits for the mirror's `live`, stops it: one table row.
 */
async function syncOnce(
  dbPath: string,
  forms: readonly string[],
  puts: PutAction,
): Promise<{ line: string; long: string[]; profile: unknown }> {
  await sandbox.rx(`module ${puts === 'DBPut' ? 'unload' : 'load'} func_callscreen.so`).catch(() => '');
  if ((await sandbox.mirrorModuleLoaded()) !== (puts === 'CallScreenDBPut'))
    throw new Error(`callscreen's module could not be ${puts === 'DBPut' ? 'unloaded' : 'loaded'}`);
  const lines: Array<Record<string, unknown>> = [];
  const session = PROFILE ? new Session() : null;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
  }
  const apid = asteriskPid();
  /** CPU and time when the mirror logged `syncing` and `live`: the sync alone, not the daemon's start. */
  interface Mark {
    readonly cpu: NodeJS.CpuUsage;
    readonly asteriskTicks: number;
    readonly at: number;
  }
  const mark = (): Mark => ({ cpu: process.cpuUsage(), asteriskTicks: cpuTicks(apid), at: performance.now() });
  const isEnd = (l: Record<string, unknown>): boolean => l.component === 'astdb-mirror' && l.to === 'live';
  const marks: { began?: Mark; ended?: Mark } = {};
  const logger = pino(
    { level: 'info' },
    {
      write: (l: string) => {
        const line = JSON.parse(l) as Record<string, unknown>;
        lines.push(line);
        if (line.component !== 'astdb-mirror') return;
        if (line.to === 'syncing' && marks.began === undefined) {
          marks.began = mark();
          void session?.post('Profiler.start');
        }
        if (isEnd(line) && marks.ended === undefined) marks.ended = mark();
      },
    },
  );
  const toml = [
    '[store]',
    `path = ${JSON.stringify(dbPath)}`,
    '[fastagi]',
    'enabled = false',
    '[admin]',
    'enabled = false',
    '[ami]',
    'enabled = true',
    'host = "127.0.0.1"',
    `port = ${AMI.port}`,
    `username = "${AMI.username}"`,
    `secret = "${AMI.secret}"`,
    'astdb_mirror = true',
    `astdb_caller_forms = ${JSON.stringify(forms)}`,
    ...(process.env.BENCH_WINDOW ? [`astdb_window = ${Number(process.env.BENCH_WINDOW)}`] : []),
  ].join('\n');
  // Measured as a first sync each time: with the previous run's marker (callscreen/gen) left in
  // AstDB, a setting with the same caller forms would replay the change log instead.
  await sandbox.rx('database del callscreen gen').catch(() => '');
  const daemon = new Daemon(new ConfigLoader().fromText(toml, 'bench.toml'), logger);
  const probe = PROBE ? prober() : null;
  await daemon.start();
  const t0 = performance.now();
  while (marks.ended === undefined && performance.now() - t0 < 600_000) await new Promise((r) => setTimeout(r, 100));
  const profile = session ? (await session.post('Profiler.stop')).profile : null;
  session?.disconnect();
  const { began: b, ended: e } = marks;
  if (b === undefined || e === undefined) throw new Error('the mirror did not go live within 600 s');
  const wallMs = e.at - b.at;
  const cpuMs = (e.cpu.user + e.cpu.system - b.cpu.user - b.cpu.system) / 1000;
  const aMs = (e.asteriskTicks - b.asteriskTicks) * TICK_MS;
  const daemonCores = cpuMs / wallMs;
  const asteriskCores = aMs / wallMs;
  const { maxMs, maxAt, count, long } = probe
    ? await probe.stop()
    : { maxMs: Number.NaN, maxAt: Number.NaN, count: 0, long: [] };
  const ms = Number(lines.find(isEnd)?.ms ?? NaN);
  const keys = Number(
    (await sandbox.rx('database query "SELECT count(*) FROM astdb WHERE key LIKE \'/callscreen/n/%\'"')).match(
      /\d+/,
    )?.[0] ?? NaN,
  );
  await daemon.stop();
  return {
    line: `| ${forms.join(', ')} | ${String(lines.find((l) => typeof l.putAction === 'string')?.putAction)} | ${keys} | ${(ms / 1000).toFixed(1)} | ${maxMs.toFixed(1)} | ${((maxAt - b.at) / 1000).toFixed(1)} | ${count} | ${daemonCores.toFixed(2)} | ${asteriskCores.toFixed(2)} | ${((cpuMs * 1000) / keys).toFixed(1)} | ${((aMs * 1000) / keys).toFixed(1)} | ${loadavg()} |`,
    long: long
      .filter((w) => w.at >= b.at && w.at <= e.at)
      .map((w) => `${w.ms.toFixed(0)} ms at ${((w.at - b.at) / 1000).toFixed(1)} s`),
    profile,
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'callscreen-bench-sync-'));
  const dbPath = process.env.BENCH_DB ?? join(work, 'bench.db');
  try {
    if (!existsSync(dbPath)) await importList(work, dbPath);
    log(`AstDB mirror first sync, ${N.toLocaleString('en-US')} blocked numbers (region US), shared 2-core machine`);
    log('waiting for the PBX sandbox lock');
    await sandbox.acquireLock();
    await sandbox.start({ amiPort: AMI.port, amiSecret: AMI.secret });
    log(`load average at start: ${loadavg()}`);
    log(
      `| astdb_caller_forms | keys stored by | keys | sync s | longest DBGet wait during the sync (ms) | … began at (s into the sync) | DBGets | daemon CPU (cores) | Asterisk CPU (cores) | daemon µs/key | Asterisk µs/key | load |`,
    );
    log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const profiles: string[] = [];
    /** Per row, the DBGet waits of 100 ms or more: a sync's DBDelTree, then AstDB's commits. */
    const waits: string[] = [];
    for (let rep = 0; rep < REPS; rep++)
      for (const forms of FORMS)
        for (const puts of PUTS) {
          const row = await syncOnce(dbPath, forms, puts);
          log(row.line);
          if (row.long.length > 0) waits.push(`${forms.join(', ')}, ${puts}: ${row.long.join(', ')}`);
          if (PROFILE) {
            const dir = join(work, `prof-${rep}-${forms.join('-')}-${puts}`);
            mkdirSync(dir, { recursive: true });
            writeFileSync(join(dir, 'sync.cpuprofile'), JSON.stringify(row.profile));
            profiles.push(
              `\nDaemon CPU profile of the sync (${forms.join(', ')}, ${puts}), self time:\n\n${profileTable(dir, 30)}`,
            );
          }
        }
    if (waits.length > 0) log(`\nDBGet waits of 100 ms or more (from the mirror's syncing):\n${waits.join('\n')}`);
    for (const p of profiles) log(p);
  } finally {
    await sandbox.rx('module load func_callscreen.so').catch(() => '');
    await sandbox.stop().catch(() => undefined);
    await sandbox.releaseLock();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
