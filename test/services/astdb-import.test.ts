// AstDB (Asterisk's astdb.sqlite3) blacklist import: the FreePBX keys, all or nothing, errors by key,
// and the file is only read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import t from 'tap';
import { CallscreenError } from '../../daemon/core/errors.js';
import { AstdbImport, astdbToCsv, readAstdbBlacklist } from '../../daemon/services/astdb-import.js';
import { cliActor, services, tempDir, type TapLike } from '../support/harness.js';

/** Writes an AstDB file the way Asterisk creates it (rollback journal, astdb(key, value)). */
async function writeAstdb(t: TapLike, rows: ReadonlyArray<[string, string]>, table = 'astdb'): Promise<string> {
  const path = join(tempDir(t, 'astdb-'), 'astdb.sqlite3');
  const db = new sqlite3.Database(path);
  const run = (sql: string, params: unknown[] = []): Promise<void> =>
    new Promise((res, rej) => db.run(sql, params, (e) => (e ? rej(e) : res())));
  await run(`CREATE TABLE ${table} (key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key))`);
  for (const [k, v] of rows) await run(`INSERT INTO ${table} (key, value) VALUES (?, ?)`, [k, v]);
  await new Promise<void>((res, rej) => db.close((e) => (e ? rej(e) : res())));
  return path;
}

const FREEPBX: Array<[string, string]> = [
  ['/blacklist/5551234567', 'Robocaller'],
  ['/blacklist/+442079460000', 'London spam'],
  ['/blacklist/8005550000', '1'],
  ['/blacklist/blocked', '1'],
  ['/blacklist/dest', 'app-blackhole,hangup,1'],
  ['/AMPUSER/201/cidname', 'Agent 201'],
  ['/CF/201', '5559990000'],
];

t.test('astdbToCsv maps FreePBX keys (pure)', async (t) => {
  const r = astdbToCsv([
    { key: '/blacklist/5551234567', value: 'Robo, "the" caller' },
    { key: '/blacklist/blocked', value: '1' },
    { key: '/blacklist/dest', value: 'app-blackhole,hangup,1' },
    { key: '/blacklist/x/y', value: '' },
  ]);
  t.same(r.keys, ['/blacklist/5551234567', '/blacklist/blocked']);
  t.match(r.csv, /^number,kind,name,reason\n5551234567,exact,"Robo, ""the"" caller",/);
  t.match(r.csv, /\n,unidentified,/);
  t.same(
    r.skipped.map((s) => s.key),
    ['/blacklist/dest', '/blacklist/x/y'],
  );
  t.same(astdbToCsv([{ key: '/blacklist/blocked', value: '0' }]).keys, [], 'flag off: no unidentified block');
});

t.test('imports numbers and the unknown-caller flag; ignores other families; source astdb', async (t) => {
  const s = await services(t);
  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  const path = await writeAstdb(t, FREEPBX);
  const before = readFileSync(path);
  const r = await new AstdbImport(s.importer).importFile(path, 'acme', { ...cliActor, source: 'astdb' });
  t.match(r, { rows: 4, added: 4, updated: 0, duplicates: 0, dryRun: false });
  t.same(
    r.skipped.map((k) => k.key),
    ['/blacklist/dest'],
  );
  const { entries } = await s.blocklist.list('acme');
  const got = entries.map((e) => [e.kind, e.value, e.name, e.source]).sort();
  t.same(got, [
    ['exact', '+15551234567', 'Robocaller', 'astdb'],
    ['exact', '+18005550000', '', 'astdb'],
    ['exact', '+442079460000', 'London spam', 'astdb'],
    ['unidentified', '', 'Unknown/blocked caller ID', 'astdb'],
  ]);
  t.ok(readFileSync(path).equals(before), 'the AstDB file is not modified');
  const again = await new AstdbImport(s.importer).importFile(path, 'acme', { ...cliActor, source: 'astdb' });
  t.match(again, { added: 0, updated: 4 }, 're-import updates, adds nothing');
});

t.test('bad numbers are reported by key and nothing is written; dry run writes nothing', async (t) => {
  const s = await services(t);
  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  const path = await writeAstdb(t, [
    ['/blacklist/5551234567', 'ok'],
    ['/blacklist/call-me-maybe', 'bad'],
    ['/blacklist/911', 'emergency'],
  ]);
  const err = await new AstdbImport(s.importer)
    .importFile(path, 'acme', { ...cliActor, source: 'astdb' })
    .catch((e: unknown) => e);
  t.ok(err instanceof CallscreenError);
  t.match(err, { code: 'CS_ERR_IMPORT_INVALID', details: { errorCount: 2 } });
  t.match((err as Error).message, /\/blacklist\/call-me-maybe: /);
  t.match((err as Error).message, /\/blacklist\/911: .*protected/);
  t.notMatch((err as Error).message, /line \d/);
  t.equal((await s.blocklist.list('acme')).total, 0, 'nothing written');

  const ok = await writeAstdb(t, [['/blacklist/5551234567', 'ok']]);
  const dry = await new AstdbImport(s.importer).importFile(
    ok,
    'acme',
    { ...cliActor, source: 'astdb' },
    { dryRun: true },
  );
  t.match(dry, { rows: 1, added: 1, dryRun: true });
  t.equal((await s.blocklist.list('acme')).total, 0, 'dry run wrote nothing');
});

t.test('missing file, wrong file, unknown org', async (t) => {
  const s = await services(t);
  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  await t.rejects(readAstdbBlacklist(join(tempDir(t), 'none.sqlite3')), { code: 'CS_ERR_FILE_NOT_FOUND' });
  const other = await writeAstdb(t, [['/blacklist/5551234567', 'x']], 'not_astdb');
  await t.rejects(readAstdbBlacklist(other), { code: 'CS_ERR_IMPORT_INVALID', message: /no astdb table/ });
  const path = await writeAstdb(t, [['/blacklist/5551234567', 'x']]);
  await t.rejects(new AstdbImport(s.importer).importFile(path, 'nope', { ...cliActor, source: 'astdb' }), {
    code: 'CS_ERR_ORG_NOT_FOUND',
  });
});
