// The change log read as a history (daemon/store/change-log.ts), the store identity (migration 10)
// and the volatile numbers (daemon/store/volatile-numbers.ts): what the AstDB mirror's marker and
// replay rely on.
import t from 'tap';
import { join } from 'node:path';
import { backupDatabase, restoreDatabase } from '../../daemon/ops/backup.js';
import { ChangeLog } from '../../daemon/store/change-log.js';
import { Database } from '../../daemon/store/database.js';
import { volatileNumbers } from '../../daemon/store/volatile-numbers.js';
import { cliActor, services, tempDir } from '../support/harness.js';

const identityOf = async (path: string): Promise<string> => {
  const db = await Database.open(path, { create: false });
  try {
    return await new ChangeLog(db).identity();
  } finally {
    await db.close();
  }
};

t.test('identity: one random token per database; a restored file gets a new one', async (t) => {
  const a = await services(t);
  const b = await services(t);
  const idA = await new ChangeLog(a.db).identity();
  t.match(idA, /^[0-9a-f]{32}$/);
  t.not(idA, await new ChangeLog(b.db).identity(), 'another database, another identity');
  await a.orgs.add('demo', 'Demo', 'US', cliActor);
  const file = join(tempDir(t), 'snap.db');
  await backupDatabase(a.dbPath, file);
  t.equal(await identityOf(file), idA, 'a backup is the same store');
  await a.close();
  await restoreDatabase(file, a.dbPath);
  const restored = await identityOf(a.dbPath);
  t.match(restored, /^[0-9a-f]{32}$/);
  t.not(restored, idA, 'restored: its log is another history from here on');
});

t.test('head, fingerprint and the changes after a position, by org', async (t) => {
  const s = await services(t);
  const log = new ChangeLog(s.db);
  t.equal(await log.head(), 0, 'empty log');
  t.equal(await log.fingerprint(1), null);
  const demo = await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const mark = await log.head();
  const fp = await log.fingerprint(mark);
  t.match(fp, /^[0-9a-f]{12}$/);
  t.equal(await log.fingerprint(mark), fp, 'stable');
  await s.blocklist.block('demo', { kind: 'exact', number: '+15557770001' }, { mode: 'reject' }, cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15557770002' }, { mode: 'reject' }, cliActor);
  await s.blocklist.unblock('demo', { kind: 'exact', number: '+15557770001' }, cliActor);
  let changes = await log.changesBetween(mark, await log.head(), 1);
  t.same([...changes.keys()], [demo.id]);
  t.same(changes.get(demo.id), { whole: false, numbers: new Set(['+15557770001', '+15557770002']) }, 'numbers, paged');
  await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1555888' }, { mode: 'reject' }, cliActor);
  changes = await log.changesBetween(mark, await log.head());
  t.equal(changes.get(demo.id)?.whole, true, 'a prefix rule redoes the org');
  t.equal((await log.changesBetween(await log.head(), await log.head())).size, 0, 'nothing after the head');
  await s.db.run('DELETE FROM changes WHERE seq <= ?', [mark]);
  t.equal(await log.fingerprint(mark), null, 'pruned: no longer in the log');
});

t.test(
  'volatile numbers: timed, attested-only, observed and DID-scoped entries, and numbers under prefixes',
  async (t) => {
    const s = await services(t);
    const demo = await s.orgs.add('demo', 'Demo', 'US', cliActor);
    await s.orgs.addDids('demo', ['+15550100'], cliActor);
    const block = (n: string, o: Record<string, unknown> = {}) =>
      s.blocklist.block('demo', { kind: 'exact', number: n }, { mode: 'reject', ...o }, cliActor);
    await block('+15557770001');
    await block('+15557770002', { expires: '1h' });
    await block('+15557770003', { observe: true });
    await block('+15557770004', { dids: ['+15550100'] });
    await block('+15557770005');
    await s.blocklist.allow('demo', { kind: 'exact', number: '+15557770005' }, { requireAttestation: true }, cliActor);
    await block('+15558880001');
    const got = await volatileNumbers(s.db, demo.id, []);
    t.same([...got.keys()].sort(), ['+15557770002', '+15557770003', '+15557770004', '+15557770005']);
    t.equal(got.get('+15557770005')?.length, 2, 'every active exact entry of the number, not only the volatile one');
    const under = await volatileNumbers(s.db, demo.id, ['+1555888']);
    t.ok(under.has('+15558880001'), 'a number under a given prefix');
    t.notOk(under.has('+15557770001'), 'a plain number elsewhere is not');
  },
);
