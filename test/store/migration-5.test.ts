// Migration 5 on a database that already has data (schema 2): the entries keep their rows, the
// source CHECK takes `auto` and `handset` (still refusing anything else) on this connection and on
// a second one, and the file passes SQLite's integrity check.
import { join } from 'node:path';
import t from 'tap';
import { Database } from '../../daemon/store/database.js';
import { MIGRATIONS, SCHEMA_VERSION, schemaVersion } from '../../daemon/store/migrations.js';
import { openStore } from '../../daemon/store/store.js';
import { tempDir } from '../support/harness.js';

const insert = (db: Database, source: string, value: string) =>
  db.run(
    "INSERT INTO entries (org_id, list, kind, value, mode, created_by, created_at, source) VALUES (1, 'block', 'exact', ?, 'reject', 'x', 0, ?)",
    [value, source],
  );

t.test('a schema-2 database with entries migrates to 5: sources auto and handset accepted', async (t) => {
  const path = join(tempDir(t), 'old.db');
  const old = await Database.open(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 2)) {
    await old.exec(m.sql);
    await old.exec(`PRAGMA user_version = ${m.version}`);
  }
  await old.run("INSERT INTO orgs (slug, name, region, created_at) VALUES ('demo', 'Demo', 'US', 0)");
  await insert(old, 'cli', '+15550001');
  await t.rejects(insert(old, 'auto', '+15550002'), /CHECK constraint failed/, 'schema 2 refuses auto');
  await old.close();

  const db = await openStore(path, { backupBeforeMigrate: false });
  t.teardown(() => db.close());
  t.equal(await schemaVersion(db), SCHEMA_VERSION);
  await insert(db, 'auto', '+15550002');
  await insert(db, 'handset', '+15550003');
  await t.rejects(insert(db, 'robot', '+15550004'), 'other sources are still refused');
  const second = await Database.open(path);
  t.teardown(() => second.close());
  await insert(second, 'auto', '+15550005');
  t.same(
    (await second.all<{ value: string; source: string }>('SELECT value, source FROM entries ORDER BY id')).map(
      (r) => `${r.value} ${r.source}`,
    ),
    ['+15550001 cli', '+15550002 auto', '+15550003 handset', '+15550005 auto'],
  );
  t.equal((await db.get<{ integrity_check: string }>('PRAGMA integrity_check'))?.integrity_check, 'ok');
  t.ok(await db.get("SELECT 1 FROM sqlite_schema WHERE name = 'block_requests'"), 'block_requests created');
  t.ok(await db.get("SELECT 1 FROM sqlite_schema WHERE name = 'org_flood_policy'"), 'org_flood_policy created');
});
