import { join } from 'node:path';
import t from 'tap';
import { Database } from '../../daemon/store/database.js';
import { tempDir } from '../support/harness.js';

// The daemon's pollers compile a statement on first use (the change feed's `PRAGMA data_version`,
// the screening index's batched reads). A stop that closes the database while such a prepare is
// still in the sqlite3 pool used to leave it unfinalized: SQLite refused to close (SQLITE_BUSY,
// "unable to close due to unfinalized statements") and the daemon's stop failed.
t.test('close() while prepares are still in the pool: every statement is finalized and the file closes', async (t) => {
  const path = join(tempDir(t), 'prep.db');
  const db = await Database.open(path);
  await db.exec('CREATE TABLE n (k TEXT)');
  // Not awaited: close() is called in the same tick, before any prepare's callback has run.
  const prepared = [db.prepare('PRAGMA data_version'), db.prepare('SELECT k FROM n WHERE k = ?')];
  const outcomes = Promise.allSettled(prepared);
  await t.resolves(db.close(), 'the database closes');
  // The prepares themselves may succeed or fail (closed under them); neither hangs.
  t.equal((await outcomes).length, 2);
  const again = await Database.open(path);
  t.same(await again.all('SELECT k FROM n'), [], 'the file is whole and opens again');
  await again.close();
});

t.test('prepare() after close() fails at once with CS_ERR_UNAVAILABLE, naming the statement', async (t) => {
  const db = await Database.open(join(tempDir(t), 'closed.db'));
  await db.close();
  await t.rejects(db.prepare('PRAGMA data_version'), {
    code: 'CS_ERR_UNAVAILABLE',
    message: /closed.*PRAGMA data_version/,
  });
});
