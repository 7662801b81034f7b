// The real bin: `--version` prints package.json's version; plain `callscreen` (also with only
// global options) prints the help on stdout and exits 0; a group without its subcommand and an
// unknown command stay usage errors (64).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../support/harness.js';

const BIN = ['--import', 'tsx', 'daemon/cli/bin.ts'];

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  // Generous limit: a cold tsx start on the shared 2-core box can take several seconds.
  const r = spawnSync(process.execPath, [...BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', USER: 'bin-test' },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('--version and -V print the version from package.json', async (t) => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = cli([flag]);
    t.equal(r.status, 0, flag);
    t.equal(r.stdout, `${version}\n`, `${flag} prints ${version}`);
    t.equal(r.stderr, '');
  }
});

t.test('plain callscreen prints the help and exits 0, and opens no database', async (t) => {
  const db = join(tempDir(t), 'never.db');
  for (const args of [[], ['--db', db], [`--db=${db}`]]) {
    const r = cli(args);
    t.equal(r.status, 0, `callscreen ${args.join(' ')}`);
    t.match(r.stdout, /^Usage: callscreen \[options\] \[command\]/);
    t.match(r.stdout, /import \[options\] \[file\]/, 'lists the commands');
    t.equal(r.stderr, '');
  }
  const group = cli(['contact']);
  t.equal(group.status, 64, 'a group without its subcommand is a usage error');
  t.match(group.stderr, /Usage: callscreen contact/);
  const unknown = cli(['nope']);
  t.equal(unknown.status, 64);
  t.match(unknown.stderr, /^callscreen: CS_ERR_USAGE: unknown command 'nope'/);
});
