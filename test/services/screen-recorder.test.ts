import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ScreenRecorder, type ScreenRecord } from '../../daemon/services/screen-recorder.js';
import { CallscreenError } from '../../daemon/core/errors.js';
import type { Database } from '../../daemon/store/database.js';
import { cliActor, services, silentLogger, tempDir } from '../support/harness.js';
import { ManualClock } from '../support/manual-clock.js';

type HitRow = { id: number; value: string; hit_count: number; last_hit_at: number | null };

/** A call record from +12025550100 to +15550100: `callId` and whatever `over` changes. */
const aRecord = (callId: string, over: Partial<ScreenRecord> = {}): ScreenRecord => ({
  at: 2000,
  orgId: 1,
  channel: 'call',
  direction: 'inbound',
  fromRaw: '+12025550100',
  toRaw: '+15550100',
  number: '+12025550100',
  action: 'allow',
  ruleKind: null,
  ruleId: null,
  reason: 'not listed',
  adapter: 'test',
  callId,
  failMode: null,
  latencyUs: 12,
  ...over,
});

t.test(
  'hit counts: many distinct entries in one flush, merged across flushes, last hit kept as the latest',
  async (t) => {
    const s = await services(t);
    await s.orgs.add('acme', 'Acme', 'US', cliActor);
    // 700 entries, all in one flush (one statement: ROWS_PER_STATEMENT is 1,000).
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
  rec.record(aRecord('c1', { action: 'reject', ruleKind: 'exact', ruleId: String(id), reason: 'blocked' }));
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

t.test('records are written as they were recorded: every value, its SQL type and their order', async (t) => {
  const s = await services(t);
  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  const rec = new ScreenRecorder(s.db, s.clock, silentLogger());
  // Strings JSON must escape or could misread: quotes, backslashes, control characters, non-ASCII,
  // text that looks like a number or null; a null org, null rule, attestation and latency.
  const awkward = [
    '"Dr. Who" <sip:+12025550100@carrier>;tag=a\\b',
    'line\nbreak\ttab\u0001\u007f',
    'Zoë 日本 📞 \u2028',
    '123',
    'null',
    '',
  ];
  const made: ScreenRecord[] = [];
  // 2,500: more than two statements (ROWS_PER_STATEMENT 1,000), so order across them is checked too.
  for (let i = 0; i < 2500; i++) {
    const text = awkward[i % awkward.length]!;
    const r: ScreenRecord = {
      at: 1_700_000_000_000 + i,
      orgId: i % 5 === 0 ? null : 1,
      channel: i % 2 === 0 ? 'call' : 'sms',
      direction: 'inbound',
      fromRaw: text,
      toRaw: '+15559200000',
      number: i % 3 === 0 ? '' : '+1202555' + String(i).padStart(4, '0'),
      action: i % 2 === 0 ? 'reject' : 'allow',
      ruleKind: i % 2 === 0 ? 'exact' : null,
      ruleId: i % 2 === 0 ? String(i) : null,
      reason: `reason ${text}`,
      adapter: 'fastagi',
      callId: i % 7 === 0 ? null : `1700000000.${i}`,
      failMode: i % 11 === 0 ? 'open' : null,
      latencyUs: i % 13 === 0 ? null : i * 3,
      ...(i % 4 === 0 ? { attestation: 'passed-A' } : i % 4 === 1 ? {} : { attestation: null }),
    };
    made.push(r);
    rec.record(r);
  }
  await rec.flush();
  const rows = await s.db.all<Record<string, unknown>>(
    `SELECT id, at, typeof(at) AS at_t, org_id, typeof(org_id) AS org_t, channel, direction, from_raw, to_raw, number,
       action, rule_kind, rule_id, typeof(rule_id) AS rule_id_t, reason, adapter, call_id, fail_mode, latency_us,
       typeof(latency_us) AS latency_t, attestation, typeof(from_raw) AS from_t FROM screened ORDER BY id`,
  );
  t.equal(rows.length, made.length);
  let ok = 0;
  rows.forEach((row, i) => {
    const r = made[i]!;
    const want = {
      at: r.at,
      at_t: 'integer',
      org_id: r.orgId,
      org_t: r.orgId === null ? 'null' : 'integer',
      channel: r.channel,
      direction: r.direction,
      from_raw: r.fromRaw,
      from_t: 'text',
      to_raw: r.toRaw,
      number: r.number,
      action: r.action,
      rule_kind: r.ruleKind,
      rule_id: r.ruleId,
      rule_id_t: r.ruleId === null ? 'null' : 'text',
      reason: r.reason,
      adapter: r.adapter,
      call_id: r.callId,
      fail_mode: r.failMode,
      latency_us: r.latencyUs,
      latency_t: r.latencyUs === null ? 'null' : 'integer',
      attestation: r.attestation ?? null,
    };
    const { id: _id, ...got } = row;
    if (JSON.stringify(got, Object.keys(want).sort()) === JSON.stringify(want, Object.keys(want).sort())) ok++;
    else if (ok === i) t.same(got, want, `record ${i} as recorded`);
  });
  t.equal(ok, made.length, 'every record, in the order recorded (ids ascending)');
});

t.test('a lone surrogate (from a JSON body) is stored as U+FFFD, as a bound value was', async (t) => {
  const s = await services(t);
  const rec = new ScreenRecorder(s.db, s.clock, silentLogger());
  const base: ScreenRecord = {
    at: 1,
    orgId: null,
    channel: 'call',
    direction: 'inbound',
    fromRaw: '',
    toRaw: '',
    number: '',
    action: 'allow',
    ruleKind: null,
    ruleId: null,
    reason: '',
    adapter: 'http',
    callId: null,
    failMode: null,
    latencyUs: null,
  };
  const froms = ['\ud800', 'a\udc00b', 'x\ud83d\ude00y', 'back\\udslash', '\ud83d\ude00\ud800'];
  for (const fromRaw of froms) rec.record({ ...base, fromRaw });
  await rec.flush();
  t.equal(rec.stats().failures, 0);
  const rows = await s.db.all<{ from_raw: string }>('SELECT from_raw FROM screened ORDER BY id');
  const bound = await Promise.all(froms.map(async (f) => (await s.db.get<{ v: string }>('SELECT ? AS v', [f]))!.v));
  t.same(
    rows.map((r) => r.from_raw),
    bound,
    'the same text node-sqlite3 stores for a bound value',
  );
  t.same(
    rows.map((r) => r.from_raw),
    ['\ufffd', 'a\ufffdb', 'x\ud83d\ude00y', 'back\\udslash', '\ud83d\ude00\ufffd'],
  );
  t.notOk(
    (await s.db.all<{ h: string }>('SELECT hex(from_raw) AS h FROM screened')).some((r) => /^(..)*ED[AB]/.test(r.h)),
    'no invalid UTF-8 (an encoded surrogate) in the table',
  );
});

t.test('a flush asked for while one is writing writes what was queued after that one began', async (t) => {
  const s = await services(t);
  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  const rec = new ScreenRecorder(s.db, s.clock, silentLogger());
  rec.record(aRecord('before'));
  const first = rec.flush(); // has taken the queue: ['before']
  rec.record(aRecord('during'));
  const asked = rec.flush();
  t.not(asked, first, 'not the flush already writing');
  await asked;
  t.same(
    (await s.db.all<{ call_id: string }>('SELECT call_id FROM screened ORDER BY id')).map((r) => r.call_id),
    ['before', 'during'],
    'both written when the later flush resolves',
  );
  rec.record(aRecord('at stop'));
  const timerFlush = rec.flush(); // as the flush timer would, just before the daemon stops
  rec.record(aRecord('last'));
  await rec.stop();
  await timerFlush;
  t.same(
    (await s.db.all<{ call_id: string }>('SELECT call_id FROM screened ORDER BY id')).map((r) => r.call_id),
    ['before', 'during', 'at stop', 'last'],
    'stop() during a flush leaves nothing queued behind',
  );
  t.equal(rec.stats().queued, 0);
});

t.test(
  'while flushes fail, the timer backs off (flushMs doubled per failure, at most 10 s), then resumes',
  async (t) => {
    // A database whose transactions fail at once while `locked` (as BEGIN IMMEDIATE does after its busy
    // timeout): the attempts the timer makes, and when, are all this test looks at.
    const clock = new ManualClock();
    const t0 = clock.now();
    const attempts: number[] = []; // ms since t0
    let locked = true;
    const db = {
      transaction: async (fn: () => Promise<unknown>) => {
        attempts.push(clock.now() - t0);
        if (locked) throw new CallscreenError('CS_ERR_DB_BUSY', 'database is locked by another process; try again');
        return fn();
      },
      run: () => Promise.resolve({ changes: 1, lastID: 0 }),
    } as unknown as Database;
    const rec = new ScreenRecorder(db, clock, silentLogger(), { flushMs: 500 }, clock);
    rec.recordHit(1, 1000);
    rec.start();
    const settle = () => new Promise((r) => setImmediate(r));
    for (let ms = 500; ms <= 50_000; ms += 500) {
      if (ms === 36_000) locked = false;
      if (ms === 46_000) rec.recordHit(1, ms); // after the success: something new, written on the next tick
      clock.advance(500);
      await settle();
    }
    t.same(
      attempts,
      [500, 1500, 3500, 7500, 15_500, 25_500, 35_500, 45_500, 46_000],
      'waits of 1, 2, 4, 8 s, then 10 s each; the first success resets it to every tick',
    );
    t.equal(rec.stats().failures, 7);
    t.equal(rec.stats().pendingHits, 0, 'everything written once the lock was gone');
    await rec.flush();
    t.equal(attempts.length, 9, 'an explicit flush with nothing queued writes nothing');
    rec.recordHit(1, 50_001);
    locked = true;
    await rec.flush();
    t.equal(attempts.length, 10, 'an explicit flush (stop, a test) is never held back by the back-off');
  },
);
