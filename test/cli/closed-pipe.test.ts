// Output to a reader that went away (`callscreen list | head -1`) ends quietly with exit 0, through
// the real bin: no EPIPE stack trace. And output that cannot be written (a full disk) is a failure.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../support/harness.js';

const BIN = ['--import', 'tsx', 'daemon/cli/bin.ts'];
const ENV = { PATH: process.env['PATH'] ?? '', USER: 'pipe-test' };
// A real process must start (tsx compiles on a shared, busy machine): generous, never a verdict.
const START_LIMIT_MS = 120_000;

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...BIN, ...args], {
    encoding: 'utf8',
    env: ENV,
    timeout: START_LIMIT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the bin with its stdout's read end closed before it writes a byte: every write is EPIPE. */
function closedPipe(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [...BIN, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), START_LIMIT_MS);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stderr });
    }),
  );
}

t.test('list, export, check and config check into a closed pipe: exit 0, nothing on stderr', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'c.db');
  t.equal(cli(['--db', db, 'init']).status, 0);
  t.equal(cli(['--db', db, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US']).status, 0);
  // 20,000 rows: ~1.4 MB of CSV, far more than a pipe's buffer (64 KiB), so `head -1` below
  // certainly closes the pipe while export is still writing.
  const csv = join(dir, 'in.csv');
  const rows = ['number,mode,name'];
  for (let i = 0; i < 20_000; i++) rows.push(`+1555${String(i).padStart(7, '0')},reject,robo ${i}`);
  writeFileSync(csv, rows.join('\n') + '\n');
  const imp = cli(['--db', db, 'import', csv, '--org', 'acme']);
  t.equal(imp.status, 0, imp.stderr);

  for (const args of [
    ['list', '--org', 'acme', '--limit', '5000'],
    ['list', '--org', 'acme', '--json'],
    ['export', '--org', 'acme'],
    ['export', '--org', 'acme', '--format', 'json'],
    ['check', '+15550000001', '--org', 'acme'],
    ['check', '+15550000001', '--org', 'acme', '--json'],
    ['config', 'check'],
  ]) {
    const r = await closedPipe(['--db', db, ...args]);
    t.equal(r.code, 0, `${args.join(' ')}: exit 0`);
    t.equal(r.signal, null, `${String(args[0])}: not killed by a signal`);
    t.equal(r.stderr, '', `${String(args[0])}: nothing on stderr (no EPIPE stack trace)`);
  }

  // The shell pipeline users type: the reader leaves after one line, export is still writing.
  const piped = spawnSync(
    'bash',
    [
      '-c',
      `set -o pipefail; "${process.execPath}" ${BIN.join(' ')} --db "${db}" export --org acme 2>"${dir}/err" | head -1; echo "status=$?"; cat "${dir}/err"`,
    ],
    { encoding: 'utf8', env: ENV, timeout: START_LIMIT_MS },
  );
  t.match(
    piped.stdout,
    /^number,kind,list,mode,name,reason,expires,blocked_by,blocked_at,dids,observe,disabled,attested\nstatus=0\n$/,
    'export | head -1: one line, status 0, nothing on stderr',
  );
});

t.test('an export that cannot be written (a full disk) fails: exit non-zero, says why', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'c.db');
  t.equal(cli(['--db', db, 'init']).status, 0);
  t.equal(cli(['--db', db, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US']).status, 0);
  t.equal(cli(['--db', db, 'block', '5551234567', '--org', 'acme']).status, 0);
  const full = spawnSync(
    'sh',
    ['-c', `"${process.execPath}" ${BIN.join(' ')} --db "${db}" export --org acme >/dev/full`],
    { encoding: 'utf8', env: ENV, timeout: START_LIMIT_MS },
  );
  t.equal(full.status, 74, 'exit 74 (CS_ERR_OUTPUT), not 0');
  t.match(full.stderr, /^callscreen: CS_ERR_OUTPUT: cannot write the output: ENOSPC/);
  t.notMatch(full.stderr, /\n {4}at /, 'no stack trace');
  const small = spawnSync('sh', ['-c', `"${process.execPath}" ${BIN.join(' ')} config check >/dev/full`], {
    encoding: 'utf8',
    env: ENV,
    timeout: START_LIMIT_MS,
  });
  t.equal(small.status, 74, 'a short output that cannot be written: 74 too');
  t.match(small.stderr, /^callscreen: CS_ERR_OUTPUT: .*ENOSPC/);
});
