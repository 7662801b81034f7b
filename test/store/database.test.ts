// Database (daemon/store/database.ts): compiled statements and close(). A statement SQLite was still
// compiling when close() began (the screening index's background read, gathered for 25 ms, racing
// a daemon's stop) used to be added after the finalizing: SQLite then refused to close
// (SQLITE_BUSY, "unable to close due to unfinalized statements"), Daemon.stop threw, and a test's
// teardown that stopped there left its fake servers listening — the process never ended (a CI run
// held until tap's 600 s timeout). Ordering only: no timing decides these tests.
import t from 'tap';
import { join } from 'node:path';
import { Database, type PreparedStatement } from '../../daemon/store/database.js';
import { ScreeningIndex, WARM_BATCH_MS } from '../../daemon/store/screening-index.js';
import { cliActor, services, tempDir } from '../support/harness.js';
import { ManualClock } from '../support/manual-clock.js';
import { must } from '../support/must.js';

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

t.test(
  'the path it was seen on: the screening index sends its gathered read as the daemon closes the file',
  async (t) => {
    const s = await services(t);
    await s.orgs.add('demo', 'Demo', 'US', cliActor);
    await s.blocklist.block(
      'demo',
      { kind: 'exact', number: '+15557770001' },
      { mode: 'reject', name: 'Spam Inc' },
      cliActor,
    );
    let sent: () => void = () => undefined;
    const batchSent = new Promise<void>((resolve) => (sent = resolve));
    const prepare = s.db.prepare.bind(s.db);
    s.db.prepare = (sql: string): Promise<PreparedStatement> => {
      const compiling = prepare(sql);
      if (sql.includes('warm_number')) sent();
      return compiling;
    };
    const timers = new ManualClock(Date.UTC(2026, 10, 1));
    const index = new ScreeningIndex(s.db, { timers });
    await index.loadAll();
    const state = must(index.org('demo'), 'org demo');
    index.lookupSync(state, { kind: 'number', value: '+15557770001' }, null, true);
    timers.advance(WARM_BATCH_MS); // the window closes: the gathered read is sent
    await batchSent;
    const closing = s.db.close(); // the daemon's stop reaching reader.close() meanwhile
    await index.settled();
    await t.resolves(closing, 'the file closes (was CS_ERR_DB_BUSY: unfinalized statements)');
    t.equal(index.stats().warmFailures, 1, 'the read counts as failed, nothing else');
  },
);
