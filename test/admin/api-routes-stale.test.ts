/** GET /api/v1/orgs/:org/stale and POST …/stale/clean (issue #16): the report, the dry run, admins only for the clean-up. */
import t from 'tap';
import { apiCall as call, signIn, startPanel } from '../support/panel.js';

t.test('stale report and clean-up through the API', async (t) => {
  const { app, ctx, ids } = await startPanel(t);
  const [alice, sam, andy, bob] = [
    await signIn(app, 'alice'),
    await signIn(app, 'sam'),
    await signIn(app, 'andy'),
    await signIn(app, 'bob'),
  ];
  const p = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+1555123' });
  t.equal(p.statusCode, 201, p.body);

  const r = await call(app, andy, 'GET', '/api/v1/orgs/acme/stale?only=shadowed');
  t.equal(r.statusCode, 200, r.body);
  t.match(r.json(), {
    org: 'acme',
    days: 90,
    counts: { expired: 0, unused: 0, shadowed: 1 },
    total: 1,
    entries: [
      {
        id: ids.spam,
        category: 'shadowed',
        value: '+15551234567',
        shadowedBy: { id: p.json<{ id: number }>().id, value: '+1555123' },
      },
    ],
  });
  t.equal((await call(app, bob, 'GET', '/api/v1/orgs/acme/stale')).statusCode, 404, "another org's admin: not found");
  const bad = await call(app, alice, 'GET', '/api/v1/orgs/acme/stale?only=old');
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { code: 'CS_ERR_INVALID_VALUE', details: { key: 'categories' } });

  t.equal(
    (await call(app, sam, 'POST', '/api/v1/orgs/acme/stale/clean', { dryRun: true })).statusCode,
    403,
    'supervisors do not unblock',
  );
  const dry = await call(app, alice, 'POST', '/api/v1/orgs/acme/stale/clean', {
    categories: ['shadowed'],
    dryRun: true,
  });
  t.same(dry.json(), { org: 'acme', dryRun: true, removed: { expired: 0, unused: 0, shadowed: 1 }, ids: [ids.spam] });
  const done = await call(app, alice, 'POST', '/api/v1/orgs/acme/stale/clean', {
    categories: ['shadowed'],
    reason: 'under +1555123',
  });
  t.same(done.json(), { org: 'acme', dryRun: false, removed: { expired: 0, unused: 0, shadowed: 1 }, ids: [ids.spam] });
  t.match(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/audit?action=unblock')).json<{ events: Array<unknown> }>()
      .events[0],
    { actor: 'alice', target: '+15551234567', reason: 'under +1555123', detail: { cleanup: 'shadowed' } },
  );
  await ctx.feed.poll();
  const check = await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=' + encodeURIComponent('+15551234567'));
  t.match(
    check.json(),
    { action: 'reject', rule: { kind: 'prefix', value: '+1555123' } },
    'the number is still rejected, by the prefix now',
  );
});
