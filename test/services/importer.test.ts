import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { decodeText } from '../../daemon/services/importer.js';
import { cliActor, services, tempDir } from '../support/harness.js';

const importActor = { name: 'importer', source: 'import', origin: 'test' } as const;

t.test('bad rows are all reported with their line numbers and nothing is written', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const csv = [
    'number,mode,name,reason',
    '+15551234567,reject,Spam,robocalls',
    'not a number,reject,,',
    '911,reject,,',
    '+15557654321,sometimes,,',
    '"+15550001111",voicemail,"Smith, J",',
    '+15550002222,reject',
  ].join('\n');
  const err = await s.importer.importText(csv, 'demo', importActor).then(() => null, (e: unknown) => e);
  t.match(err, { code: 'CS_ERR_IMPORT_INVALID', details: { errorCount: 4 } });
  const msg = (err as Error).message;
  t.match(msg, /line 3: .*not a phone number/);
  t.match(msg, /line 4: .*protected/);
  t.match(msg, /line 5: mode "sometimes"/);
  t.match(msg, /line 7: has 2 fields, the header has 4/);
  t.notMatch(msg, /line 2:|line 6:/, 'good rows are not reported');
  t.equal((await s.db.get<{ c: number }>('SELECT count(*) AS c FROM entries'))?.c, 0, 'nothing written');
});

t.test('header problems, empty files and CSV syntax errors name the line', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await t.rejects(s.importer.importText('', 'demo', importActor), { code: 'CS_ERR_IMPORT_INVALID', message: /line 1: the file is empty/ });
  await t.rejects(s.importer.importText('phone,colour\n+15551234567,red\n', 'demo', importActor), { message: /line 1: unknown column\(s\) phone, colour/ });
  await t.rejects(s.importer.importText('number,name\n+15551234567,ok\n+15551234568,"never closed\n', 'demo', importActor), { message: /line 3: a quoted field is never closed/ });
});

t.test('a valid file is written in full; dry run reports the same without writing', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, {}, cliActor);
  const csv = 'number,kind,list,mode,name,expires\n(555) 123-4567,,,voicemail,Renamed,\n+1900,prefix,block,reject,,30d\n,unidentified,,voicemail,,\n+15550009999,exact,allow,,,\n555-000-8888,,,,,\n5550008888,,,,dup,\n';
  const dry = await s.importer.importText(csv, 'demo', importActor, { dryRun: true });
  t.same(dry, { rows: 6, added: 4, updated: 1, duplicates: 1, dryRun: true });
  t.equal((await s.db.get<{ c: number }>('SELECT count(*) AS c FROM entries'))?.c, 1, 'dry run wrote nothing');
  const real = await s.importer.importText(csv, 'demo', importActor);
  t.same(real, { ...dry, dryRun: false });
  const { entries } = await s.blocklist.list('demo');
  t.equal(entries.length, 5);
  t.match(entries.find((e) => e.value === '+15551234567'), { mode: 'voicemail', name: 'Renamed' }, 'existing entry updated');
  t.match(entries.find((e) => e.value === '+15550008888'), { name: 'dup', source: 'import', createdBy: 'importer' }, 'later duplicate wins');
  t.ok(entries.find((e) => e.kind === 'prefix')?.expiresAt, 'expiry read');
  t.ok(entries.find((e) => e.kind === 'unidentified'));
  t.equal(entries.find((e) => e.list === 'allow')?.value, '+15550009999');
  const audit = await s.audit.query({ action: 'import' });
  t.equal(audit.total, 1, 'one audit record for the import');
});

t.test('encodings: UTF-8 with BOM, UTF-16 LE/BE with BOM, invalid UTF-8 names the line', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const dir = tempDir(t);
  const csv = 'number,name\n+15551234567,Zoë Müller\n';
  const le = join(dir, 'le.csv');
  writeFileSync(le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]));
  const r = await s.importer.importFile(le, 'demo', importActor);
  t.equal(r.added, 1);
  t.equal((await s.blocklist.list('demo')).entries[0]?.name, 'Zoë Müller', 'UTF-16 LE names survive');
  const be = Buffer.from(csv, 'utf16le').swap16();
  t.equal(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'be.csv'), csv, 'UTF-16 BE');
  t.equal(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv)]), 'bom.csv'), csv, 'UTF-8 BOM stripped');
  const bad = join(dir, 'latin1.csv');
  writeFileSync(bad, Buffer.concat([Buffer.from('number,name\n+15551234567,ok\n+15551234568,'), Buffer.from([0x5a, 0x6f, 0xeb]), Buffer.from('\n')]));
  await t.rejects(s.importer.importFile(bad, 'demo', importActor), { code: 'CS_ERR_IMPORT_INVALID', message: /first bad byte on line 3/, details: { line: 3 } });
  await t.rejects(s.importer.importFile(join(dir, 'missing.csv'), 'demo', importActor), { code: 'CS_ERR_FILE_NOT_FOUND' });
});
