/**
 * `npm run bench:realtime-lookup`: an EXPERIMENT for issue #20, not the product's path. The AstDB
 * mirror's first sync of 1,000,000 numbers over AMI takes about a minute (BENCHMARKS.md), because AMI
 * carries one DBPut per key (~18k actions/s). This measures a lookup the daemon would never have to
 * push through AMI: Asterisk's realtime over a separate SQLite file (res_config_sqlite3), read in the
 * dialplan with REALTIME_FIELD(), next to BLACKLIST() (AstDB) and no screening.
 *
 * 1. The sandbox Asterisk is stopped; N numbers go into its AstDB as /blacklist/<number> (as
 *    bench-pbx does), and an empty table `blocked(number TEXT PRIMARY KEY, action TEXT)` (WAL) is made
 *    in <sandbox>/var/lib/asterisk/callscreen-rt-bench.sqlite3.
 * 2. Asterisk starts with two extra files (scripts/pbx-sandbox CALLSCREEN_SANDBOX_EXTRA_CONF, for this
 *    run only): extconfig.conf maps realtime family `callscreen-rt` to that table, res_config_sqlite3.conf
 *    names the file with `batch => 0` (the default, 100 ms, keeps a transaction open on Asterisk's
 *    connection, so a writer outside would not be seen, or would wait). Two extensions are added to the
 *    bench context over the CLI (`dialplan add extension`, gone when Asterisk stops): DID +15559400000
 *    answers 603 when REALTIME_FIELD(callscreen-rt,number,<caller>,action) is "reject", else 486; the
 *    control +15559400001 does the same on a family nothing maps (the function's cost without SQLite).
 * 3. The "first sync": the N E.164 numbers, then their trunk-prefixed and national forms (US: 1NXX…,
 *    NXX…), are written with the daemon's own SQLite wrapper (daemon/store/database.ts), one
 *    transaction per form, while SIPp places 50 calls/s at the realtime DID (and, for comparison, 6 s
 *    of the same stream just before), and a probe reader in its own process with busy timeout 0 counts
 *    the reads that would have waited for the writer's lock.
 * 4. Freshness: a number inserted (then deleted) from outside is answered 603 (then 486) by the very
 *    next call.
 * 5. SIPp from 127.0.0.2 (the carrier) at 200 and 500 calls/s, variants interleaved (rotated order),
 *    BENCH_REPS repetitions (3), median: Asterisk CPU per 1000 calls, response p99, 603s vs expected.
 *
 * Output: a table on stdout and the generated block of BENCHMARKS.md's section "A lookup that needs no
 * sync (issue #20 experiment)" (BENCH_OUT overrides; the section is appended when missing).
 *
 *   --quick      100,000 numbers, 1 repetition, 1,000 calls a point
 *   BENCH_N, BENCH_REPS, BENCH_RATES (comma-separated calls/s), BENCH_CALLS override.
 *
 * Holds the PBX sandbox lock for the whole run (waits for it up to BENCH_LOCK_WAIT_MIN, default 90
 * min); leaves the sandbox stopped, its AstDB and /etc/asterisk as found. Needs root.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Database } from '../daemon/store/database.js';
import * as sandbox from '../test/support/pbx-sandbox.js';
import { runSipp, startSipp, type SippCall, type SippResult } from '../test/support/sipp.js';
import { writeSection } from './report-section.js';
import { at } from './checked.js';
import { asteriskPid, cpuTicks, TICK_MS } from './proc-cpu.js';
import {
  ASTDB,
  blocked,
  clearBlacklist,
  loadBlacklist,
  median,
  pctl,
  random,
  rnd,
  sandboxScript,
  settle,
  sqlite,
} from './pbx-bench-kit.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const N = Number(process.env.BENCH_N ?? (QUICK ? 100_000 : 1_000_000));
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 3));
const RATES = process.env.BENCH_RATES ? process.env.BENCH_RATES.split(',').map(Number) : [200, 500];
const FIXED_CALLS = Number(process.env.BENCH_CALLS ?? 0);
/** Calls per point: about 5 s of traffic, 2,000–5,000 calls (1,000 in --quick), as bench-pbx. */
const callsAt = (rate: number): number => FIXED_CALLS || (QUICK ? 1000 : Math.min(5000, Math.max(2000, rate * 5)));
/** Calls/s placed at the realtime DID while the first sync writes (what a site's traffic would be). */
const SYNC_RATE = 50;
/** Rows per INSERT statement (2 parameters each; SQLite allows 32,766 since 3.32). */
const ROWS_PER_INSERT = 500;
const LOCK_WAIT_MS = Number(process.env.BENCH_LOCK_WAIT_MIN ?? 90) * 60_000;

