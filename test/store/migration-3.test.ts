/**
 * Migration 3 (issue #16) on a database made by a version-2 program: entries are rebuilt (kind gains
 * 'pattern') with their ids, history and hit counts; the change-log triggers are made again and
 * fire for the new columns; org_numbers and org_admin_policy gain their columns and trigger.
 */
import { join } from 'node:path';
import t from 'tap';
import { MIGRATIONS, SCHEMA_VERSION, schemaVersion } from '../../daemon/store/migrations.js';
import { Database } from '../../daemon/store/database.js';
import { openStore } from '../../daemon/store/store.js';
import { tempDir } from '../support/harness.js';

t.test(
  'a version-2 database migrates to 3 with every entry kept and the triggers watching the new columns',
  async (t) => {
    const path = join(tempDir(t), 'v2.db');
    const raw = await Database.open(path);
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) await raw.exec(m.sql);
    await raw.exec('PRAGMA user_version = 2');
    await raw.exec(`
INSERT INTO orgs (id, slug, name, region, created_at) VALUES (1, 'demo', 'Demo', 'US', 0);
INSERT INTO org_numbers (number, org_id, added_at) VALUES ('+15550100', 1, 0);
INSERT INTO entries (id, org_id, list, kind, value, mode, created_by, created_at, source, hit_count, last_hit_at)
  VALUES (7, 1, 'block', 'exact', '+15551234567', 'voicemail', 'ann', 10, 'cli', 42, 99);
INSERT INTO entries (id, org_id, list, kind, value, created_by, created_at, source, removed_at, removed_by)
  VALUES (8, 1, 'block', 'prefix', '+1900', 'bob', 11, 'api', 12, 'carl');`);
    const loggedBefore = (await raw.get<{ s: number }>('SELECT max(seq) AS s FROM changes'))?.s;
    await raw.close();

    const db = await openStore(path, { backupBeforeMigrate: false });
    t.teardown(() => db.close());
    t.equal(await schemaVersion(db), SCHEMA_VERSION, 'migrated through 3 to the newest');
    const rows = await db.all<Record<string, unknown>>(
      'SELECT id, kind, value, mode, created_by, hit_count, last_hit_at, removed_by, disabled_at, observe_since, dids FROM entries ORDER BY id',
    );
    t.same(
      rows,
      [
        {
          id: 7,
          kind: 'exact',
          value: '+15551234567',
          mode: 'voicemail',
          created_by: 'ann',
          hit_count: 42,
          last_hit_at: 99,
          removed_by: null,
          disabled_at: null,
          observe_since: null,
          dids: '',
        },
        {
          id: 8,
          kind: 'prefix',
          value: '+1900',
          mode: 'reject',
          created_by: 'bob',
          hit_count: 0,
          last_hit_at: null,
          removed_by: 'carl',
          disabled_at: null,
          observe_since: null,
          dids: '',
        },
      ],
      'ids, history and hit counts kept; new columns at their defaults',
    );
    const seq = async () => (await db.get<{ s: number | null }>('SELECT max(seq) AS s FROM changes'))?.s ?? 0;
    t.equal(await seq(), loggedBefore, 'the migration itself logs no changes');
    for (const sql of [
      'UPDATE entries SET disabled_at = 1 WHERE id = 7',
      'UPDATE entries SET observe_since = 1 WHERE id = 7',
      "UPDATE entries SET dids = '+15550100' WHERE id = 7",
    ]) {
      const was = await seq();
      await db.run(sql);
      t.match(
        await db.all('SELECT org_id, what, key FROM changes WHERE seq > ?', [was]),
        [{ org_id: 1, what: 'exact', key: '+15551234567' }],
        `logged: ${sql}`,
      );
    }
    const was = await seq();
    await db.run('UPDATE entries SET hit_count = hit_count + 1 WHERE id = 7');
    t.equal(await seq(), was, 'hit counts are not changes');
    await db.run(
      "INSERT INTO entries (org_id, list, kind, value, created_by, created_at, source) VALUES (1, 'block', 'pattern', '+1415555????', 'x', 0, 'cli')",
    );
    t.match(
      await db.all('SELECT what, key FROM changes WHERE seq > ?', [was]),
      [{ what: 'pattern', key: '+1415555????' }],
      'pattern entries are allowed and logged',
    );
    const w2 = await seq();
    await db.run("UPDATE org_numbers SET allowlist_only = 'voicemail' WHERE number = '+15550100'");
    t.match(
      await db.all('SELECT org_id, what FROM changes WHERE seq > ?', [w2]),
      [{ org_id: 1, what: 'org' }],
      'an allowlist-only DID reloads the org',
    );
    await t.rejects(db.run("UPDATE org_numbers SET allowlist_only = 'ring'"), /CHECK/);
    await db.run('INSERT INTO org_admin_policy (org_id, min_pattern_digits) VALUES (1, 8)');
    await t.rejects(db.run('UPDATE org_admin_policy SET min_pattern_digits = 0'), /CHECK/);
    t.equal(
      (
        await db.all(
          // entries_volatile is migration 10's (the AstDB mirror's replay), not the rebuild's.
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries' AND name NOT LIKE 'sqlite_%' AND name <> 'entries_volatile'",
        )
      ).length,
      3,
      'its three indexes',
    );
    await t.rejects(
      db.run(
        "INSERT INTO entries (org_id, list, kind, value, created_by, created_at, source) VALUES (1, 'block', 'pattern', '+1415555????', 'x', 0, 'cli')",
      ),
      /UNIQUE/,
      'entries_active still unique',
    );
  },
);
