// Database (daemon/store/database.ts): compiled statements and close(). A statement SQLite was still
// compiling when close() began (the screening index's background read, gathered for 25 ms, racing
// a daemon's stop) used to be added after the finalizing: SQLite then refused to close
// (SQLITE_BUSY, "unable to close due to unfinalized statements"), Daemon.stop threw, and a test's
// teardown that stopped there left its fake servers listening — the process never ended (a CI run
// held until tap's 600 s timeout). Ordering only: no timing decides these tests.
import t from 'tap';
import { join } from 'node:path';
import { Database } from '../../daemon/store/database.js';
import { tempDir } from '../support/harness.js';

t.test('a prepare still compiling when close() is called: finalized, and the database closes', async (t) => {
  const db = await Database.open(join(tempDir(t), 'a.db'));
  // Both are sent before either is answered: SQLite compiles the first while close() waits.
  const compiling = db.prepare('SELECT 1 AS x');
  const closing = db.close();
  await t.rejects(compiling, { code: 'CS_ERR_UNAVAILABLE' }, 'the statement is not handed out on a closing database');
  await t.resolves(closing, 'closed: no statement left unfinalized (was CS_ERR_DB_BUSY)');
});

t.test('statements compiled before close() are finalized by it; prepare() after it rejects at once', async (t) => {
  const path = join(tempDir(t), 'b.db');
  const db = await Database.open(path);
  const stmt = await db.prepare('SELECT ? AS x');
  t.same(await stmt.all([7]), [{ x: 7 }]);
  await db.close();
  await t.rejects(db.prepare('SELECT 1'), { code: 'CS_ERR_UNAVAILABLE', message: new RegExp(`${path} is closed`) });
  await t.rejects(stmt.all([8]), 'a finalized statement runs no more');
  await t.resolves(db.close(), 'a second close is a no-op');
});

t.test('many prepares in flight at close(): every one settles and the database closes', async (t) => {
  const db = await Database.open(join(tempDir(t), 'c.db'));
  const prepares = Array.from({ length: 20 }, (_, i) => db.prepare(`SELECT ${i} AS x`));
  const closing = db.close();
  const settled = await Promise.allSettled(prepares);
  t.ok(
    settled.every((s) => s.status === 'rejected'),
    'none handed out: each was still compiling when close() began',
  );
  await t.resolves(closing);
});
