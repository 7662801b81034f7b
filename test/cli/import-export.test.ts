// import / export through runCli: bad rows by line with nothing written, dry run, the summary,
// the progress bar on a TTY, a CSV round trip, and --from-astdb.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import t from 'tap';
import { captureCli, type CliRun as Run } from '../support/cli-capture.js';
import { tempDir, type TapLike } from '../support/harness.js';
import { screen } from './cli-runner.js';

function setup(t: TapLike): { dir: string; run: (opts: { tty?: boolean }, ...argv: string[]) => Promise<Run> } {
  const dir = tempDir(t);
  const db = join(dir, 'callscreen.db');
  // Only `init` (and the daemon) create a database: every suite here starts from an initialised one.
  let ready: Promise<number> | null = null;
  const run = async (opts: { tty?: boolean }, ...argv: string[]): Promise<Run> => {
    ready ??= captureCli(['--db', db, 'init']).then((r) => r.code);
    if ((await ready) !== 0) throw new Error('callscreen init failed');
    return captureCli(['--db', db, ...argv], { env: { USER: 'importer' }, tty: opts.tty === true });
  };
  return { dir, run };
}

async function withOrg(t: TapLike, slug = 'acme'): Promise<ReturnType<typeof setup>> {
  const s = setup(t);
  if ((await s.run({}, 'org', 'add', slug, '--name', slug, '--region', 'US')).code !== 0)
    throw new Error('org add failed');
  await s.run({}, 'org', 'did', 'add', slug, '5550001111');
  return s;
}

async function entryCount(s: ReturnType<typeof setup>, org = 'acme'): Promise<number> {
  return (JSON.parse((await s.run({}, 'list', '--org', org, '--all', '--json')).out) as { total: number }).total;
}

t.test('bad rows: every one reported with its line, exit 65, nothing written', async (t) => {
  const s = await withOrg(t);
  const file = join(s.dir, 'bad.csv');
  writeFileSync(
    file,
    'number,mode,name\n5551234567,reject,ok\nnot a number,reject,x\n5551230000,loud,y\n911,reject,z\n5559990000,voicemail,fine\n',
  );
  const r = await s.run({}, 'import', file, '--org', 'acme');
  t.equal(r.code, 65);
  t.match(r.err, /^callscreen: CS_ERR_IMPORT_INVALID: 3 bad row\(s\); nothing was imported/);
  t.match(r.err, /line 3: .*not a number/);
  t.match(r.err, /line 4: mode "loud"/);
  t.match(r.err, /line 5: .*protected/);
  t.notMatch(r.err, /line 2:|line 6:/);
  t.equal(r.out, '');
  t.equal(await entryCount(s), 0, 'nothing written');
  const audit = JSON.parse((await s.run({}, 'audit', '--org', 'acme', '--json')).out) as {
    events: Array<{ action: string }>;
  };
  t.notOk(
    audit.events.some((e) => e.action === 'import'),
    'no import in the audit log',
  );
  const missing = await s.run({}, 'import', join(s.dir, 'none.csv'), '--org', 'acme');
  t.equal(missing.code, 66);
  t.match(missing.err, /CS_ERR_FILE_NOT_FOUND/);
  const unknownOrg = await s.run({}, 'import', file, '--org', 'nope');
  t.equal(unknownOrg.code, 66);
  const both = await s.run({}, 'import', file, '--from-astdb', file, '--org', 'acme');
  t.equal(both.code, 64);
  t.match(both.err, /CS_ERR_USAGE: give exactly one target: FILE\.csv or --from-astdb PATH/);
  t.equal((await s.run({}, 'import', '--org', 'acme')).code, 64);
});

t.test('dry run reports and writes nothing; the real run prints the summary', async (t) => {
  const s = await withOrg(t);
  await s.run({}, 'block', '5551234567', '--org', 'acme');
  const file = join(s.dir, 'list.csv');
  writeFileSync(file, 'number,name\n5551234567,updated\n5552223333,new\n(555) 222-3333,dup\n');
  const dry = await s.run({}, 'import', file, '--org', 'acme', '--dry-run');
  t.equal(dry.code, 0, dry.err);
  t.equal(dry.out, 'dry run (nothing written): rows: 3, added: 1, updated: 1, duplicates: 1\n');
  t.equal(await entryCount(s), 1);
  const real = await s.run({}, 'import', file, '--org', 'acme', '--json');
  t.same(JSON.parse(real.out), { rows: 3, added: 1, updated: 1, duplicates: 1, dryRun: false });
  t.equal(real.err, '', 'no progress bar when stderr is not a TTY');
  const list = JSON.parse((await s.run({}, 'list', '--org', 'acme', '--json')).out) as {
    entries: Array<{ value: string; name: string; source: string }>;
  };
  t.same(list.entries.map((e) => [e.value, e.name]).sort(), [
    ['+15551234567', 'updated'],
    ['+15552223333', 'dup'],
  ]);
});

t.test('a progress bar on stderr when it is a TTY', async (t) => {
  const s = await withOrg(t);
  const file = join(s.dir, 'list.csv');
  writeFileSync(
    file,
    'number\n' + Array.from({ length: 1200 }, (_, i) => `+1555300${String(i).padStart(4, '0')}`).join('\n') + '\n',
  );
  const r = await s.run({ tty: true }, 'import', file, '--org', 'acme');
  t.equal(r.code, 0, r.err);
  // What the terminal shows (cli-progress redraws with cursor and erase escapes): the bar's last state, its line ended.
  t.same(screen(r.err), ['write  [##############################] 100% 1200/1200']);
  t.equal(r.err.at(-1), '\n');
  t.match(r.out, /rows: 1200, added: 1200, updated: 0, duplicates: 0/);
});

