// Run SIPp (Debian package sip-tester, installed by scripts/pbx-sandbox start) with one of the
// scenarios in test/e2e/sipp/ and parse what it reports.
//
// Every scenario reads its per-call values from an injection file that this helper writes:
//   field0 = caller number (inbound, carrier MESSAGE) or agent endpoint (agent scenarios)
//   field1 = DID (inbound) or the dialled / destination number (agent scenarios)
//   field2 = message text (MESSAGE scenarios) or Expires (agent-register.xml)
// Scenarios log one line per call (`<log>` + -trace_logs) that starts with CALLSCREEN-
// followed by key=value pairs; those become `records`. SIPp's own statistics come from
// -trace_stat (counters), -trace_rtt with -rtt_freq 1 (every response time) and its exit code
// (0 all calls succeeded, 1 some failed, 97 stopped by command, 99 normal exit without calls,
// 255/254 fatal error).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCENARIO_DIR = fileURLToPath(new URL('../e2e/sipp/', import.meta.url));

export type ScenarioName =
  | 'inbound-call.xml'
  | 'inbound-call-withheld.xml'
  | 'inbound-call-withheld-pai.xml'
  | 'inbound-call-hostile-from.xml'
  | 'carrier-message.xml'
  | 'carrier-uas.xml'
  | 'carrier-message-uas.xml'
  | 'agent-call.xml'
  | 'agent-message.xml'
  | 'agent-register.xml'
  | 'agent-message-uas.xml';

/** One row of the injection file. */
export interface SippCall {
  /** field0: caller number, or the agent endpoint in agent scenarios. */
  caller?: string;
  /** field1: the DID called, or the number an agent dials / writes to. */
  did?: string;
  /** field2: message text, or Expires for agent-register.xml. No ";" or newline. */
  text?: string;
}

export interface SippOptions extends SippCall {
  /** A file name in test/e2e/sipp/ (a ScenarioName) or an absolute path. */
  scenario: string;
  /** host:port to send to; omit for a UAS scenario (SIPp then waits for requests). */
  remote?: string;
  /** Rows of the injection file, used in turn (and again from the top when calls outnumber them). */
  calls?: SippCall[];
  /** Local IP to bind (-i): 127.0.0.2 is the carrier, 127.0.0.11/12 are agents' phones. */
  bindIp?: string;
  /** Local port (-p). Omitted: SIPp takes 5060 on bindIp if free, else another one. */
  bindPort?: number;
  /** Calls to place before exiting (-m). Default: the number of rows, at least 1. */
  count?: number;
  /** New calls per rate period (-r); default 10. */
  rate?: number;
  /** Rate period in ms (-rp); default 1000. */
  ratePeriodMs?: number;
  /** Maximum simultaneous calls (-l). */
  maxConcurrent?: number;
  /** Give up after this many seconds, counting it as a failure (-timeout + -timeout_error). Default 30. */
  timeoutSec?: number;
  /** Digest credentials for agent scenarios (-au / -ap). */
  auth?: { user: string; password: string };
  /** Further SIPp arguments, appended as they are. */
  extraArgs?: string[];
  /** Keep the working directory (logs, CSVs) after the run; it is removed otherwise. */
  keepFiles?: boolean;
}

/** A CALLSCREEN-* line logged by a scenario, e.g. { kind: 'RESULT', call: '1', code: '603', ... }. */
export type SippRecord = { kind: string } & Record<string, string>;

export interface ResponseTimes {
  /** Every measured response time in ms, in the order SIPp wrote them. */
  samples: number[];
  count: number;
  meanMs: number;
  maxMs: number;
  p50Ms: number;
  p95Ms: number;
}

export interface SippResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  successfulCalls: number;
  failedCalls: number;
  totalCalls: number;
  retransmissions: number;
  /** Failed calls split by SIPp's reason counters (only those above zero). */
  failures: Record<string, number>;
  /** The CALLSCREEN-* lines, in the order calls finished. */
  records: SippRecord[];
  /** Final SIP codes of the RESULT records, in the order calls finished. */
  codes: number[];
  /** Count of each final SIP code. */
  codeCounts: Record<number, number>;
  responseTimes: ResponseTimes;
  /** Last row of the -trace_stat file, column name -> value. */
  stats: Record<string, string>;
  stdout: string;
  stderr: string;
  /** SIPp's error log (-trace_err), useful when a call failed. */
  errors: string;
  /**
   * Calls SIPp aborted on "an unexpected BYE": the PBX hung up an answered call at the very moment
   * the scenario gave up waiting and sent its own BYE (a race SIPp cannot express). Such a call had
   * its final response; it counts in failedCalls all the same.
   */
  unexpectedByes: number;
  workDir: string;
  args: string[];
}