const SIP = '127.0.0.1:5060';
const CARRIER_IP = sandbox.SANDBOX.carrierIp;
const SCENARIO = 'bench-call.xml';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = process.env.BENCH_OUT ?? join(root, 'BENCHMARKS.md');
const SECTION = 'bench-realtime-lookup';
const HEADING = '## A lookup that needs no sync (issue #20 experiment)';
/** The realtime file: inside the chroot as /var/lib/asterisk/…, here under the sandbox root. */
const RT_FILE_IN_ROOT = '/var/lib/asterisk/callscreen-rt-bench.sqlite3';
const RT_FILE = join(sandbox.SANDBOX_DIR, RT_FILE_IN_ROOT);
const RT_FAMILY = 'callscreen-rt';
const EXTRA_CONF = ['extconfig.conf', 'res_config_sqlite3.conf'] as const;
const started = Date.now();
const log = (msg: string): void =>
  void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

/**
 * `unmapped` is a control: REALTIME_FIELD() on a family extconfig.conf does not map, so the call pays
 * what the function costs around the lookup (it puts the channel in autoservice and takes it out again,
 * main/autoservice.c, and asks the realtime framework for an engine) but no SQLite; every call gets 486.
 */
const VARIANTS = ['none', 'blacklist', 'realtime', 'unmapped'] as const;
type Variant = (typeof VARIANTS)[number];
/** none and blacklist are the bench context's own (config/asterisk/extensions.conf); the others are added by this run. */
const DID: Record<Variant, string> = {
  none: '+15559000000',
  blacklist: '+15559100000',
  realtime: '+15559400000',
  unmapped: '+15559400001',
};
/** Variants whose listed callers get 603. */
const SCREENING: ReadonlySet<Variant> = new Set(['blacklist', 'realtime']);

// ------------------------------------------------------------------------------------------ setup

let work = '';
let astdbLoaded = false;
let extraInstalled = false;

/** Writes /blacklist/<number> for the N numbers into AstDB (as bench-pbx); Asterisk must be stopped. */

function removeRealtimeFile(): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(RT_FILE + suffix, { force: true });
}

/**
 * The realtime table, empty. WITHOUT ROWID: the number is the B-tree's key, one tree per lookup
 * instead of an index plus the table. WAL (set by Database.open): Asterisk's reads never wait for the
 * writer, and see each committed transaction whole.
 */
async function createRealtimeTable(): Promise<void> {
  removeRealtimeFile();
  const db = await Database.open(RT_FILE);
  await db.exec('CREATE TABLE blocked(number TEXT PRIMARY KEY, action TEXT NOT NULL) WITHOUT ROWID;');
  await db.close();
}

/** extconfig.conf and res_config_sqlite3.conf for this run, in a directory pbx-sandbox installs from. */
function writeExtraConf(): string {
  const dir = join(work, 'asterisk-extra');
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(
    join(dir, 'extconfig.conf'),
    `; scripts/bench-realtime-lookup.ts only (issue #20 experiment): realtime family ${RT_FAMILY} is table
; blocked of database ${RT_FAMILY} in res_config_sqlite3.conf.
[settings]
${RT_FAMILY} => sqlite3,${RT_FAMILY},blocked
`,
  );
  writeFileSync(
    join(dir, 'res_config_sqlite3.conf'),
    `; scripts/bench-realtime-lookup.ts only (issue #20 experiment).
; batch => 0: no transaction kept open on Asterisk's connection. The default (100 ms) starts one and
; commits it only after a realtime write, so a pure reader would hold its read snapshot (and, without
; WAL, its shared lock) indefinitely: a writer outside Asterisk would never be seen, or never commit.
[${RT_FAMILY}]
dbfile => ${RT_FILE_IN_ROOT}
requirements => warn
batch => 0
`,
  );
  return dir;
}

