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
  const err = await s.importer.importText(csv, 'demo', importActor).then(
    () => null,
    (e: unknown) => e,
  );
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
  await t.rejects(s.importer.importText('', 'demo', importActor), {
    code: 'CS_ERR_IMPORT_INVALID',
    message: /line 1: the file is empty/,
  });
  await t.rejects(s.importer.importText('phone,colour\n+15551234567,red\n', 'demo', importActor), {
    message: /line 1: unknown column\(s\) phone, colour/,
  });
  await t.rejects(
    s.importer.importText('number,name\n+15551234567,ok\n+15551234568,"never closed\n', 'demo', importActor),
    { message: /line 3: a quoted field is never closed/ },
  );
});

t.test('a valid file is written in full; dry run reports the same without writing', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, {}, cliActor);
  const csv =
    'number,kind,list,mode,name,expires\n(555) 123-4567,,,voicemail,Renamed,\n+1900,prefix,block,reject,,30d\n,unidentified,,voicemail,,\n+15550009999,exact,allow,,,\n555-000-8888,,,,,\n5550008888,,,,dup,\n';
  const dry = await s.importer.importText(csv, 'demo', importActor, { dryRun: true });
  t.same(dry, { rows: 6, added: 4, updated: 1, duplicates: 1, dryRun: true });
  // The panel's preview: the same counts and the checked rows, in file order, from one pass over the text.
  const preview = await s.importer.preview(csv, 'demo', importActor);
  t.same(preview.result, dry, 'preview counts as the dry run does');
  t.same(
    preview.rows.map((r) => [r.line, r.kind, r.value]),
    [
      [2, 'exact', '+15551234567'],
      [3, 'prefix', '+1900'],
      [4, 'unidentified', ''],
      [5, 'exact', '+15550009999'],
      [6, 'exact', '+15550008888'],
      [7, 'exact', '+15550008888'],
    ],
    'every checked row, duplicates included',
  );
  t.equal((await s.db.get<{ c: number }>('SELECT count(*) AS c FROM entries'))?.c, 1, 'dry run wrote nothing');
  const real = await s.importer.importText(csv, 'demo', importActor);
  t.same(real, { ...dry, dryRun: false });
  const { entries } = await s.blocklist.list('demo');
  t.equal(entries.length, 5);
  t.match(
    entries.find((e) => e.value === '+15551234567'),
    { mode: 'voicemail', name: 'Renamed' },
    'existing entry updated',
  );
  t.match(
    entries.find((e) => e.value === '+15550008888'),
    { name: 'dup', source: 'import', createdBy: 'importer' },
    'later duplicate wins',
  );
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
  t.equal(
    decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv)]), 'bom.csv'),
    csv,
    'UTF-8 BOM stripped',
  );
  const bad = join(dir, 'latin1.csv');
  writeFileSync(
    bad,
    Buffer.concat([
      Buffer.from('number,name\n+15551234567,ok\n+15551234568,'),
      Buffer.from([0x5a, 0x6f, 0xeb]),
      Buffer.from('\n'),
    ]),
  );
  await t.rejects(s.importer.importFile(bad, 'demo', importActor), {
    code: 'CS_ERR_IMPORT_INVALID',
    message: /first bad byte on line 3/,
    details: { line: 3 },
  });
  await t.rejects(s.importer.importFile(join(dir, 'missing.csv'), 'demo', importActor), {
    code: 'CS_ERR_FILE_NOT_FOUND',
  });
});

t.test('the separator is told from the header: comma, semicolon, tab, an Excel sep= line', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const cases: Array<[string, string]> = [
    ['semicolon', 'number;mode;name;reason\n+15551230001;reject;"Smith; J";spam, surveys\n'],
    ['tab', 'number\tmode\tname\treason\n+15551230002\treject\tSmith, J\tspam; surveys\n'],
    ['comma', 'number,mode,name,reason\n+15551230003,reject,"Smith, J",x\n'],
    ['sep= line (Excel)', 'sep=;\nnumber;mode\n+15551230004;reject\n'],
  ];
  for (const [what, csv] of cases) {
    const r = await s.importer.importText(csv, 'demo', importActor);
    t.equal(r.added, 1, `${what}: one row added`);
  }
  const { entries } = await s.blocklist.list('demo');
  t.match(
    entries.find((e) => e.value === '+15551230001'),
    { mode: 'reject', name: 'Smith; J', reason: 'spam, surveys' },
    'semicolon: quoted ; kept, , is text',
  );
  t.match(
    entries.find((e) => e.value === '+15551230002'),
    { name: 'Smith, J', reason: 'spam; surveys' },
    'tab',
  );
  // A bad row in a sep= file is named by its real line (the sep line counts).
  await t.rejects(s.importer.importText('sep=;\nnumber;mode\nnonsense;reject\n', 'demo', importActor), {
    message: /line 3: .*not a phone number/,
  });
});

