// The flood and handset API routes (daemon/admin/api-flood-routes.ts) through fastify inject():
// settings read by anyone in the org, changed by admins with values checked by the schema; block
// requests listed for admins and supervisors, approved or declined by admins only.
import t from 'tap';
import { AUTO_ACTOR } from '../../daemon/services/flood-holds.js';
import { apiCall as call, signIn, startPanel } from '../support/panel.js';

t.test('flood settings and block requests over the API, by role', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam, andy, bob] = [
    await signIn(app, 'alice'),
    await signIn(app, 'sam'),
    await signIn(app, 'andy'),
    await signIn(app, 'bob'),
  ];

  const got = await call(app, andy, 'GET', '/api/v1/orgs/acme/flood');
  t.equal(got.statusCode, 200);
  t.match(got.json(), { org: 'acme', settings: { enabled: true, maxCalls: 5, mode: 'voicemail' }, changed: [] });
  t.equal((await call(app, bob, 'GET', '/api/v1/orgs/acme/flood')).statusCode, 404, "another org's admin: not found");
  t.equal(
    (await call(app, sam, 'PATCH', '/api/v1/orgs/acme/flood', { maxCalls: 9 })).statusCode,
    403,
    'supervisors do not change settings',
  );
  const bad = await call(app, alice, 'PATCH', '/api/v1/orgs/acme/flood', { maxCalls: 0 });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json<{ details: { field: unknown } }>().details.field, 'maxCalls');
  t.equal(
    (await call(app, alice, 'PATCH', '/api/v1/orgs/acme/flood', { maxcalls: 9 })).statusCode,
    400,
    'unknown keys refused',
  );
  const changed = await call(app, alice, 'PATCH', '/api/v1/orgs/acme/flood', { maxCalls: 9, neighbour: true });
  t.equal(changed.statusCode, 200);
  t.match(changed.json(), {
    settings: { maxCalls: 9, neighbour: true, windowMinutes: 10 },
    changed: ['maxCalls', 'neighbour'],
  });
  t.same(
    (await call(app, alice, 'PATCH', '/api/v1/orgs/acme/flood', { reset: true })).json<{ changed: unknown }>().changed,
    [],
  );

  // andy (an agent) presses *32 on his phone: queued.
  const out = await ctx.handset.block({ org: 'acme', endpoint: 'andy', caller: '+14155550177', how: 'last-caller' });
  t.match(out, { result: 'queued' });
  t.equal(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/block-requests')).statusCode,
    403,
    'agents do not see the queue',
  );
  const list = await call(app, sam, 'GET', '/api/v1/orgs/acme/block-requests');
  t.equal(list.statusCode, 200);
  t.match(list.json<{ requests: unknown }>().requests, [
    { number: '+14155550177', requestedBy: 'andy', status: 'pending' },
  ]);
  const id = list.json<{ requests: Array<{ id: number }> }>().requests[0]!.id;
  t.equal(
    (await call(app, sam, 'POST', `/api/v1/orgs/acme/block-requests/${id}/approve`)).statusCode,
    403,
    'supervisors do not approve',
  );
  const ok = await call(app, alice, 'POST', `/api/v1/orgs/acme/block-requests/${id}/approve`);
  t.equal(ok.statusCode, 200, ok.body);
  t.match(ok.json(), { status: 'approved', decidedBy: 'alice' });
  t.match((await ctx.blocklist.list('acme', { search: '4155550177' })).entries, [{ createdBy: 'alice' }]);
  const twice = await call(app, alice, 'POST', `/api/v1/orgs/acme/block-requests/${id}/decline`, { note: 'x' });
  t.equal(twice.statusCode, 400);
  t.match(twice.json<{ message: unknown }>().message, /already approved/);
  t.equal((await call(app, alice, 'POST', '/api/v1/orgs/acme/block-requests/999/approve')).statusCode, 404);
  t.equal(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/block-requests?status=all')).json<{ requests: unknown[] }>()
      .requests.length,
    1,
  );
});

t.test('a flood hold is shown on the panel’s Blocked page like any entry, blocked by auto', async (t) => {
  const { app, ctx, clock } = await startPanel(t);
  const sam = await signIn(app, 'sam');
  await ctx.blocklist.block(
    'acme',
    { kind: 'exact', number: '+13055550188' },
    {
      mode: 'voicemail',
      name: 'flood hold',
      reason: 'auto: 6 calls from one number within 10 min',
      expires: clock.now() + 3_600_000,
    },
    AUTO_ACTOR,
  );
  const page = await app.inject({
    method: 'GET',
    url: '/blocked?org=acme&search=3055550188',
    headers: { cookie: sam.cookie },
  });
  t.equal(page.statusCode, 200);
  t.match(page.body, /<td data-label="Blocked By">auto<\/td>/);
  t.match(page.body, /auto: 6 calls from one number within 10 min/);
  t.notMatch(page.body, /<td data-label="Expires">never/, 'it shows when it expires');
});