/**
 * Adds the realtime variants' extensions to the bench context over the CLI: in memory only, gone when
 * Asterisk stops, so the sandbox's dialplan files stay as the e2e tests expect them. Same shape as the
 * BLACKLIST() variant: one GotoIf on an expression, then the hang-up.
 */
async function addDialplan(): Promise<void> {
  for (const [did, family] of [
    [DID.realtime, RT_FAMILY],
    [DID.unmapped, `${RT_FAMILY}-unmapped`],
  ] as const) {
    const cond = `$[\\"\${REALTIME_FIELD(${family},number,\${CALLERID(num)},action)}\\" = \\"reject\\"]`;
    const steps = [`1,GotoIf(${cond}?3)`, '2,PJSIPHangup(486)', '3,PJSIPHangup(603)'];
    for (const step of steps) await sandbox.rx(`dialplan add extension "${did},${step}" into callscreen-bench replace`);
    const plan = await sandbox.rx(`dialplan show ${did}@callscreen-bench`);
    if (!plan.includes(`REALTIME_FIELD(${family},`) || !plan.includes('PJSIPHangup(603)'))
      throw new Error(`the extension of ${did} did not go in:\n${plan}`);
  }
}

/** How one row looks to Asterisk: `realtime load` (res_realtime's CLI) must show the action. */
async function checkRealtime(number: string, want: string): Promise<void> {
  const out = await sandbox.rx(`realtime load ${RT_FAMILY} number ${number}`);
  if (!new RegExp(`action\\s+${want}`).test(out))
    throw new Error(
      `realtime load ${RT_FAMILY} number ${number} did not show action ${want}:\n${out}\n${await sandbox.logTail(30)}`,
    );
}

// ------------------------------------------------------------------------------------------ the sync

interface SyncFigures {
  /** Seconds from BEGIN to COMMIT returned: E.164 rows; the trunk and national forms. */
  e164S: number;
  otherFormsS: number;
  rows: number;
  checkpointS: number;
  fileMb: number;
  /** The calls placed meanwhile: how many, failed, slowest and p99 response (ms). */
  calls: number;
  failed: number;
  maxMs: number;
  p99Ms: number;
  /** The same stream for as long before the sync (no writer): slowest and p99 response (ms). */
  idleMaxMs: number;
  idleP99Ms: number;
  /** The probe reader during the sync (see probeReader). */
  probe: ProbeFigures;
}

interface ProbeFigures {
  reads: number;
  /** Reads refused with SQLITE_BUSY: with a busy timeout of 0, each would have been a lock wait. */
  busy: number;
  /** Reads that failed otherwise. */
  other: number;
  maxMs: number;
}

/**
 * A reader in a process of its own, as Asterisk's connection is: one primary-key SELECT a millisecond,
 * prepared each time (as res_config_sqlite3's sqlite3_exec does), busy timeout 0 — so a read that would
 * have had to wait for the writer's lock fails with SQLITE_BUSY and is counted instead of waiting.
 * Stopped with SIGTERM; prints its figures as JSON.
 */
const PROBE = `
const sqlite3 = require('sqlite3');
const [file, n] = [process.argv[1], Number(process.argv[2])];
const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (err) => { if (err) { console.error(err.message); process.exit(2); } });
db.configure('busyTimeout', 0);
let stop = false, reads = 0, busy = 0, other = 0, maxMs = 0;
process.on('SIGTERM', () => { stop = true; });
const next = () => {
  if (stop) { process.stdout.write(JSON.stringify({ reads, busy, other, maxMs })); db.close(); return; }
  const t0 = performance.now();
  db.get('SELECT action FROM blocked WHERE number = ?', ['+1' + String(2000000000 + Math.floor(Math.random() * n) * 7)], (err) => {
    const ms = performance.now() - t0;
    if (err) { if (err.code === 'SQLITE_BUSY') busy++; else other++; } else { reads++; if (ms > maxMs) maxMs = ms; }
    setTimeout(next, 1);
  });
};
next();
`;

