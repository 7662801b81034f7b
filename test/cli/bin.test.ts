// The real entry point as a child process: exit codes reach the shell, stdout/stderr are separate,
// and `daemon` starts and stops cleanly on SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../support/harness.js';

const BIN = ['--import', 'tsx', 'daemon/cli/bin.ts'];

function cli(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', USER: 'bin-test', ...env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('exit codes and output of the real bin', async (t) => {
  const db = join(tempDir(t), 'c.db');
  t.equal(cli(['--db', db, 'init']).status, 0, 'init creates the database');
  const add = cli(['--db', db, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US']);
  t.equal(add.status, 0, add.stderr);
  t.match(add.stdout, /added organisation acme/);
  const blk = cli(['--db', db, 'block', '5551234567', '--org', 'acme', '--mode', 'reject']);
  t.equal(blk.status, 0, blk.stderr);
  const chk = cli(['--db', db, 'check', '5551234567', '--org', 'acme', '--json']);
  t.equal(chk.status, 0);
  t.match(JSON.parse(chk.stdout), { action: 'reject', normalized: '+15551234567' });
  const bad = cli(['--db', db, 'block', 'nonsense', '--org', 'acme']);
  t.equal(bad.status, 65);
  t.match(bad.stderr, /^callscreen: CS_ERR_INVALID_NUMBER: /);
  t.equal(bad.stdout, '');
  t.equal(cli(['--db', db, 'list', '--org', 'nope']).status, 66);
  const usage = cli(['--db', db, 'nope']);
  t.equal(usage.status, 64);
  t.match(usage.stderr, /CS_ERR_USAGE/);
  t.equal(cli(['--help']).status, 0);
});

t.test('daemon runs until SIGTERM and exits 0', async (t) => {
  const dir = tempDir(t);
  const conf = join(dir, 'callscreen.toml');
  writeFileSync(
    conf,
    `[store]\npath = ${JSON.stringify(join(dir, 'd.db'))}\n[fastagi]\nenabled = false\n[admin]\nenabled = false\n[log]\nlevel = "info"\n`,
  );
  const child = spawn(process.execPath, [...BIN, '--config', conf, 'daemon', '--log-format', 'json'], {
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`daemon not ready: ${out}${err}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('callscreen ready')) {
        clearTimeout(timer);
        res();
      }
    });
  });
  const ready = out.split('\n').find((l) => l.includes('callscreen ready'));
  t.match(JSON.parse(ready ?? '{}'), { msg: 'callscreen ready', service: 'callscreen' }, 'JSON log lines on stdout');
  child.kill('SIGTERM');
  t.equal(await exited, 0, err);
  t.match(out, /callscreen stopped/);
});
