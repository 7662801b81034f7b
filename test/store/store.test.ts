import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SCHEMA_VERSION, schemaVersion } from '../../daemon/store/migrations.js';
import { openStore } from '../../daemon/store/store.js';
import { Database, translate } from '../../daemon/store/database.js';
import { cliActor, services, startDaemon, tempDir } from '../support/harness.js';

t.test('the store on a real SQLite file: created with schema, WAL, private mode, survives reopen', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'nested', 'var', 'callscreen.db');
  const db = await openStore(path);
  t.ok(existsSync(path), 'file and its directories created');
  t.equal(statSync(path).mode & 0o777, 0o640);
  t.equal(await schemaVersion(db), SCHEMA_VERSION);
  t.equal((await db.get<{ journal_mode: string }>('PRAGMA journal_mode'))?.journal_mode, 'wal');
  await db.run("INSERT INTO orgs (slug, name, region, created_at) VALUES ('demo', 'Demo', 'US', 0)");
  await db.close();
  const again = await openStore(path);
  t.equal(
    (await again.get<{ slug: string }>('SELECT slug FROM orgs'))?.slug,
    'demo',
    'data survives reopen; migration not re-run',
  );
  await again.close();
});

t.test('a database from a newer program is refused with CS_ERR_DB_SCHEMA', async (t) => {
  const path = join(tempDir(t), 'future.db');
  const raw = await Database.open(path);
  await raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  await raw.close();
  await t.rejects(openStore(path), { code: 'CS_ERR_DB_SCHEMA' });
});

t.test('a failed transaction leaves nothing behind', async (t) => {
  const s = await services(t);
  await t.rejects(
    s.db.transaction(async () => {
      await s.db.run("INSERT INTO orgs (slug, name, region, created_at) VALUES ('x', 'X', 'US', 0)");
      throw new Error('boom');
    }),
    /boom/,
  );
  t.equal((await s.db.get<{ c: number }>('SELECT count(*) AS c FROM orgs'))?.c, 0);
});

t.test('a daemon restarted on the same file sees everything that was written', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, {}, cliActor);
  await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1900' }, { mode: 'voicemail' }, cliActor);
  const first = await startDaemon(t, s.dbPath, { clock: s.clock });
  await first.daemon.stop();
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  const base = { org: 'demo', channel: 'call', direction: 'inbound', to: '+12125550100' } as const;
  t.equal((await ctx.screener.screen({ ...base, from: '+15551234567' })).action, 'reject');
  t.equal((await ctx.screener.screen({ ...base, from: '+19005551234' })).action, 'voicemail');
  t.equal(ctx.index.stats().keys, 1);
});

t.test('SQLite codes map to catalogue codes in one place (translate), naming the file', async (t) => {
  const path = '/var/lib/callscreen/callscreen.db';
  for (const sqliteCode of ['SQLITE_CORRUPT', 'SQLITE_NOTADB']) {
    const e = translate(Object.assign(new Error(`${sqliteCode}: damaged`), { code: sqliteCode }), 'INSERT …', path);
    t.equal(e.code, 'CS_ERR_DB_CORRUPT', sqliteCode);
    t.match(e.message, /^\/var\/lib\/callscreen\/callscreen\.db is corrupt .*callscreen restore/);
    t.match(e.details, { sqliteCode, path });
    t.equal(e.exitCode, 74);
    t.equal(e.httpStatus, 503);
  }
  t.equal(translate(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }), 'x', path).code, 'CS_ERR_DB_BUSY');
  t.equal(translate(Object.assign(new Error('full'), { code: 'SQLITE_FULL' }), 'x', path).code, 'CS_ERR_DB_FULL');
  t.equal(translate(Object.assign(new Error('ro'), { code: 'SQLITE_READONLY' }), 'x', path).code, 'CS_ERR_DB_OPEN');
});

t.test(
  'Database.open: a missing file with create: false is CS_ERR_DB_MISSING naming it; nothing created',
  async (t) => {
    const path = join(tempDir(t), 'nope.db');
    await t.rejects(Database.open(path, { create: false }), {
      code: 'CS_ERR_DB_MISSING',
      message: /nope\.db does not exist/,
    });
    await t.rejects(Database.open(path, { readOnly: true, create: false }), { code: 'CS_ERR_DB_MISSING' });
    t.notOk(existsSync(path));
  },
);

t.test('a statement on a corrupt page fails with CS_ERR_DB_CORRUPT, not a generic error', async (t) => {
  const path = join(tempDir(t), 'c.db');
  const db = await openStore(path);
  await db.run("INSERT INTO orgs (slug, name, region, created_at) VALUES ('demo', 'Demo', 'US', 0)");
  const root = (await db.get<{ rootpage: number }>("SELECT rootpage FROM sqlite_master WHERE name = 'orgs'"))!.rootpage;
  const pageSize = (await db.get<{ page_size: number }>('PRAGMA page_size'))!.page_size;
  await db.close();
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);
  const again = await Database.open(path, { create: false });
  t.teardown(() => again.close().catch(() => undefined));
  await t.rejects(again.run("INSERT INTO orgs (slug, name, region, created_at) VALUES ('x', 'X', 'US', 0)"), {
    code: 'CS_ERR_DB_CORRUPT',
    details: { path },
  });
});
