/**
 * `npm run bench:agi`: the daemon's own cost per FastAGI call, without Asterisk or SIPp.
 *
 * The PBX benchmark (bench-pbx.ts) measures what a call costs end to end, but on a 2-core machine
 * Asterisk, SIPp and the daemon share the CPU, so the daemon's part is hard to see. Here a client in
 * this process plays Asterisk on loopback: one TCP connection per call, the AGI environment Asterisk
 * 22 sends for `AGI(agi://…/call-inbound)` (25 lines), `200 result=1` to every command, then waits for
 * the daemon to close. The daemon runs in its own process (scripts/bench-pbx-daemon.ts) so that its
 * CPU time can be read from /proc/<pid>/stat.
 *
 * Printed per rate: calls answered, daemon CPU per 1,000 calls (ms), client-side latency p50/p99
 * (connect → daemon closed, ms), commands per call. Half the callers are blocked numbers.
 *
 * Next to the daemon, interleaved at every rate, runs a *floor*: a bare Node TCP server that reads
 * the environment, writes as many `SET VARIABLE`s as the daemon will (two for a listed caller, one
 * otherwise: the same round trips) and closes — no parsing, no screening, no records. Its CPU per call
 * is what any Node FastAGI server pays for accept, the reads, the writes and a close on this machine;
 * the ratio daemon / floor is the daemon's own overhead, and holds up better than absolute figures on
 * a noisy shared machine. Flood detection is off for the bench org, as in bench-pbx.ts: hundreds of
 * calls a second from +1200… is a neighbours flood, whose holds would turn every call into a reject.
 *
 *   BENCH_N      blocked numbers loaded (default 100,000; the lookup cost hardly depends on it)
 *   BENCH_RATES  calls/s points (default 500,1000,2000)
 *   BENCH_SECS   seconds per point (default 5)
 *   BENCH_WARMUP_SECS  seconds of calls at the first rate before the points, daemon and floor (default
 *                      10; before issue #20's second profile: 5 s at 200/s)
 *   BENCH_PROF_KEEP    with --cpu-prof: copy the daemon's .cpuprofile to this path too
 *   BENCH_DAEMON_ROOT  run scripts/bench-pbx-daemon.ts of another checkout (an A/B of two trees in one
 *                      session; default this one)
 *   --cpu-prof   profile the daemon and print its top functions by self time
 *   --log-info   run the daemon at log level info (one line per call) instead of warn
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { openServices } from '../daemon/main.js';
import { blocked, importBenchList, random } from './bench-list.js';
import { profileTable } from './cpu-profile.js';
import { must } from './checked.js';

const argv = process.argv.slice(2);
const PROFILE = argv.includes('--cpu-prof');
const LOG_INFO = argv.includes('--log-info');
const N = Number(process.env.BENCH_N ?? 100_000);
const RATES = (process.env.BENCH_RATES ?? '500,1000,2000').split(',').map(Number);
const SECS = Number(process.env.BENCH_SECS ?? 5);
const WARMUP_SECS = Number(process.env.BENCH_WARMUP_SECS ?? 10);
const KEEP_PROFILE = process.env.BENCH_PROF_KEEP;
const DAEMON_ROOT = process.env.BENCH_DAEMON_ROOT;
const PORT = 4598;
const FLOOR_PORT = 4597;
/**
 * The floor server (see the header), run as `node -e`. A listed caller here is +1 and 2,000,000,000 +
 * a multiple of 7 (blocked() below): it gets two commands, as the daemon gives it DETAIL and ACTION.
 */