function probeReader(): { stop(): Promise<ProbeFigures> } {
  const child = spawn(process.execPath, ['-e', PROBE, RT_FILE, String(N)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return {
    async stop(): Promise<ProbeFigures> {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      try {
        return JSON.parse(out) as ProbeFigures;
      } catch {
        throw new Error(`the probe reader printed no figures: ${JSON.stringify(out)}`);
      }
    },
  };
}

/** Inserts `numbers` (in key order) as `reject` rows in one transaction; seconds to COMMIT. */
async function writeRows(db: Database, numbers: (i: number) => string): Promise<number> {
  const t0 = performance.now();
  await db.transaction(async () => {
    const full = `INSERT INTO blocked(number, action) VALUES ${Array(ROWS_PER_INSERT).fill("(?, 'reject')").join(', ')}`;
    for (let i = 0; i < N; i += ROWS_PER_INSERT) {
      const k = Math.min(ROWS_PER_INSERT, N - i);
      const params: string[] = [];
      for (let j = 0; j < k; j++) params.push(numbers(i + j));
      const sql =
        k === ROWS_PER_INSERT
          ? full
          : `INSERT INTO blocked(number, action) VALUES ${Array(k).fill("(?, 'reject')").join(', ')}`;
      await db.run(sql, params);
    }
  });
  return (performance.now() - t0) / 1000;
}

/**
 * The first sync, with calls at the realtime DID meanwhile. Rows go in key order (what the daemon's
 * `ORDER BY number` over its own index gives): E.164 (+…), then trunk-prefixed (1…), then national (2…).
 */
async function firstSync(): Promise<SyncFigures> {
  const rows: SippCall[] = [];
  for (let i = 0; i < 2000; i++) rows.push({ caller: i % 2 ? random(rnd(N)) : blocked(rnd(N)), did: DID.realtime });
  // The same stream with no writer first: what "the machine being busy" alone gives.
  const idle = await runSipp({
    scenario: SCENARIO,
    remote: SIP,
    bindIp: CARRIER_IP,
    calls: rows,
    count: SYNC_RATE * 6,
    rate: SYNC_RATE,
    timeoutSec: 30,
  });
  const idleRt = [...idle.responseTimes.samples].sort((a, b) => a - b);
  const calls = await startSipp({
    scenario: SCENARIO,
    remote: SIP,
    bindIp: CARRIER_IP,
    calls: rows,
    count: SYNC_RATE * 1200,
    rate: SYNC_RATE,
    timeoutSec: 1200,
  });
  const probe = probeReader();
  await sleep(2000); // calls and probe reads under way before the first row
  const db = await Database.open(RT_FILE);
  let e164S: number;
  let otherFormsS: number;
  let checkpointS: number;
  try {
    e164S = await writeRows(db, blocked);
    log(`  E.164 rows: ${N.toLocaleString('en-US')} in ${e164S.toFixed(2)} s`);
    otherFormsS = await writeRows(db, (i) => blocked(i).slice(1));
    otherFormsS += await writeRows(db, (i) => blocked(i).slice(2));
    log(`  trunk and national rows: ${(2 * N).toLocaleString('en-US')} in ${otherFormsS.toFixed(2)} s`);
    // Fold the WAL back into the file (the measured points then read the B-tree alone).
    const t0 = performance.now();
    await db.exec('PRAGMA wal_checkpoint(TRUNCATE);');
    checkpointS = (performance.now() - t0) / 1000;
  } finally {
    await db.close();
  }
  await sleep(1000);
  const probed = await probe.stop();
  const r = await calls.stop(10_000);
  const rt = [...r.responseTimes.samples].sort((a, b) => a - b);
  const count = Number(sqlite(RT_FILE, 'SELECT count(*) FROM blocked;').trim());
  if (count !== 3 * N) throw new Error(`the realtime table holds ${count} rows, expected ${3 * N}`);
  return {
    e164S,
    otherFormsS,
    rows: count,
    checkpointS,
    fileMb: statSync(RT_FILE).size / 2 ** 20,
    calls: r.successfulCalls + r.failedCalls,
    failed: r.failedCalls,
    maxMs: rt.length ? at(rt, rt.length - 1) : Number.NaN,
    p99Ms: pctl(rt, 0.99),
    idleMaxMs: idleRt.length ? at(idleRt, idleRt.length - 1) : Number.NaN,
    idleP99Ms: pctl(idleRt, 0.99),
    probe: probed,
  };
}

// ------------------------------------------------------------------------------------------ freshness

interface Freshness {
  rounds: number;
  right: number;
  /** Slowest commit → final response of the next call (ms; SIPp's own start included). */
  maxMs: number;
}

/** One call from `caller` to the realtime DID; its final code. */
async function oneCall(caller: string): Promise<number> {
  const r = await runSipp({
    scenario: SCENARIO,
    remote: SIP,
    bindIp: CARRIER_IP,
    calls: [{ caller, did: DID.realtime }],
    count: 1,
    rate: 1,
    timeoutSec: 15,
  });
  return r.codes[0] ?? 0;
}

/** A number inserted from outside is rejected by the next call; deleted, it is allowed by the next. */
async function freshness(rounds: number): Promise<Freshness> {
  const db = await Database.open(RT_FILE);
  let right = 0;
  let maxMs = 0;
  try {
    for (let k = 0; k < rounds; k++) {
      const caller = random(N + 1000 + k); // never among the listed
      await db.run("INSERT INTO blocked(number, action) VALUES (?, 'reject')", [caller]);
      let t0 = performance.now();
      const listed = await oneCall(caller);
      maxMs = Math.max(maxMs, performance.now() - t0);
      await db.run('DELETE FROM blocked WHERE number = ?', [caller]);
      t0 = performance.now();
      const unlisted = await oneCall(caller);
      maxMs = Math.max(maxMs, performance.now() - t0);
      if (listed === 603) right++;
      if (unlisted === 486) right++;
      log(`  freshness ${k + 1}/${rounds}: inserted → ${listed}, deleted → ${unlisted}`);
    }
  } finally {
    await db.close();
  }
  return { rounds: 2 * rounds, right, maxMs };
}

// ------------------------------------------------------------------------------------------ points

interface Point {
  variant: Variant;
  rate: number;
  calls: number;
  completed: number;
  failed: number;
  retrans: number;
  meanMs: number;
  p99Ms: number;
  rejected603: number;
  expected603: number;
  /** Asterisk's CPU (utime + stime) per 1000 calls, ms. */
  asteriskCpuMs: number;
}

async function point(variant: Variant, rate: number, calls: number): Promise<Point> {
  await settle();
  const rows: SippCall[] = [];
  let expected603 = 0;
  for (let i = 0; i < calls; i++) {
    const isBlocked = i % 2 === 0;
    if (isBlocked && SCREENING.has(variant)) expected603++;
    rows.push({ caller: isBlocked ? blocked(rnd(N)) : random(rnd(N)), did: DID[variant] });
  }
  const apid = asteriskPid();
  const a0 = cpuTicks(apid);
  const r: SippResult = await runSipp({
    scenario: SCENARIO,
    remote: SIP,
    bindIp: CARRIER_IP,
    calls: rows,
    count: calls,
    rate,
    timeoutSec: Math.ceil(calls / rate) + 15,
  });
  const a1 = cpuTicks(apid);
  const rt = [...r.responseTimes.samples].sort((a, b) => a - b);
  const p: Point = {
    variant,
    rate,
    calls,
    completed: r.successfulCalls,
    failed: r.failedCalls + Math.max(0, calls - r.successfulCalls - r.failedCalls),
    retrans: r.retransmissions,
    meanMs: rt.length ? rt.reduce((a, b) => a + b, 0) / rt.length : Number.NaN,
    p99Ms: pctl(rt, 0.99),
    rejected603: r.codeCounts[603] ?? 0,
    expected603,
    asteriskCpuMs: ((a1 - a0) * TICK_MS * 1000) / calls,
  };
  log(
    `  ${variant.padEnd(9)} ${String(rate).padStart(4)}/s ×${calls}: ok ${p.completed} failed ${p.failed} retrans ${p.retrans}` +
      ` mean ${p.meanMs.toFixed(2)} ms p99 ${p.p99Ms.toFixed(2)} ms 603s ${p.rejected603}/${expected603}` +
      ` asterisk cpu ${p.asteriskCpuMs.toFixed(0)} ms/1000`,
  );
  if (p.failed > 0 && r.errors) log(`    sipp errors: ${r.errors.slice(-400).replace(/\n/g, ' | ')}`);
  await sleep(1500); // let Asterisk tear the channels down before the next point
  return p;
}

// ------------------------------------------------------------------------------------------ report

function fmt(x: number, digits: number): string {
  return Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';
}
const ratio = (a: number, b: number): string =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—';

function report(
  results: Map<string, Point[]>,
  sync: SyncFigures,
  fresh: Freshness,
  load: [number, number],
  astdbS: number,
): string {
  const med = (v: Variant, rate: number, f: (p: Point) => number): number =>
    median((results.get(`${v}@${rate}`) ?? []).map(f));
  const lines = [
    '| figure | no screening | `BLACKLIST()` (AstDB) | `REALTIME_FIELD()` (SQLite file) | control: `REALTIME_FIELD()`, unmapped family (no SQLite) | realtime / `BLACKLIST()` | screening step only: (realtime − none) / (`BLACKLIST()` − none) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const rate of RATES) {
    /**
     * `diff`: compared as a difference with this unit ('' for counts) instead of a ratio — ratios of
     * sub-millisecond medians and of zeros say nothing.
     */
    const row = (name: string, f: (p: Point) => number, digits: number, step = false, diff?: string): void => {
      const [n, b, r, u] = VARIANTS.map((v) => med(v, rate, f)) as [number, number, number, number];
      const vs = diff !== undefined ? `${r - b >= 0 ? '+' : ''}${fmt(r - b, digits)}${diff}` : ratio(r, b);
      lines.push(
        `| ${rate}/s ${name} | ${fmt(n, digits)} | ${fmt(b, digits)} | ${fmt(r, digits)} | ${fmt(u, digits)} | ${vs} | ${step ? ratio(r - n, b - n) : ''} |`,
      );
    };
    /** A row of text cells: each variant's points in repetition order, unreduced. */
    const each = (name: string, f: (p: Point) => string, last = ''): void => {
      const cells = VARIANTS.map((v) => (results.get(`${v}@${rate}`) ?? []).map(f).join(', '));
      lines.push(`| ${rate}/s ${name} | ${cells.join(' | ')} | ${last} | |`);
    };
    row(`calls completed (of ${callsAt(rate).toLocaleString('en-US')})`, (p) => p.completed, 0);
    row('failed calls', (p) => p.failed, 0, false, '');
    row('retransmissions', (p) => p.retrans, 0, false, '');
    each('603 answers / expected, each repetition', (p) => `${p.rejected603}/${p.expected603}`);
    row('mean response (ms)', (p) => p.meanMs, 2, false, ' ms');
    row('p99 response (ms)', (p) => p.p99Ms, 2, false, ' ms');
    row('Asterisk CPU per 1000 calls (ms)', (p) => p.asteriskCpuMs, 0, true);
    const rt = results.get(`realtime@${rate}`) ?? [];
    const bl = results.get(`blacklist@${rate}`) ?? [];
    each(
      'Asterisk CPU per 1000 calls, each repetition (ms)',
      (p) => fmt(p.asteriskCpuMs, 0),
      rt.map((p, i) => ratio(p.asteriskCpuMs, bl[i]?.asteriskCpuMs ?? Number.NaN)).join(', '),
    );
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `Measured by \`scripts/bench-realtime-lookup.ts\`${QUICK ? ' **--quick (smoke run, not the full experiment)**' : ''} on ${new Date().toISOString().slice(0, 10)}:
${N.toLocaleString('en-US')} blocked numbers${N < 1_000_000 ? ' (fewer than the 1,000,000 of the issue)' : ''}, sandbox Asterisk 22, SIPp from 127.0.0.2 at ${RATES.join(' and ')} calls/s,
${RATES.map(callsAt).join('/')} calls a point, half of them from listed numbers, variants interleaved (rotated order),
${REPS} repetition(s), median. Shared ${cpus().length}-core machine (${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; 1-minute load ${load[0].toFixed(1)} before the points, ${load[1].toFixed(1)} after).
CPU: \`/proc/<pid>/stat\` utime+stime of Asterisk. Response: SIPp, INVITE → final response (SIPp's clock counts
in whole milliseconds, so a p99 moves in steps).
Control column: the same extension reading a realtime family that extconfig.conf does not map — what
\`REALTIME_FIELD()\` costs around the lookup (autoservice on and off, the realtime framework) without SQLite.

**First sync into the SQLite file** (daemon/store/database.ts: WAL, synchronous NORMAL; ${ROWS_PER_INSERT} rows per INSERT,
one transaction per form, rows in key order; Asterisk running and reading the file, ${SYNC_RATE} calls/s at the realtime DID meanwhile):

| what | seconds |
| --- | ---: |
| E.164 only: ${N.toLocaleString('en-US')} rows (BEGIN → COMMIT) | ${sync.e164S.toFixed(2)} |
| three forms: + ${(2 * N).toLocaleString('en-US')} trunk-prefixed and national rows (total) | ${(sync.e164S + sync.otherFormsS).toFixed(2)} |
| WAL checkpoint afterwards (readers are not blocked by it) | ${sync.checkpointS.toFixed(2)} |

File: ${sync.rows.toLocaleString('en-US')} rows, ${sync.fileMb.toFixed(0)} MB. Calls placed during the sync: ${sync.calls.toLocaleString('en-US')}, failed ${sync.failed},
response p99 ${fmt(sync.p99Ms, 1)} ms, slowest ${fmt(sync.maxMs, 1)} ms; the same stream for 6 s just before, with no writer: p99
${fmt(sync.idleP99Ms, 1)} ms, slowest ${fmt(sync.idleMaxMs, 1)} ms (a call's response
includes the CPU the writer takes from two shared cores). Lock waits, apart: a second reader in a process of its own (busy timeout 0, one
primary-key read a millisecond, from 2 s before the first row to 1 s after the checkpoint) made ${sync.probe.reads.toLocaleString('en-US')} reads: ${sync.probe.busy}
refused with SQLITE_BUSY (each would have been a wait for the writer's lock), ${sync.probe.other} failed otherwise, slowest ${fmt(sync.probe.maxMs, 1)} ms. For comparison, \`/blacklist\` keys written into astdb.sqlite3 with Asterisk stopped: ${astdbS.toFixed(1)} s.

**Freshness** (no cache in \`ast_load_realtime\`): ${fresh.right} of ${fresh.rounds} calls placed right after a change
(a number inserted, then deleted, by a second SQLite connection) got the new verdict (603, then 486); slowest commit →
final response ${fresh.maxMs.toFixed(0)} ms, SIPp's start-up included.

${lines.join('\n')}`;
}

function writeReport(text: string): void {
  const begin = `<!-- generated: ${SECTION} (begin) -->`;
  if (!existsSync(OUT) || !readFileSync(OUT, 'utf8').includes(begin)) {
    const old = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
    writeFileSync(
      OUT,
      `${old.trimEnd()}\n\n${HEADING}\n\n${begin}\n<!-- generated: ${SECTION} (end) -->\n`.trimStart(),
    );
  }
  writeSection(OUT, SECTION, text);
}

// ------------------------------------------------------------------------------------------ main

async function cleanup(): Promise<void> {
  try {
    if (await sandbox.isRunning()) await sandboxScript(['stop']);
    if (astdbLoaded && existsSync(ASTDB)) clearBlacklist();
    // The next `pbx-sandbox start` would drop them too (they are not templates); leave nothing behind now.
    if (extraInstalled)
      for (const f of EXTRA_CONF) rmSync(join(sandbox.SANDBOX_DIR, 'etc/asterisk', f), { force: true });
    removeRealtimeFile();
  } catch (err) {
    log(`cleanup: ${String(err)}`);
  }
  await sandbox.stop().catch(() => undefined);
  await sandbox.releaseLock();
  if (work) rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  work = mkdtempSync(join(tmpdir(), 'callscreen-bench-rt-'));
  log(
    `realtime lookup experiment${QUICK ? ' (--quick)' : ''}: ${N.toLocaleString('en-US')} numbers, ${REPS} repetition(s), ${RATES.join('/')} calls/s`,
  );
  log('waiting for the PBX sandbox lock');
  await sandbox.acquireLock(LOCK_WAIT_MS);
  log('lock taken');
  if (!existsSync(ASTDB)) await sandbox.start(); // the first boot creates astdb.sqlite3
  await sandboxScript(['stop']);
  const t0 = performance.now();
  astdbLoaded = true;
  loadBlacklist(work, N);
  const astdbS = (performance.now() - t0) / 1000;
  log(`AstDB: ${N.toLocaleString('en-US')} /blacklist keys in ${astdbS.toFixed(1)} s`);
  await createRealtimeTable();

  extraInstalled = true;
  await sandbox.start({ extraConfDir: writeExtraConf() });
  await addDialplan();
  const plan = await sandbox.rx('dialplan show callscreen-bench');
  for (const v of VARIANTS) if (!plan.includes(DID[v])) throw new Error(`no ${DID[v]} in the bench context:\n${plan}`);
  log(`Asterisk pid ${asteriskPid()}: realtime family ${RT_FAMILY} → ${RT_FILE_IN_ROOT}; first sync`);

  const sync = await firstSync();
  log(
    `first sync: E.164 ${sync.e164S.toFixed(2)} s, three forms ${(sync.e164S + sync.otherFormsS).toFixed(2)} s; ${sync.calls} calls meanwhile, p99 ${sync.p99Ms} ms, max ${sync.maxMs} ms, failed ${sync.failed}`,
  );
  await checkRealtime(blocked(N - 1), 'reject');
  await checkRealtime(blocked(0).slice(2), 'reject');

  const fresh = await freshness(3);
  if (fresh.right !== fresh.rounds) throw new Error(`freshness: ${fresh.right} of ${fresh.rounds} calls right`);

  // Warm-up and sanity: every variant gives the codes its dialplan promises.
  for (const v of VARIANTS) {
    const p = await point(v, 50, 100);
    if (p.failed > 0 || p.rejected603 !== p.expected603)
      throw new Error(`sanity run of ${v} wrong: ${JSON.stringify(p)}`);
  }

  const loadBefore = at(loadavg(), 0);
  const results = new Map<string, Point[]>();
  for (let rep = 0; rep < REPS; rep++) {
    for (const rate of RATES) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = at(VARIANTS, (k + rep) % VARIANTS.length);
        const key = `${v}@${rate}`;
        results.set(key, [...(results.get(key) ?? []), await point(v, rate, callsAt(rate))]);
      }
    }
    log(`repetition ${rep + 1}/${REPS} done`);
  }
  const text = report(results, sync, fresh, [loadBefore, at(loadavg(), 0)], astdbS);
  writeReport(text);
  process.stdout.write(`\n${text}\n\nwritten to ${OUT}\n`);
}

let cleaning: Promise<void> | null = null;
const once = (): Promise<void> => (cleaning ??= cleanup());
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    void once().finally(() => process.exit(130));
  });
}
main().then(
  () => once(),
  async (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    await once();
    process.exitCode = 1;
  },
);
