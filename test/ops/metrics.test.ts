import t from 'tap';
import { join } from 'node:path';
import Fastify from 'fastify';
import { cliActor, services, startDaemon, tempDir } from '../support/harness.js';
import { registerOpsRoutes } from '../../daemon/ops/ops-routes.js';
import type { Component } from '../../daemon/component.js';

t.test('metrics after verdicts: counters, histogram, cache, feed, quarantine, components', async (t) => {
  const dbPath = join(tempDir(t), 'cs.db');
  let amiOk = true;
  const ami: Component = {
    name: 'ami',
    start: async () => {},
    stop: async () => {},
    health: () => ({ ok: amiOk, state: amiOk ? 'connected' : 'backoff' }),
  };
  const { ctx } = await startDaemon(t, dbPath, { components: () => [ami] });
  await ctx.orgs.add('demo', 'Demo', 'US', cliActor);
  await ctx.blocklist.block('demo', { kind: 'exact', number: '+12025550100' }, { mode: 'reject' }, cliActor);
  await ctx.feed.poll();
  const ask = async (from: string): Promise<void> => {
    const req = { org: 'demo', channel: 'call' as const, direction: 'inbound' as const, from, to: '+12025550999' };
    const v = await ctx.screener.screen(req);
    ctx.screener.recordVerdict(req, 1, v, 'fastagi', 120);
  };
  await ask('+12025550100');
  await ask('+12025550100');
  await ask('+12025550101');
  const req = { org: 'demo', channel: 'call' as const, direction: 'inbound' as const, from: '+12025550102', to: '+1' };
  ctx.screener.recordVerdict(
    req,
    null,
    { action: 'allow', normalized: '+12025550102', rule: null, reason: 'fail open', failMode: 'open' },
    'fastagi',
    250_000,
  );

  const app = Fastify();
  registerOpsRoutes(app, ctx);
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/plain/);
  const body = res.body;
  const value = (line: string): number => {
    const m = new RegExp(`^${line.replace(/[{}"+.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(body);
    return m ? Number(m[1]) : NaN;
  };
  t.equal(value('callscreen_verdicts_total{adapter="fastagi",action="reject"}'), 2, 'two rejects');
  t.equal(value('callscreen_verdicts_total{adapter="fastagi",action="allow"}'), 2, 'two allows (one fail-open)');
  t.equal(value('callscreen_fail_mode_verdicts_total{adapter="fastagi",mode="open"}'), 1);
  t.equal(value('callscreen_verdict_duration_seconds_count{adapter="fastagi"}'), 4);
  t.equal(
    value('callscreen_verdict_duration_seconds_bucket{le="0.00025",adapter="fastagi"}'),
    3,
    '120 µs answers in the 250 µs bucket',
  );
  const hits = value('callscreen_cache_hits_total');
  const misses = value('callscreen_cache_misses_total');
  // The block was applied by the change feed, which caches the new entry: both asks were hits; the
  // unlisted number is neither (callscreen_cache_* count listed numbers only).
  t.equal(hits, 2, 'two hits');
  t.equal(misses, 0, 'no miss');
  t.equal(value('callscreen_cache_hit_ratio'), 1);
  t.equal(value('callscreen_index_orgs'), 1);
  t.equal(value('callscreen_change_feed_pending'), 0, 'feed caught up');
  t.equal(value('callscreen_quarantine_held'), 0);
  t.equal(value('callscreen_component_up{component="ami"}'), 1);
  t.ok(
    value('callscreen_process_resident_memory_bytes') > 0 || /callscreen_process_cpu/.test(body),
    'process metrics on the daemon registry',
  );

  // A change committed by another connection and not yet polled shows as pending.
  await ctx.blocklist.block('demo', { kind: 'exact', number: '+12025550103' }, { mode: 'reject' }, cliActor);
  const res2 = await app.inject({ method: 'GET', url: '/metrics' });
  t.ok(/^callscreen_change_feed_pending [1-9]/m.test(res2.body), 'pending change visible before the poll');

  amiOk = false;
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503, 'AMI down: not ready');
  t.match(ready.json(), { ready: false, checks: [{ name: 'store', ok: true }] });
  amiOk = true;
  const ready2 = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready2.statusCode, 200, ready2.body);
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.equal(health.json<{ status: unknown }>().status, 'ok');
});

t.test('cache hit ratio: each lookup of a listed number is one hit or one miss, on both paths', async (t) => {
  // Written before the daemon starts: its index loads the numbers' keys, not their entries.
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  for (const n of ['+12025550100', '+12025550101'])
    await s.blocklist.block('demo', { kind: 'exact', number: n }, { mode: 'reject' }, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath);
  const req = (from: string) => ({
    org: 'demo',
    channel: 'call' as const,
    direction: 'inbound' as const,
    from,
    to: '+12025550999',
  });
  const scrape = async (): Promise<[number, number, number]> => {
    const body = (await ctx.metrics.render()).body;
    const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1]);
    return [v('callscreen_cache_hits_total'), v('callscreen_cache_misses_total'), v('callscreen_cache_hit_ratio')];
  };
  t.same(await scrape(), [0, 0, 1], 'nothing looked up: ratio 1');
  ctx.screener.screenSync(req('+12025550100'));
  t.same(
    await scrape(),
    [0, 1, 0],
    'call path, not cached: one miss (answered from the summary, read in the background)',
  );
  await ctx.index.settled();
  ctx.screener.screenSync(req('+12025550100'));
  t.same(await scrape(), [1, 1, 0.5], 'the background read cached it: one hit');
  await ctx.screener.screen(req('+12025550101'));
  t.same(await scrape(), [1, 2, 1 / 3], 'waiting path, not cached: one miss, not two');
  await ctx.screener.screen(req('+12025550101'));
  ctx.screener.screenSync(req('+12025550199'));
  t.same(await scrape(), [2, 2, 0.5], 'then a hit; an unlisted number counts as neither');
});

t.test('no gauge is named like a counter (_total)', async (t) => {
  const { ctx } = await startDaemon(t, join(tempDir(t), 'cs.db'));
  const body = (await ctx.metrics.render()).body;
  const types = [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]] as const);
  t.ok(types.length > 20, `${types.length} metrics`);
  t.same(
    types.filter(([name, type]) => name?.endsWith('_total') && type !== 'counter'),
    [],
    'every _total is a counter',
  );
  t.ok(
    types.some(([name, type]) => name === 'callscreen_nodejs_active_resources' && type === 'gauge'),
    'the by-type active resources gauge stays',
  );
  t.match(body, /^callscreen_nodejs_active_resources\{type="[A-Za-z]+"\} [1-9]/m, 'with a count by type');
});

t.test('two daemons do not share a registry', async (t) => {
  const dir = tempDir(t);
  const a = await startDaemon(t, join(dir, 'a.db'));
  const b = await startDaemon(t, join(dir, 'b.db'));
  a.ctx.metrics.recordVerdict('fastagi', 'reject', 0.0001);
  const bodyB = (await b.ctx.metrics.render()).body;
  t.notMatch(bodyB, /callscreen_verdicts_total\{adapter="fastagi",action="reject"\} 1/);
  const bodyA = (await a.ctx.metrics.render()).body;
  t.match(bodyA, /callscreen_verdicts_total\{adapter="fastagi",action="reject"\} 1/);
});