const FLOOR_SERVER = `
const net = require('node:net');
net.createServer({ noDelay: true }, (s) => {
  let buf = ''; let env = true; let left = 0;
  s.setEncoding('latin1');
  s.on('error', () => {});
  s.on('data', (d) => {
    buf += d;
    if (env) {
      if (!buf.includes('\\n\\n')) return;
      const m = /agi_callerid: [+]1(\\d+)/.exec(buf);
      left = m && (Number(m[1]) - 2000000000) % 7 === 0 ? 2 : 1;
      env = false; buf = '';
      s.write(left === 2 ? 'SET VARIABLE CALLSCREEN_DETAIL "603|exact:1|"\\n' : 'SET VARIABLE CALLSCREEN_ACTION "allow"\\n');
    } else if (buf.includes('\\n')) {
      buf = '';
      if (--left > 0) s.write('SET VARIABLE CALLSCREEN_ACTION "reject"\\n');
      else s.end();
    }
  });
}).listen({ port: ${FLOOR_PORT}, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write('ready\\n'));
`;
const DID = '+15559200000';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What Asterisk 22 sends for one FastAGI call (res_agi.c setup_env), with our script and caller. */
function environment(seq: number, caller: string): string {
  const uid = `1700000000.${seq}`;
  return [
    'agi_network: yes',
    'agi_network_script: call-inbound',
    `agi_request: agi://127.0.0.1:${PORT}/call-inbound`,
    `agi_channel: PJSIP/carrier-${seq.toString(16).padStart(8, '0')}`,
    'agi_language: en',
    'agi_type: PJSIP',
    `agi_uniqueid: ${uid}`,
    'agi_version: 22.5.2',
    `agi_callerid: ${caller}`,
    'agi_calleridname: unknown',
    'agi_callingpres: 0',
    'agi_callingani2: 0',
    'agi_callington: 0',
    'agi_callingtns: 0',
    `agi_dnid: ${DID}`,
    'agi_rdnis: unknown',
    'agi_context: callscreen-bench',
    `agi_extension: ${DID}`,
    'agi_priority: 2',
    'agi_enhanced: 0.0',
    'agi_accountcode: ',
    `agi_threadid: ${140000000000000 + seq}`,
    '',
    '',
  ].join('\n');
}

/** One call as Asterisk makes it; resolves with connect→close time (ms) and commands seen. */
function call(port: number, seq: number, caller: string): Promise<{ ms: number; commands: number; ok: boolean }> {
  return new Promise((res) => {
    const t0 = performance.now();
    let commands = 0;
    let tail = '';
    const sock = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => sock.write(environment(seq, caller)));
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      tail += d;
      let nl: number;
      while ((nl = tail.indexOf('\n')) >= 0) {
        tail = tail.slice(nl + 1);
        commands++;
        sock.write('200 result=1\n');
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', (hadError) => res({ ms: performance.now() - t0, commands, ok: !hadError && commands > 0 }));
  });
}

/** CPU ms of a process (`/proc/<pid>/stat`) or of one of its threads (`/proc/<pid>/task/<tid>/stat`). */
function cpuMs(pid: number, tid?: number): number {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
  const fields = must(readFileSync(path, 'utf8').split(') ')[1], `the fields of ${path}`).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const pctl = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;

interface PointResult {
  answered: number;
  total: number;
  donePerS: number;
  cpuPer1000: number;
  /** Of cpuPer1000, what the other threads used (libuv's pool: SQLite, file writes; V8's GC helpers). */
  offMainPer1000: number;
  p50: number;
  p99: number;
  commands: number;
}

async function point(pid: number, port: number, rate: number, seq0: number, secs = SECS): Promise<PointResult> {
  const total = rate * secs;
  const results: Array<Promise<{ ms: number; commands: number; ok: boolean }>> = [];
  const cpu0 = cpuMs(pid);
  const main0 = cpuMs(pid, pid);
  const t0 = performance.now();
  // Open loop: calls start on schedule whether or not earlier ones are done, as calls arrive at a PBX.
  await new Promise<void>((done) => {
    let sent = 0;
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; sent < due; sent++) {
        const i = seq0 + sent;
        results.push(call(port, i, i % 2 === 0 ? blocked(i % N) : random(i)));
      }
      if (sent >= total) {
        clearInterval(tick);
        done();
      }
    }, 2);
  });
  const rs = await Promise.all(results);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = cpuMs(pid) - cpu0;
  const offMain = cpu - (cpuMs(pid, pid) - main0);
  const ok = rs.filter((r) => r.ok);
  const ms = ok.map((r) => r.ms).sort((a, b) => a - b);
  const cmds = ok.reduce((s, r) => s + r.commands, 0) / Math.max(1, ok.length);
  return {
    answered: ok.length,
    total,
    donePerS: total / wallS,
    cpuPer1000: (cpu / total) * 1000,
    offMainPer1000: (offMain / total) * 1000,
    p50: pctl(ms, 0.5),
    p99: pctl(ms, 0.99),
    commands: cmds,
  };
}

