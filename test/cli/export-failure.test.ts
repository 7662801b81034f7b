// An export that fails half-way never looks like a whole one: a database page that cannot be read
// after thousands of rows were written ends the command non-zero, and with --output nothing is left
// under the name asked for (nor a .partial file).
import { closeSync, existsSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Database } from '../../daemon/store/database.js';
import { tempDir } from '../support/harness.js';
import { runOn } from './cli-runner.js';

const run = (db: string, ...argv: string[]) => runOn(db, argv);

t.test('a page that cannot be read mid-export: exit 74, no file under --output', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'c.db');
  t.equal((await run(db, 'init')).code, 0);
  t.equal((await run(db, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US')).code, 0);
  const csv = join(dir, 'in.csv');
  const rows = ['number,mode,name'];
  for (let i = 0; i < 20_000; i++) rows.push(`+1555${String(i).padStart(7, '0')},reject,robo ${i}`);
  writeFileSync(csv, rows.join('\n') + '\n');
  t.equal((await run(db, 'import', csv, '--org', 'acme')).code, 0);

  // The last leaf page of the entries table holds the newest rows, which the export reaches last.
  const d = await Database.open(db, { create: false });
  const leaves = await d.all<{ pageno: number }>(
    "SELECT pageno FROM dbstat WHERE name = 'entries' AND pagetype = 'leaf' ORDER BY path",
  );
  const pageSize = (await d.get<{ page_size: number }>('PRAGMA page_size'))!.page_size;
  await d.close(); // folds the WAL into the file
  t.ok(leaves.length > 10, `${leaves.length} leaf pages`);
  const last = leaves[leaves.length - 1]!.pageno;
  const fd = openSync(db, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0x3c), 0, pageSize, (last - 1) * pageSize);
  closeSync(fd);

  const piped = await run(db, 'export', '--org', 'acme');
  t.equal(piped.code, 74, 'non-zero: the export is not whole');
  t.match(piped.err, /^callscreen: CS_ERR_DB_CORRUPT: .*c\.db is corrupt/);
  const written = piped.out.split('\n').length - 2;
  t.ok(
    written > 5000 && written < 20_000,
    `it had written ${written} rows before the bad page: a failure half-way, not at the start`,
  );

  const file = join(dir, 'acme.csv');
  const toFile = await run(db, 'export', '--org', 'acme', '--output', file);
  t.equal(toFile.code, 74);
  t.notOk(existsSync(file), 'nothing under the name asked for');
  t.notOk(
    readdirSync(dir).some((f) => f.includes('.partial')),
    'no .partial file left',
  );
});
