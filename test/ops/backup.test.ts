import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliActor, services, startDaemon, tempDir } from '../support/harness.js';
import { backupDatabase, inspectDatabase, restoreDatabase } from '../../daemon/ops/backup.js';
import { Database } from '../../daemon/store/database.js';

const count = async (path: string, table: string): Promise<number> => {
  const db = await Database.open(path, { readOnly: true, create: false });
  try {
    return (await db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))?.n ?? -1;
  } finally {
    await db.close();
  }
};

t.test('backup taken during writes is consistent and restores intact', async (t) => {
  const s = await services(t);
  const dir = tempDir(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  for (let i = 0; i < 200; i++) await s.blocklist.block('demo', { kind: 'exact', number: `+1202555${String(1000 + i)}` }, { mode: 'reject' }, cliActor);
  let writing = true;
  let written = 200;
  const writer = (async () => {
    for (let i = 200; writing && i < 5000; i++) {
      await s.blocklist.block('demo', { kind: 'exact', number: `+1202555${String(1000 + i)}` }, { mode: 'reject' }, cliActor);
      written++;
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  const file = join(dir, 'snap.db');
  const facts = await backupDatabase(s.dbPath, file);
  const atBackup = written;
  await new Promise((r) => setTimeout(r, 50));
  writing = false;
  await writer;
  t.ok(facts.entries >= 200 && facts.entries <= atBackup + 1, `backup holds ${facts.entries} entries, taken while ${atBackup} were written`);
  t.ok(written > facts.entries, `writes went on (${written} in the end)`);
  const inspected = await inspectDatabase(file);
  t.equal(inspected.entries, facts.entries, 'quick_check ok and counts match');
  // Each block writes its entry and a change row in one transaction: equal counts mean no torn write.
  t.equal(await count(file, 'changes') >= facts.entries, true, 'change log consistent with entries');
  await t.rejects(backupDatabase(s.dbPath, file), { code: 'CS_ERR_USAGE' }, 'never overwrites without --force');

  await t.rejects(restoreDatabase(file, s.dbPath), { code: 'CS_ERR_DB_BUSY' }, 'refuses while the database is open elsewhere');
  await s.close();
  const r = await restoreDatabase(file, s.dbPath);
  t.equal(r.entries, facts.entries);
  t.equal(r.previous, `${s.dbPath}.bak`);
  t.equal(await count(s.dbPath, 'entries'), facts.entries, 'restored database has the backup rows');
  t.equal(await count(`${s.dbPath}.bak`, 'entries'), written, 'previous database kept whole as .bak');
  t.equal((await inspectDatabase(s.dbPath)).schemaVersion, inspected.schemaVersion, 'restored file passes quick_check with the same schema version');
});

t.test('online backup while a daemon runs; restore refuses non-callscreen files', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'cs.db');
  const { ctx } = await startDaemon(t, dbPath);
  await ctx.orgs.add('demo', 'Demo', 'US', cliActor);
  const file = join(dir, 'b.db');
  const facts = await backupDatabase(dbPath, file);
  t.equal(facts.orgs, 1);
  await t.rejects(restoreDatabase(file, dbPath), { code: 'CS_ERR_DB_BUSY', message: /systemctl stop callscreen/ });

  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'not a database at all, just text');
  await t.rejects(restoreDatabase(junk, join(dir, 'other.db')), { code: 'CS_ERR_DB_OPEN' });
  const empty = join(dir, 'empty.db');
  const e = await Database.open(empty);
  await e.exec('CREATE TABLE t (x)');
  await e.close();
  await t.rejects(restoreDatabase(empty, join(dir, 'other.db')), { code: 'CS_ERR_DB_OPEN', message: /not a callscreen database/ });
  t.notOk(existsSync(join(dir, 'other.db')), 'nothing written when the file is refused');
});
