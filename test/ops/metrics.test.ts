import t from 'tap';
import { join } from 'node:path';
import Fastify from 'fastify';
import { cliActor, startDaemon, tempDir } from '../support/harness.js';
import { registerOpsRoutes } from '../../daemon/ops/ops-routes.js';
import type { Component } from '../../daemon/component.js';

t.test('metrics after verdicts: counters, histogram, cache, feed, quarantine, components', async (t) => {
  const dbPath = join(tempDir(t), 'cs.db');
  let amiOk = true;
  const ami: Component = { name: 'ami', start: async () => {}, stop: async () => {}, health: () => ({ ok: amiOk, state: amiOk ? 'connected' : 'backoff' }) };
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
  ctx.screener.recordVerdict(req, null, { action: 'allow', normalized: '+12025550102', rule: null, reason: 'fail open', failMode: 'open' }, 'fastagi', 250_000);

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
  t.equal(value('callscreen_verdict_duration_seconds_bucket{le="0.00025",adapter="fastagi"}'), 3, '120 µs answers in the 250 µs bucket');
  const hits = value('callscreen_cache_hits_total');
  const misses = value('callscreen_cache_misses_total');
  t.ok(Number.isFinite(hits) && Number.isFinite(misses), `cache counters exposed (hits ${hits}, misses ${misses})`);
  const ratio = value('callscreen_cache_hit_ratio');
  t.ok(ratio >= 0 && ratio <= 1, `hit ratio ${ratio}`);
  t.equal(value('callscreen_index_orgs'), 1);
  t.equal(value('callscreen_change_feed_pending'), 0, 'feed caught up');
  t.equal(value('callscreen_quarantine_held'), 0);
  t.equal(value('callscreen_component_up{component="ami"}'), 1);
  t.ok(value('callscreen_process_resident_memory_bytes') > 0 || /callscreen_process_cpu/.test(body), 'process metrics on the daemon registry');

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
  t.equal(health.json().status, 'ok');
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
