import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ScreenRecorder } from '../../daemon/services/screen-recorder.js';
import { cliActor, services, silentLogger, tempDir } from '../support/harness.js';

type HitRow = { id: number; value: string; hit_count: number; last_hit_at: number | null };

t.test(
  'hit counts: many distinct entries in one flush, merged across flushes, last hit kept as the latest',
  async (t) => {
    const s = await services(t);
    await s.orgs.add('acme', 'Acme', 'US', cliActor);
    // 700 entries: more than two 300-entry chunks of the batched UPDATE.
    const csv = join(tempDir(t), 'n.csv');
    writeFileSync(
      csv,
      ['number', ...Array.from({ length: 700 }, (_, i) => `+1202555${String(i).padStart(4, '0')}`)].join('\n') + '\n',
    );
    t.equal((await s.importer.importFile(csv, 'acme', { ...cliActor, source: 'import' })).added, 700);
    const ids = (await s.db.all<{ id: number }>('SELECT id FROM entries ORDER BY id')).map((r) => r.id);
    t.equal(ids.length, 700);

    const rec = new ScreenRecorder(s.db, s.clock, silentLogger());
    // Entry k is hit k % 3 + 1 times, at times 1000 + k and (for the later ones) 5000 + k.
    ids.forEach((id, k) => {
      for (let j = 0; j <= k % 3; j++) rec.recordHit(id, j === 0 ? 1000 + k : 5000 + k);
    });
    rec.recordHit(ids[0]!, 10); // an older hit does not move last_hit_at back
    await rec.flush();
    t.same(rec.stats(), { queued: 0, pendingHits: 0, dropped: 0, flushes: 1, failures: 0 });
    let rows = await s.db.all<HitRow>('SELECT id, value, hit_count, last_hit_at FROM entries ORDER BY id');
    t.same(
      rows.map((r) => r.hit_count),
      ids.map((_, k) => (k % 3) + 1 + (k === 0 ? 1 : 0)),
    );
    t.same(
      rows.map((r) => r.last_hit_at),
      ids.map((_, k) => (k % 3 === 0 ? 1000 + k : 5000 + k)),
    );

    // A second flush adds to the counts; untouched entries keep theirs.
    rec.recordHit(ids[5]!, 9000);
    rec.recordHit(ids[5]!, 8000);
    await rec.flush();
    rows = await s.db.all<HitRow>('SELECT id, value, hit_count, last_hit_at FROM entries ORDER BY id');
    t.equal(rows[5]!.hit_count, (5 % 3) + 1 + 2);
    t.equal(rows[5]!.last_hit_at, 9000);
    t.equal(rows[6]!.hit_count, (6 % 3) + 1);
    // The list the panel and CLI show reads the same columns.
    const listed = await s.blocklist.list('acme', { limit: 1000 });
    t.equal(
      listed.entries.reduce((n, e) => n + e.hitCount, 0),
      rows.reduce((n, r) => n + r.hit_count, 0),
    );
  },
);

t.test('records and hits survive a failed flush and are written by the next one', async (t) => {
  const s = await services(t);
  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  await s.blocklist.block('acme', { kind: 'exact', number: '+12025550100' }, { mode: 'reject' }, cliActor);
  const id = (await s.db.get<{ id: number }>('SELECT id FROM entries'))!.id;
  const rec = new ScreenRecorder(s.db, s.clock, silentLogger());
  rec.recordHit(id, 2000);
  rec.record({
    at: 2000,
    orgId: 1,
    channel: 'call',
    direction: 'inbound',
    fromRaw: '+12025550100',
    toRaw: '+15550100',
    number: '+12025550100',
    action: 'reject',
    ruleKind: 'exact',
    ruleId: String(id),
    reason: 'blocked',
    adapter: 'test',
    callId: 'c1',
    failMode: null,
    latencyUs: 12,
  });
  // Break the write: the screened table is gone for a moment.
  await s.db.exec('ALTER TABLE screened RENAME TO screened_away');
  await rec.flush();
  t.equal(rec.stats().failures, 1);
  t.equal(rec.stats().queued, 1);
  t.equal(rec.stats().pendingHits, 1);
  t.equal(
    (await s.db.get<{ hit_count: number }>('SELECT hit_count FROM entries WHERE id = ?', [id]))!.hit_count,
    0,
    'the transaction rolled back the hit update too',
  );
  await s.db.exec('ALTER TABLE screened_away RENAME TO screened');
  rec.recordHit(id, 3000);
  await rec.flush();
  t.same(await s.db.get('SELECT hit_count, last_hit_at FROM entries WHERE id = ?', [id]), {
    hit_count: 2,
    last_hit_at: 3000,
  });
  t.same(await s.db.all('SELECT call_id, action FROM screened'), [{ call_id: 'c1', action: 'reject' }]);
});
