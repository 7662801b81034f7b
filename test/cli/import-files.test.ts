// `callscreen import` with the files people have (issue #17): semicolon/tab files sniffed, Excel's
// ="…" cells, --delimiter, messages that say what was expected, and a progress bar that leaves no
// stale characters. Real SQLite file, the CLI in-process.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ProgressBar } from '../../daemon/cli/progress-bar.js';
import { cliWithOrg, screen } from './cli-runner.js';

const entries = 'SELECT count(*) AS v FROM entries WHERE removed_at IS NULL';

t.test('semicolon and tab files import without options; --delimiter forces one', async (t) => {
  const c = await cliWithOrg(t);
  const semi = join(c.dir, 'semi.csv');
  writeFileSync(
    semi,
    'number;mode;name;reason\n="+15551230001";reject;"Smith; J";spam, surveys\n(555) 123-0002;voicemail;;\n',
  );
  const r1 = await c.run('import', semi, '--org', 'acme');
  t.equal(r1.code, 0, r1.err);
  t.match(r1.out, /rows: 2, added: 2/);
  const tab = join(c.dir, 'tab.tsv');
  writeFileSync(tab, 'number\tname\n+15551230003\tTab, Ltd\n');
  for (const d of ['tab', '\\t', '\t']) {
    const r = await c.run('import', tab, '--org', 'acme', '--delimiter', d, '--dry-run');
    t.equal(r.code, 0, `--delimiter ${JSON.stringify(d)}: ${r.err}`);
  }
  t.equal((await c.run('import', tab, '--org', 'acme')).code, 0);
  t.equal(await c.scalar(entries), 3);
  const list = await c.run('list', '--org', 'acme', '--json');
  const names = (JSON.parse(list.out) as { entries: Array<{ value: string; name: string }> }).entries
    .map((e) => `${e.value} ${e.name}`)
    .sort();
  t.same(names, ['+15551230001 Smith; J', '+15551230002 ', '+15551230003 Tab, Ltd']);
});

t.test('a file read with the wrong separator says which to pass; bad --delimiter is a usage error', async (t) => {
  const c = await cliWithOrg(t);
  const semi = join(c.dir, 'semi.csv');
  writeFileSync(semi, 'number;reason;mode\n+15551234567;x;reject\n');
  const r = await c.run('import', semi, '--org', 'acme', '--delimiter', ',');
  t.equal(r.code, 65);
  t.match(
    r.err,
    /^callscreen: CS_ERR_IMPORT_INVALID: 1 bad row\(s\); nothing was imported:\n {2}line 1: the header has one column `number;reason;mode`: is the file separated by `;`\? pass --delimiter ';'/,
  );
  t.equal(r.out, '');
  const bad = await c.run('import', semi, '--org', 'acme', '--delimiter', '|');
  t.equal(bad.code, 64);
  t.match(bad.err, /CS_ERR_USAGE: --delimiter "\|" is not one of ',' ';' tab/);
  const astdb = await c.run('import', '--from-astdb', join(c.dir, 'x.sqlite3'), '--org', 'acme', '--delimiter', ';');
  t.equal(astdb.code, 64);
  t.match(astdb.err, /--delimiter applies to a CSV file, not to --from-astdb/);
  t.equal(await c.scalar(entries), 0, 'nothing written');
});

t.test('the progress bar on a terminal leaves no stale characters', async (t) => {
  // The bug: the check phase drew `… 200000/200001`, the write phase `… 500/200000` over it, and
  // the terminal showed `0% 500/2000001`. Drawn here with the figures of a real run's phases.
  let out = '';
  const bar = new ProgressBar({ write: (s: string) => (out += s) });
  bar.update('check', 200_000, 200_001);
  bar.update('check', 200_001, 200_001);
  bar.update('write', 500, 200_000);
  t.same(screen(out), ['write  [..............................]   0% 500/200000']);
  bar.done();
  t.equal(out.at(-1), '\n', 'done ends the line');

  // Through the CLI, a real import of 120,001 lines (two check reports and the write phase).
  const c = await cliWithOrg(t);
  const file = join(c.dir, 'big.csv');
  const rows = ['number,name'];
  for (let i = 0; i < 120_000; i++) rows.push(`+1555${String(2_000_000 + i).padStart(7, '0')},n${i}`);
  writeFileSync(file, rows.join('\n') + '\n');
  const r = await c.runTty('import', file, '--org', 'acme');
  t.equal(r.code, 0, r.err);
  const shown = screen(r.err);
  t.equal(shown.length, 1, 'one line of progress');
  t.match(shown[0], /^write {2}\[#{30}\] 100% 120000\/120000$/, 'the last state, nothing after it');
  t.equal(await c.scalar(entries), 120_000);
});