/** Starts a Node child that prints "ready" on stdout when it listens. */
async function spawnReady(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    const onExit = (code: number | null): void =>
      rej(new Error(`${String(args.at(-1))} exited ${String(code)} before ready`));
    child.once('exit', onExit);
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        child.off('exit', onExit);
        res();
      }
    });
  });
  child.stdout.resume();
  return child;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'callscreen-bench-agi-'));
  const dbPath = join(work, 'bench.db');
  let daemon: ChildProcess | null = null;
  let floor: ChildProcess | null = null;
  const table: string[] = [];
  try {
    const config = new ConfigLoader().fromText(
      `[store]\npath = ${JSON.stringify(dbPath)}\n[log]\nlevel = "silent"\n`,
      'bench.toml',
    );
    const s = await openServices(config, pino({ level: 'silent' }));
    await importBenchList(s, work, { n: N, dids: [DID], floodOff: true });
    await s.close();
    const configPath = join(work, 'callscreen.toml');
    writeFileSync(
      configPath,
      [
        '[store]',
        `path = ${JSON.stringify(dbPath)}`,
        '[log]',
        `level = "${LOG_INFO ? 'info' : 'warn'}"`,
        '[fastagi]',
        'enabled = true',
        `listen = "127.0.0.1:${PORT}"`,
        '[admin]',
        'enabled = false',
        '[ami]',
        'enabled = false',
      ].join('\n') + '\n',
    );
    const args = ['--import', 'tsx'];
    if (PROFILE) args.push('--cpu-prof', '--cpu-prof-dir', join(work, 'prof'));
    args.push(join(DAEMON_ROOT ?? root, 'scripts', 'bench-pbx-daemon.ts'), configPath);
    const child = await spawnReady(args);
    daemon = child;
    floor = await spawnReady(['-e', FLOOR_SERVER]);
    const pid = must(child.pid, "the daemon's pid");
    // Warm-up: JIT, caches. A daemon answers calls for days; a short warm-up left its optimising
    // compiles (V8's background threads) and first reads in the first point: three 500/s points in a
    // row measured 388, 332, 280 ms per 1,000 calls after 1,000 calls at 200/s (BENCHMARKS.md, #20).
    const floorPid = must(floor.pid, "the floor server's pid");
    const warmRate = RATES[0] ?? 500;
    await point(pid, PORT, warmRate, 0, WARMUP_SECS);
    await point(floorPid, FLOOR_PORT, warmRate, 0, WARMUP_SECS);
    table.push(
      `FastAGI without Asterisk: ${N.toLocaleString('en-US')} blocked numbers, ${SECS} s per point after ${WARMUP_SECS} s of warm-up at ${RATES[0] ?? 500}/s, daemon log level ${LOG_INFO ? 'info' : 'warn'}; floor = bare Node TCP server, same exchange`,
    );
    table.push('');
    table.push(
      '| calls/s asked | server | answered | calls/s done | CPU ms / 1000 calls | of which off the main thread | p50 ms | p99 ms | commands/call |',
    );
    table.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const row = (rate: number, who: string, r: PointResult): string =>
      `| ${rate} | ${who} | ${r.answered}/${r.total} | ${r.donePerS.toFixed(0)} | ${r.cpuPer1000.toFixed(0)} | ${r.offMainPer1000.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.commands.toFixed(2)} |`;
    let seq = 1_000_000;
    for (const rate of RATES) {
      const f = await point(floorPid, FLOOR_PORT, rate, seq);
      const d = await point(pid, PORT, rate, seq);
      seq += rate * SECS;
      table.push(row(rate, 'floor', f), row(rate, 'callscreen', d));
      table.push(
        `| | ratio | | | **${(d.cpuPer1000 / f.cpuPer1000).toFixed(2)}×** | | ${(d.p50 / f.p50).toFixed(2)}× | ${(d.p99 / f.p99).toFixed(2)}× | |`,
      );
    }
    floor.kill('SIGTERM');
    floor = null;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    daemon = null;
    if (PROFILE && KEEP_PROFILE !== undefined) {
      const file = readdirSync(join(work, 'prof')).find((f) => f.endsWith('.cpuprofile'));
      if (file) copyFileSync(join(work, 'prof', file), KEEP_PROFILE);
    }
    if (PROFILE)
      table.push(
        '',
        'daemon CPU profile, self time (whole run):',
        '',
        profileTable(join(work, 'prof'), 30) || '(no profile written)',
      );
    // The table on stdout (bench-pbx.ts reads it into BENCHMARKS.md); progress went to stderr.
    process.stdout.write(table.join('\n') + '\n');
  } finally {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    if (floor && floor.exitCode === null) floor.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