t.test('Excel\'s ="…" cells read as their text, quoted or not; scientific notation is named', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const csv = 'number;name\n="+15551230010";="Plain"\n"=""+15551230011""";x\n="5551230012";\n';
  const r = await s.importer.importText(csv, 'demo', importActor);
  t.equal(r.added, 3);
  const values = (await s.blocklist.list('demo')).entries.map((e) => e.value).sort();
  t.same(values, ['+15551230010', '+15551230011', '+15551230012'], 'all three read');
  t.equal(
    (await s.blocklist.list('demo')).entries.find((e) => e.value === '+15551230010')?.name,
    'Plain',
    'a text cell too',
  );
  await t.rejects(s.importer.importText('number,name\n1.55512E+10,x\n', 'demo', importActor), {
    message: /line 2: number "1.55512E\+10" is a spreadsheet's scientific notation.*format the column as Text/,
  });
});

t.test('a header that cannot be read says what was expected', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  // Forced to the wrong separator: one column that holds another separator.
  await t.rejects(
    s.importer.importText('number;reason;mode\n+15551234567;x;reject\n', 'demo', importActor, { delimiter: ',' }),
    {
      code: 'CS_ERR_IMPORT_INVALID',
      message:
        /line 1: the header has one column `number;reason;mode`: is the file separated by `;`\? pass --delimiter ';' \(it was read with --delimiter ','\)/,
    },
  );
  // Sniffing cannot decide: names it does not know, two separators.
  await t.rejects(s.importer.importText('phone;note,x\n+15551234567;y,z\n', 'demo', importActor), {
    message:
      /line 1: the header "phone;note,x" contains `,` and `;` and none of them splits it into known columns .*--delimiter \(',', ';'\)/,
  });
  // One separator, unknown names: the expected names, and which one to rename.
  await t.rejects(s.importer.importText('phone;reason\n+15551234567;x\n', 'demo', importActor), {
    message:
      /line 1: unknown column\(s\) phone; expected column names from: number \(required\), kind, .*; rename "phone" to "number"/,
  });
  // A row written with another separator than the header.
  await t.rejects(s.importer.importText('number,mode\n+15551234567;reject\n', 'demo', importActor), {
    message: /line 2: has 1 field, the header has 2 \(this row is separated by `;`, the header by `,`\)/,
  });
  t.equal((await s.db.get<{ c: number }>('SELECT count(*) AS c FROM entries'))?.c, 0, 'nothing written');
});

t.test('a CSV export keeps DIDs, observe mode, disabled and attested allows, and re-imports whole', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+12125550100', '+12125550101'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15551230001' },
    { dids: ['+12125550101'], observe: true },
    cliActor,
  );
  const off = await s.blocklist.block('demo', { kind: 'exact', number: '+15551230002' }, { mode: 'reject' }, cliActor);
  await s.rules.setDisabled('demo', off.id, true, cliActor);
  await s.blocklist.allow('demo', { kind: 'exact', number: '+15551230003' }, { requireAttestation: true }, cliActor);
  await s.blocklist.block('demo', { kind: 'pattern', pattern: '+1555999????' }, {}, cliActor);

  const snapshot = async () =>
    await s.db.all<Record<string, unknown>>(
      'SELECT list, kind, value, mode, dids, observe_since IS NOT NULL AS observing, disabled_at IS NOT NULL AS disabled, require_attestation FROM entries WHERE removed_at IS NULL ORDER BY value',
    );
  const before = await snapshot();
  const csv = await s.importer.export('demo', 'csv');
  t.match(
    csv.text,
    /^number,kind,list,mode,name,reason,expires,blocked_by,blocked_at,dids,observe,disabled,attested\n/,
  );
  t.match(csv.text, /\n\+15551230001,exact,block,\w+,,,,[\w-]+,[^,]+,\+12125550101,yes,,\n/);

  await s.db.run('DELETE FROM entries');
  const r = await s.importer.importText(csv.text, 'demo', importActor);
  t.equal(r.added, 4);
  t.same(
    await snapshot(),
    before,
    'the same entries, with their DIDs, observe mode, disabled state and attested allow',
  );

  // A file without those columns changes none of them on existing entries.
  await s.importer.importText('number,mode\n+15551230001,reject\n', 'demo', importActor);
  t.match(
    await s.db.get('SELECT mode, dids, observe_since IS NOT NULL AS observing FROM entries WHERE value = ?', [
      '+15551230001',
    ]),
    { mode: 'reject', dids: '+12125550101', observing: 1 },
  );

  const bad = await s.importer
    .importText(
      'number,dids,observe,attested\n+15551230009,+12125559999,,\n+15551230008,,maybe,\n+15551230007,,,yes\n',
      'demo',
      importActor,
    )
    .then(
      () => null,
      (e: unknown) => e,
    );
  t.match(bad, { code: 'CS_ERR_IMPORT_INVALID', details: { errorCount: 3 } });
  t.match((bad as Error).message, /line 2: dids: \+12125559999 is not one of organisation "demo"'s numbers/);
  t.match((bad as Error).message, /line 3: observe "maybe" is not yes or no/);
  t.match((bad as Error).message, /line 4: attested is for allow entries/);
});