export interface SippProcess {
  /** Resolves when SIPp exits by itself (count reached, timeout, error). */
  done: Promise<SippResult>;
  /** Ask SIPp to finish (SIGUSR1: stop placing calls, let the running ones end; SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<SippResult>;
  pid: number | undefined;
}

const FIELD_RE = /^[^;\n\r]*$/;

function csvRow(call: SippCall): string {
  const fields = [call.caller ?? '', call.did ?? '', call.text ?? ''];
  for (const f of fields) {
    if (!FIELD_RE.test(f)) throw new Error(`SIPp injection field may not hold ";" or a newline: ${JSON.stringify(f)}`);
  }
  return `${fields.join(';')};`;
}

function buildArgs(opts: SippOptions, scenarioFile: string, rows: number): string[] {
  const args: string[] = [];
  if (opts.remote !== undefined) args.push(opts.remote);
  args.push('-sf', scenarioFile, '-inf', 'calls.csv');
  if (opts.bindIp !== undefined) args.push('-i', opts.bindIp);
  if (opts.bindPort !== undefined) args.push('-p', String(opts.bindPort));
  args.push('-m', String(opts.count ?? Math.max(rows, 1)));
  args.push('-r', String(opts.rate ?? 10), '-rp', String(opts.ratePeriodMs ?? 1000));
  if (opts.maxConcurrent !== undefined) args.push('-l', String(opts.maxConcurrent));
  args.push('-timeout', `${opts.timeoutSec ?? 30}s`, '-timeout_error');
  if (opts.auth) args.push('-au', opts.auth.user, '-ap', opts.auth.password);
  args.push(
    '-nostdin',
    '-trace_logs',
    '-log_file',
    'calls.log',
    '-trace_stat',
    '-stf',
    'stat.csv',
    '-fd',
    '1',
    '-trace_rtt',
    '-rtt_freq',
    '1',
    '-trace_err',
    '-error_file',
    'errors.log',
  );
  args.push(...(opts.extraArgs ?? []));
  return args;
}

function parseRecords(log: string): SippRecord[] {
  const records: SippRecord[] = [];
  for (const line of log.split('\n')) {
    const m = /^CALLSCREEN-([A-Z]+)\s(.*)$/.exec(line.trim());
    if (!m) continue;
    const rec: SippRecord = { kind: m[1] ?? '' };
    // key=value pairs; a value runs up to the next " key=" (values may hold spaces).
    const body = m[2] ?? '';
    const keyRe = /(?:^|\s)([a-z_]+)=/g;
    const keys: Array<{ key: string; start: number; valueStart: number }> = [];
    for (let k = keyRe.exec(body); k; k = keyRe.exec(body)) {
      keys.push({ key: k[1] ?? '', start: k.index, valueStart: k.index + k[0].length });
      // Message text is logged last and may hold anything, " x=" included.
      if (k[1] === 'body') break;
    }
    keys.forEach((k, i) => {
      const end = keys[i + 1]?.start ?? body.length;
      rec[k.key] = body.slice(k.valueStart, end).trim();
    });
    records.push(rec);
  }
  return records;
}

function parseStats(csv: string): Record<string, string> {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.split(';') ?? [];
  const last = lines.length > 1 ? (lines[lines.length - 1]?.split(';') ?? []) : [];
  const stats: Record<string, string> = {};
  header.forEach((name, i) => {
    if (name !== '') stats[name] = last[i] ?? '';
  });
  return stats;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? 0;
}

function parseRtt(csv: string): ResponseTimes {
  const samples: number[] = [];
  for (const line of csv.split('\n')) {
    const [, ms] = line.split(';');
    if (ms === undefined || !/^[0-9.]+$/.test(ms.trim())) continue;
    samples.push(Number(ms));
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = samples.reduce((a, b) => a + b, 0);
  return {
    samples,
    count: samples.length,
    meanMs: samples.length ? sum / samples.length : 0,
    maxMs: sorted[sorted.length - 1] ?? 0,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
  };
}

const num = (stats: Record<string, string>, key: string): number => {
  const v = Number(stats[key] ?? '0');
  return Number.isFinite(v) ? v : 0;
};

async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

async function collect(
  workDir: string,
  args: string[],
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  stdout: string,
  stderr: string,
): Promise<SippResult> {
  const files = await readdir(workDir);
  const rttFile = files.find((f) => f.endsWith('_rtt.csv'));
  const [log, statCsv, rttCsv, errors] = await Promise.all([
    readIfExists(join(workDir, 'calls.log')),
    readIfExists(join(workDir, 'stat.csv')),
    rttFile ? readIfExists(join(workDir, rttFile)) : Promise.resolve(''),
    readIfExists(join(workDir, 'errors.log')),
  ]);
  const stats = parseStats(statCsv);
  const records = parseRecords(log);
  const codes = records
    .filter((r) => r.kind === 'RESULT' && r.code !== undefined && r.code !== '')
    .map((r) => Number(r.code));
  const codeCounts: Record<number, number> = {};
  for (const c of codes) codeCounts[c] = (codeCounts[c] ?? 0) + 1;
  const failures: Record<string, number> = {};
  for (const [key, value] of Object.entries(stats)) {
    const m = /^(Failed[A-Za-z]+)\(C\)$/.exec(key);
    if (m?.[1] && m[1] !== 'FailedCall' && Number(value) > 0) failures[m[1]] = Number(value);
  }
  return {
    exitCode,
    signal,
    successfulCalls: num(stats, 'SuccessfulCall(C)'),
    failedCalls: num(stats, 'FailedCall(C)'),
    totalCalls: num(stats, 'TotalCallCreated'),
    retransmissions: num(stats, 'Retransmissions(C)'),
    failures,
    records,
    codes,
    codeCounts,
    responseTimes: parseRtt(rttCsv),
    stats,
    stdout,
    stderr,
    errors,
    unexpectedByes: (errors.match(/Aborting call on an unexpected BYE/g) ?? []).length,
    workDir,
    args,
  };
}

/** Start SIPp in the background (for UAS scenarios, or to overlap with other traffic). */
export async function startSipp(opts: SippOptions): Promise<SippProcess> {
  const source = isAbsolute(opts.scenario) ? opts.scenario : join(SCENARIO_DIR, opts.scenario);
  // SIPp names its -trace_rtt file after the scenario and writes it to the working directory:
  // run in a private directory with a copy of the scenario so every file lands there.
  const workDir = await mkdtemp(join(tmpdir(), 'callscreen-sipp-'));
  const scenarioFile = basename(source);
  await copyFile(source, join(workDir, scenarioFile));
  const rows = opts.calls ?? [{ caller: opts.caller, did: opts.did, text: opts.text }];
  await writeFile(join(workDir, 'calls.csv'), `SEQUENTIAL\n${rows.map(csvRow).join('\n')}\n`);
  const args = buildArgs(opts, scenarioFile, opts.calls?.length ?? 1);

  const child = spawn('sipp', args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    // SIPp redraws its screen on stdout; keep only the tail.
    stdout = (stdout + d).slice(-20_000);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let result: Promise<SippResult> | undefined;
  const finish = (): Promise<SippResult> => {
    result ??= exited.then(async ({ code, signal }) => {
      const r = await collect(workDir, args, code, signal, stdout, stderr);
      if (!opts.keepFiles) await rm(workDir, { recursive: true, force: true });
      return r;
    });
    return result;
  };

  return {
    pid: child.pid,
    done: finish(),
    async stop(graceMs = 5000): Promise<SippResult> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGUSR1');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        try {
          return await finish();
        } finally {
          clearTimeout(timer);
        }
      }
      return finish();
    },
  };
}

/** Run SIPp to completion and return what it reported. */
export async function runSipp(opts: SippOptions): Promise<SippResult> {
  const proc = await startSipp(opts);
  return proc.done;
}

/** A short human-readable summary for test diagnostics. */
export function describeSipp(r: SippResult): string {
  return [
    `sipp ${r.args.join(' ')}`,
    `exit=${String(r.exitCode)}${r.signal ? ` signal=${r.signal}` : ''} ok=${r.successfulCalls} failed=${r.failedCalls}` +
      ` retrans=${r.retransmissions} codes=${JSON.stringify(r.codeCounts)}` +
      ` rtt mean=${r.responseTimes.meanMs.toFixed(1)}ms p95=${r.responseTimes.p95Ms}ms max=${r.responseTimes.maxMs}ms`,
    Object.keys(r.failures).length ? `failures=${JSON.stringify(r.failures)}` : '',
    r.errors ? `errors:\n${r.errors.slice(-2000)}` : '',
    r.stderr ? `stderr:\n${r.stderr.slice(-2000)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}
