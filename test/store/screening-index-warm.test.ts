/**
 * The background reads that fill the LRU with a listed number's name and reason after a call answered
 * from its summary: gathered for warmBatchMs (or until maxWarming wait) and made in one statement, so
 * a stream of uncached listed callers costs one thread-pool round trip per batch, not per call.
 */
import t from 'tap';
import type { PreparedStatement } from '../../daemon/store/database.js';
import { numberKey } from '../../daemon/store/number-key-map.js';
import {
  batchSize,
  numbersEntriesSql,
  ScreeningIndex,
  WARM_BATCH_MS,
  type OrgState,
} from '../../daemon/store/screening-index.js';
import { ManualClock } from '../support/manual-clock.js';
import { must } from '../support/must.js';
import { cliActor, services, type TapLike } from '../support/harness.js';

const num = (i: number): string => `+1555${String(7_000_000 + i)}`;

async function setup(t: TapLike, options: { warmBatchMs?: number } = {}) {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  for (let i = 0; i < 20; i++)
    await s.blocklist.block(
      'demo',
      { kind: 'exact', number: num(i) },
      { mode: 'reject', name: `Caller ${i}`, reason: `reason ${i}` },
      cliActor,
    );
  // Every statement run through the index's connection, counted.
  // Every statement run through the index's connection, counted: a batch by the distinct numbers it
  // asks for (its list is padded to a power of two) and by its size; every SQL text compiled.
  const reads: string[] = [];
  const sizes: number[] = [];
  const compiled = new Set<string>();
  const prepare = s.db.prepare.bind(s.db);
  s.db.prepare = async (sql: string): Promise<PreparedStatement> => {
    compiled.add(sql);
    const st = await prepare(sql);
    return {
      all: <T>(params: Parameters<PreparedStatement['all']>[0]) => {
        const list = (params as unknown[]).slice(1);
        reads.push(sql.includes('warm_number') ? `batch of ${String(new Set(list).size)}` : 'one');
        sizes.push(list.length);
        return st.all<T>(params);
      },
    };
  };
  const timers = new ManualClock(Date.UTC(2026, 10, 1));
  const index = new ScreeningIndex(s.db, { maxWarming: 8, timers, ...options });
  await index.loadAll();
  const state = must(index.org('demo'), 'org demo');
  const call = (i: number) => index.lookupSync(state, { kind: 'number', value: num(i) }, null, true);
  const cached = (st: OrgState, i: number) => st.cache.get(numberKey(num(i)));
  return { index, state, call, cached, reads, sizes, compiled, timers };
}

t.test('uncached listed callers within the window are read in one statement, names and reasons cached', async (t) => {
  const { index, state, call, cached, reads, sizes, timers } = await setup(t);
  for (let i = 0; i < 5; i++) {
    const m = call(i);
    t.equal(m.exact[0]?.reason, '', `caller ${i}: answered from the summary, no reason yet`);
  }
  timers.advance(WARM_BATCH_MS - 1);
  await new Promise((r) => setImmediate(r));
  t.same(reads, [], 'nothing read before the window (WARM_BATCH_MS) closes');
  timers.advance(1);
  // The window's timer sends the batch (the statement is compiled on the thread pool first).
  for (let k = 0; k < 1000 && reads.length === 0; k++) await new Promise((r) => setTimeout(r, 5));
  t.same(reads, ['batch of 5'], 'one statement for the five, sent when the window closed');
  t.same(sizes, [8], 'its list padded to 8, the next power of two');
  await index.settled();
  for (let i = 0; i < 5; i++) {
    t.equal(
      cached(state, i)?.length,
      1,
      `caller ${i}: one entry, though the padding asked for the last number 4 times`,
    );
    t.equal(cached(state, i)?.[0]?.reason, `reason ${i}`, `caller ${i}: reason cached`);
    t.equal(cached(state, i)?.[0]?.name, `Caller ${i}`, `caller ${i}: name cached`);
    t.equal(call(i).exact[0]?.reason, `reason ${i}`, `caller ${i}: the next call has it`);
  }
  t.equal(cached(state, 5), undefined, 'a number never called is not read');
});

t.test('maxWarming waiting send the batch at once; more callers meanwhile are not queued', async (t) => {
  const { index, state, call, cached, reads } = await setup(t);
  for (let i = 0; i < 12; i++) call(i);
  await index.settled();
  t.same(reads, ['batch of 8'], 'sent when 8 were waiting, without waiting for the window');
  for (let i = 0; i < 8; i++) t.ok(cached(state, i), `caller ${i} cached`);
  for (let i = 8; i < 12; i++) t.equal(cached(state, i), undefined, `caller ${i}: over the bound, not read`);
  t.equal(index.stats().warmFailures, 0);
});

t.test('batches of every size up to maxWarming compile one statement per power of two', async (t) => {
  t.same([1, 2, 3, 4, 5, 8, 9, 33, 64].map(batchSize), [1, 2, 4, 4, 8, 8, 16, 64, 64]);
  const { index, state, call, cached, compiled, timers } = await setup(t);
  let next = 0;
  for (let n = 1; n <= 8; n++) {
    for (let i = 0; i < n; i++) call(next++ % 20);
    timers.advance(WARM_BATCH_MS);
    await index.settled();
    // A fresh LRU for the next round, so its callers miss again.
    state.cache.clear();
  }
  const batchSql = [...compiled].filter((sql) => sql.includes('warm_number'));
  t.equal(batchSql.length, 4, 'sizes 1 to 8 read with statements of 1, 2, 4 and 8 numbers');
  call(3);
  timers.advance(WARM_BATCH_MS);
  await index.settled();
  t.equal(cached(state, 3)?.[0]?.reason, 'reason 3', 'still read right after the rounds');
});

t.test('warmBatchMs 0 reads each number on its own at once', async (t) => {
  const { index, state, call, cached, reads } = await setup(t, { warmBatchMs: 0 });
  call(0);
  call(1);
  await index.settled();
  t.same(reads, ['one', 'one']);
  t.equal(cached(state, 1)?.[0]?.reason, 'reason 1');
});

t.test("the batched read seeks each number in the entries index, never scans the org's entries", async (t) => {
  const s = await services(t);
  const plan = (
    await s.db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${numbersEntriesSql(8)}`, [
      1,
      ...Array<string>(8).fill('+1'),
    ])
  ).map((r) => r.detail);
  t.ok(
    plan.some((d) => /SEARCH entries USING INDEX entries_active \(org_id=\? AND value=\?/.test(d)),
    plan.join('; '),
  );
  t.notOk(
    plan.some((d) => /entries_org_created|SCAN entries|AUTOMATIC/.test(d)),
    `no scan of the org's entries: ${plan.join('; ')}`,
  );
});
