// callscreen_observed_verdicts_total: calls an observe-mode entry let through, by what it would have done.
import t from 'tap';
import { join } from 'node:path';
import Fastify from 'fastify';
import { cliActor, startDaemon, tempDir } from '../support/harness.js';
import { registerOpsRoutes } from '../../daemon/ops/ops-routes.js';

t.test('an observe-mode hit is counted as allowed and as would-have-been', async (t) => {
  const { ctx } = await startDaemon(t, join(tempDir(t), 'cs.db'));
  await ctx.orgs.add('demo', 'Demo', 'US', cliActor);
  await ctx.blocklist.block(
    'demo',
    { kind: 'exact', number: '+12025550100' },
    { mode: 'voicemail', observe: true },
    cliActor,
  );
  await ctx.feed.poll();
  const req = {
    org: 'demo',
    channel: 'call' as const,
    direction: 'inbound' as const,
    from: '+12025550100',
    to: '+12025550999',
  };
  ctx.screener.recordVerdict(req, 1, ctx.screener.screenSync(req), 'fastagi', 100);
  ctx.screener.recordVerdict(
    { ...req, from: '+12025550101' },
    1,
    ctx.screener.screenSync({ ...req, from: '+12025550101' }),
    'fastagi',
    100,
  );
  const app = Fastify();
  registerOpsRoutes(app, ctx);
  t.teardown(() => app.close());
  const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(body, /^callscreen_observed_verdicts_total\{adapter="fastagi",would="voicemail"\} 1$/m);
  t.match(body, /^callscreen_verdicts_total\{adapter="fastagi",action="allow"\} 2$/m);
});