t.test('export → import round trip (CSV and JSON)', async (t) => {
  const a = await withOrg(t);
  await a.run(
    {},
    'block',
    '5551234567',
    '--org',
    'acme',
    '--mode',
    'reject',
    '--name',
    'Robo, Inc',
    '--reason',
    '=cmd() "quoted"',
    '--by',
    'alice',
  );
  await a.run({}, 'block', '--prefix', '1900', '--org', 'acme', '--mode', 'voicemail', '--expires', '2099-01-01');
  await a.run({}, 'block', '--unidentified', '--org', 'acme');
  await a.run({}, 'allow', '5559990000', '--org', 'acme', '--reason', 'courier');
  const csv = await a.run({}, 'export', '--org', 'acme');
  t.equal(csv.code, 0, csv.err);
  t.match(csv.out, /^number,kind,list,mode,name,reason,expires,blocked_by,blocked_at,dids,observe,disabled,attested\n/);
  const file = join(a.dir, 'export.csv');
  writeFileSync(file, csv.out);

  const b = await withOrg(t, 'beta');
  const imp = await b.run({}, 'import', file, '--org', 'beta');
  t.equal(imp.code, 0, imp.err);
  t.match(imp.out, /rows: 4, added: 4/);
  const pick = (r: Run): unknown[] =>
    (JSON.parse(r.out) as { entries: Array<Record<string, unknown>> }).entries
      .map((e) => [e['list'], e['kind'], e['value'], e['mode'], e['name'], e['reason'], e['expiresAt'], e['createdBy']])
      .sort();
  const fromA = pick(await a.run({}, 'list', '--org', 'acme', '--json'));
  const fromB = pick(await b.run({}, 'list', '--org', 'beta', '--json'));
  t.same(
    fromB.map((x) => JSON.stringify(x).replace(/'=cmd/, '=cmd')),
    fromA.map((x) => JSON.stringify(x)),
    'same entries after the round trip',
  );

  const json = await a.run({}, 'export', '--org', 'acme', '--format', 'json');
  t.equal((JSON.parse(json.out) as unknown[]).length, 4);
  const out = join(a.dir, 'out.csv');
  t.equal((await a.run({}, 'export', '--org', 'acme', '--output', out)).code, 0);
  t.equal(readFileSync(out, 'utf8'), csv.out);
  t.equal((await a.run({}, 'export', '--org', 'nope')).code, 66);
  t.equal((await a.run({}, 'export', '--org', 'acme', '--format', 'xml')).code, 64);
});

async function writeAstdb(dir: string, rows: ReadonlyArray<[string, string]>): Promise<string> {
  const path = join(dir, 'astdb.sqlite3');
  const db = new sqlite3.Database(path);
  const run = (sql: string, params: unknown[] = []): Promise<void> =>
    new Promise((res, rej) => db.run(sql, params, (e) => (e ? rej(e) : res())));
  await run('CREATE TABLE astdb (key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key))');
  for (const [k, v] of rows) await run('INSERT INTO astdb (key, value) VALUES (?, ?)', [k, v]);
  await new Promise<void>((res, rej) => db.close((e) => (e ? rej(e) : res())));
  return path;
}

t.test('import --from-astdb: FreePBX blacklist, blocked flag → unidentified, errors by key', async (t) => {
  const s = await withOrg(t);
  const path = await writeAstdb(s.dir, [
    ['/blacklist/5551234567', 'Robocaller'],
    ['/blacklist/blocked', '1'],
    ['/blacklist/dest', 'app-blackhole,hangup,1'],
    ['/AMPUSER/201/cidname', 'Agent'],
  ]);
  const dry = await s.run({}, 'import', '--from-astdb', path, '--org', 'acme', '--dry-run');
  t.equal(dry.code, 0, dry.err);
  t.match(dry.out, /dry run \(nothing written\): rows: 2, added: 2/);
  t.match(dry.out, /skipped \/blacklist\/dest: /);
  t.equal(await entryCount(s), 0);
  const r = await s.run({}, 'import', '--from-astdb', path, '--org', 'acme');
  t.equal(r.code, 0, r.err);
  const chk = JSON.parse((await s.run({}, 'check', 'anonymous', '--org', 'acme', '--json')).out) as Record<
    string,
    unknown
  >;
  t.match(chk, { rule: { kind: 'unidentified' } });
  t.notSame(chk['action'], 'allow', 'unknown callers are now blocked');
  const list = JSON.parse((await s.run({}, 'list', '--org', 'acme', '--json')).out) as {
    entries: Array<{ value: string; source: string; name: string }>;
  };
  t.same(
    list.entries.map((e) => e.source),
    ['astdb', 'astdb'],
  );

  const bad = await writeAstdb(tempDir(t), [
    ['/blacklist/5551112222', 'ok'],
    ['/blacklist/abc', 'bad'],
  ]);
  const before = await entryCount(s);
  const b = await s.run({}, 'import', '--from-astdb', bad, '--org', 'acme');
  t.equal(b.code, 65);
  t.match(b.err, /CS_ERR_IMPORT_INVALID: .*1 bad blacklist key/);
  t.match(b.err, /\/blacklist\/abc: /);
  t.equal(await entryCount(s), before, 'nothing written');
});
