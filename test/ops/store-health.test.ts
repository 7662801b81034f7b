// The readiness probe of the database must leave the daemon's SQLite locks alone. It used to read
// the file's 16-byte header with open()/close() every 5 s; closing a descriptor drops every POSIX
// lock the process holds on the file, so the next other process to close a connection (the CLI, an
// admin's sqlite3) took itself for the last one, checkpointed and deleted the WAL, and from then on
// the daemon wrote into an unlinked WAL: no other process saw its call records, and it never saw a
// block added from the CLI. Found by scripts/bench-pbx.ts, whose sqlite3 reads saw no records.
// Real processes on a real file: Debian's sqlite3 shell (3.40, older than the module's SQLite, and the
// one that deletes the WAL of a process whose locks are gone) and the real callscreen CLI.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../../daemon/store/database.js';
import { StoreHealth } from '../../daemon/ops/store-health.js';
import { cliActor, startDaemon, tempDir } from '../support/harness.js';

const root = join(import.meta.dirname, '../..');
const CI = process.env['CI'] === 'true' || process.env['CI'] === '1';
// A real process must start (tsx compiles on a shared, busy machine): generous, never a verdict.
const START_LIMIT_MS = 120_000;

/** Installs the sqlite3 shell when it is missing (root or sudo); the reason it cannot be had, or null. */
function shellMissing(): string | null {
  try {
    execFileSync(join(root, 'scripts/install-test-deps.sh'), { stdio: 'pipe', timeout: 600_000 });
    execFileSync('sqlite3', ['-version'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    if (CI) throw err;
    return `the sqlite3 shell cannot be installed here (${String(err).split('\n')[0] ?? ''})`;
  }
}
const missing = shellMissing();

/** What an admin does on the live database: one statement in Debian's sqlite3 shell, which then exits. */
function shell(path: string, sql: string): string {
  return execFileSync('sqlite3', [path, sql], { encoding: 'utf8', timeout: START_LIMIT_MS }).trim();
}

t.test(
  'a readiness probe, then the sqlite3 shell: the daemon and the shell still see each other',
  { skip: missing ?? false },
  async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'cs.db');
    const db = await Database.open(path); // the daemon's connection (WAL)
    t.teardown(() => db.close());
    await db.exec('CREATE TABLE changes (seq INTEGER PRIMARY KEY, what TEXT)');
    await db.run('INSERT INTO changes (what) VALUES (?)', ['first']);
    const health = new StoreHealth(path);
    await health.remember();
    t.match(await health.check(), [{ name: 'database', ok: true }], 'the probe passes');
    t.equal(shell(path, 'SELECT count(*) FROM changes'), '1', 'the shell reads, then exits');
    t.ok(existsSync(`${path}-wal`), 'the WAL the daemon writes is still there after the shell closed');

    await db.run('INSERT INTO changes (what) VALUES (?)', ['second, by the daemon']);
    t.equal(shell(path, 'SELECT count(*) FROM changes'), '2', "the daemon's later write is seen by the shell");
    shell(path, "INSERT INTO changes (what) VALUES ('third, by the shell')");
    t.same(
      await db.all('SELECT what FROM changes ORDER BY seq'),
      [{ what: 'first' }, { what: 'second, by the daemon' }, { what: 'third, by the shell' }],
      "and the shell's write is seen by the daemon",
    );
    t.match(await health.check(), [{ name: 'database', ok: true }], 'and the probe still passes');
  },
);

t.test(
  'probed, then peeked at with the sqlite3 shell: a block added with the CLI still reaches the call path',
  { skip: missing ?? false },
  async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'cs.db');
    const { ctx } = await startDaemon(t, path);
    await ctx.orgs.add('demo', 'Demo', 'US', cliActor);
    await ctx.feed.poll();
    const health = new StoreHealth(path);
    await health.remember();
    const screen = async (from: string): Promise<string> =>
      (await ctx.screener.screen({ org: 'demo', channel: 'call', direction: 'inbound', from, to: '+12025550999' }))
        .action;
    const cli = (args: string[]): { status: number | null; stderr: string } => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'daemon/cli/bin.ts', ...args, '--db', path], {
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', USER: 'store-health-test' },
        timeout: START_LIMIT_MS,
      });
      return { status: r.status, stderr: r.stderr };
    };
    for (const [i, number] of ['+12025550101', '+12025550102'].entries()) {
      t.match(await health.check(), [{ name: 'database', ok: true }], `probe ${i + 1} passes`);
      t.match(shell(path, 'SELECT count(*) FROM orgs'), /^\d+$/, 'an admin peeks at the live database');
      const r = cli(['block', number, '--org', 'demo', '--mode', 'reject']);
      t.equal(r.status, 0, `callscreen block ${number} exits 0 ${r.stderr}`);
      await ctx.feed.poll();
      t.equal(await screen(number), 'reject', `${number}, blocked from the CLI, is rejected by the daemon`);
    }
  },
);
