// The CSV reader over csv-parse: records with the line they start on, Excel's ="…" cells, and
// csv-parse's errors said in the import's words with the file's line.
import t from 'tap';
import { readCsv, type CsvDelimiter, type CsvRecord } from '../../daemon/core/csv.js';

const all = async (text: string, d: CsvDelimiter = ',', start = 0, firstLine = 1): Promise<CsvRecord[]> => {
  const out: CsvRecord[] = [];
  for await (const r of readCsv(text, d, start, firstLine)) out.push(r);
  return out;
};

t.test('records carry the line they start on, past blank lines and multi-line quoted fields', async (t) => {
  t.same(await all('a,b\r\n\r\n1,"x\ny"\n\n\n2,3\n'), [
    { line: 1, fields: ['a', 'b'] },
    { line: 3, fields: ['1', 'x\ny'] },
    { line: 7, fields: ['2', '3'] },
  ]);
  t.same(
    await all('sep=;\na;b\n1;"q""d"\n', ';', 6, 2),
    [
      { line: 2, fields: ['a', 'b'] },
      { line: 3, fields: ['1', 'q"d'] },
    ],
    'from an offset, numbered from firstLine',
  );
  t.same(
    await all('a\tb\n1\t2\n', '\t'),
    [
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
    ],
    'tab',
  );
  t.same(
    await all('a,b\n1\n'),
    [
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1'] },
    ],
    'a short row is returned as it is (the importer reports it)',
  );
});

t.test('Excel\'s ="…" cells read as their text, unquoted or quoted; other text with = stays', async (t) => {
  t.same(
    (
      await all('n,m\n="+15551234567",="0044"\n"=""+15551234568""",x\n="a"b,=1\n'.replace('="a"b,=1\n', '"=a",=1\n'))
    ).map((r) => r.fields),
    [
      ['n', 'm'],
      ['+15551234567', '0044'],
      ['+15551234568', 'x'],
      ['=a', '=1'],
    ],
  );
  t.same(
    (await all('n;m\n="+1555";"x, =""y"""\n', ';')).map((r) => r.fields)[1],
    ['+1555', 'x, ="y"'],
    'a quoted field that holds = and quotes is left alone',
  );
});

t.test("errors: the line and what is wrong, in the import's words", async (t) => {
  await t.rejects(all('a,b\n1,2\n\n3,"never closed\n'), { line: 4, message: 'line 4: a quoted field is never closed' });
  await t.rejects(all('a,b\n1,"x";2\n'), {
    line: 2,
    message: 'line 2: unexpected text after a closing quote (a `;`: the file is read as separated by `,`)',
  });
  await t.rejects(all('a,b\n1,x"y\n'), { line: 2, message: /^line 2: a quote inside an unquoted field/ });
  await t.rejects(all(`a,b\n1,${'9'.repeat(10_001)}\n`), {
    line: 2,
    message: 'line 2: a field is longer than 10000 characters',
  });
  await t.rejects(
    all(`a,b\n1,"${'9'.repeat(100_000)}`),
    { message: /a field is longer than 10000 characters/ },
    'an endless quoted field is cut off, not buffered whole',
  );
});

t.test('a large file is read in pieces: the event loop runs while it is read', async (t) => {
  const text =
    'number,name\n' + Array.from({ length: 50_000 }, (_, i) => `+1555${String(i).padStart(7, '0')},n${i}`).join('\n');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  let rows = 0;
  for await (const _ of readCsv(text)) rows++;
  clearInterval(timer);
  t.equal(rows, 50_001);
  t.ok(ticks > 0, `timers ran while reading (${ticks})`);
});
