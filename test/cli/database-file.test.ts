// Which commands may create a database (only `init`; the daemon's first start is in bin.test.ts),
// what a missing or mistyped --db does to every other command, and writes on a corrupt database.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Database } from '../../daemon/store/database.js';
import { tempDir } from '../support/harness.js';
import { runOn } from './cli-runner.js';

const run = (db: string, ...argv: string[]) => runOn(db, argv);

t.test('a missing --db is refused by every command but init, naming the path; nothing is created', async (t) => {
  const dir = tempDir(t);
  const typo = join(dir, 'calscreen.db');
  const csv = join(dir, 'in.csv');
  const commands: string[][] = [
    ['list', '--org', 'acme'],
    ['check', '5551234567', '--org', 'acme'],
    ['export', '--org', 'acme'],
    ['block', '5551234567', '--org', 'acme'],
    ['unblock', '5551234567', '--org', 'acme'],
    ['allow', '5551234567', '--org', 'acme'],
    ['org', 'add', 'acme', '--name', 'Acme', '--region', 'US'],
    ['org', 'list'],
    ['import', csv, '--org', 'acme'],
    ['audit', '--org', 'acme'],
    ['calls', '--org', 'acme'],
    ['quarantine', 'list', '--org', 'acme'],
    ['backup', join(dir, 'b.db')],
  ];
  for (const argv of commands) {
    const r = await run(typo, ...argv);
    t.equal(r.code, 66, `${argv.slice(0, 2).join(' ')}: exit 66`);
    t.match(
      r.err,
      /^callscreen: CS_ERR_DB_MISSING: database .*calscreen\.db does not exist/,
      `${String(argv[0])}: names the path`,
    );
    t.match(r.err, /callscreen init/, `${String(argv[0])}: says how to create one`);
    t.notOk(existsSync(typo), `${String(argv[0])}: no database created`);
  }
  t.same(readdirSync(dir), [], 'no file of any kind left behind');
});

t.test('init creates the database 0640 in a 0750 directory, atomically; a second init leaves it alone', async (t) => {
  const dir = join(tempDir(t), 'var');
  const db = join(dir, 'callscreen.db');
  const first = await run(db, 'init', '--json');
  t.equal(first.code, 0, first.err);
  t.match(JSON.parse(first.out), { db, created: true });
  t.equal(statSync(db).mode & 0o777, 0o640);
  t.equal(statSync(dir).mode & 0o777, 0o750);
  t.same(readdirSync(dir), ['callscreen.db'], 'no temporary, -wal or -shm file left');
  t.equal((await run(db, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US')).code, 0);
  const again = await run(db, 'init');
  t.equal(again.code, 0, again.err);
  t.match(again.out, /already exists/);
  t.match(JSON.parse((await run(db, 'org', 'list', '--json')).out), [{ slug: 'acme' }], 'data kept');
});

/** Overwrites one page of the file with bytes SQLite cannot read as a b-tree page. */
function smashPage(file: string, page: number, pageSize: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

t.test('writes on a corrupt database fail with CS_ERR_DB_CORRUPT naming the file and restore', async (t) => {
  const dir = tempDir(t);

  // A damaged header: SQLite says SQLITE_NOTADB.
  const header = join(dir, 'header.db');
  t.equal((await run(header, 'init')).code, 0);
  t.equal((await run(header, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US')).code, 0);
  smashPage(header, 1, 100);
  const h = await run(header, 'block', '5551234567', '--org', 'acme');
  t.equal(h.code, 74);
  t.match(
    h.err,
    new RegExp(
      `^callscreen: CS_ERR_DB_CORRUPT: ${header.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt .*callscreen restore`,
    ),
  );

  // A damaged page of the entries table: SQLite says SQLITE_CORRUPT when the write reaches it.
  const page = join(dir, 'page.db');
  t.equal((await run(page, 'init')).code, 0);
  t.equal((await run(page, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US')).code, 0);
  t.equal((await run(page, 'block', '5551230000', '--org', 'acme')).code, 0);
  const d = await Database.open(page, { create: false });
  const root = (await d.get<{ rootpage: number }>("SELECT rootpage FROM sqlite_master WHERE name = 'entries_active'"))!
    .rootpage;
  const pageSize = (await d.get<{ page_size: number }>('PRAGMA page_size'))!.page_size;
  await d.close(); // the last connection: the WAL is folded into the file first
  smashPage(page, root, pageSize);
  const p = await run(page, 'block', '5551234567', '--org', 'acme');
  t.equal(p.code, 74, p.err);
  t.match(p.err, /^callscreen: CS_ERR_DB_CORRUPT: .*page\.db is corrupt .*callscreen restore/);
  t.notMatch(p.out, /blocked/, 'block did not report success');
});

t.test(
  'through the real bin: a mistyped --db exits 66, a corrupt database 74, and neither creates a file',
  async (t) => {
    const dir = tempDir(t);
    const bin = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'daemon/cli/bin.ts', ...args], {
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', USER: 'tester' },
        timeout: 120_000, // a real process on a busy machine: generous
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const typo = join(dir, 'callscren.db');
    const missing = bin(['--db', typo, 'org', 'list']);
    t.equal(missing.status, 66);
    t.equal(missing.stdout, '');
    t.match(missing.stderr, /^callscreen: CS_ERR_DB_MISSING: database .*callscren\.db does not exist/);
    t.notOk(existsSync(typo));
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'SQLite format 2\0 not really'.padEnd(4096, '.'));
    const corrupt = bin(['--db', junk, 'block', '5551234567', '--org', 'acme']);
    t.equal(corrupt.status, 74);
    t.match(corrupt.stderr, /^callscreen: CS_ERR_DB_CORRUPT: .*junk\.db is corrupt .*callscreen restore/);
    t.same(readdirSync(dir), ['junk.db'], 'no -wal, -shm or -journal left by the refused write');
  },
);
