/**
 * The API of issue #16's rules through fastify inject(): disable/enable, observe/report/promote,
 * blocks with a pattern, in observe mode or for some DIDs, allowlist-only DIDs and the pattern
 * minimum — each with the roles that may use it, and what the daemon's screening does afterwards.
 */
import t from 'tap';
import type { ScreenRequest } from '../../daemon/core/screen-request.js';
import { apiCall as call, signIn, startPanel } from '../support/panel.js';

const call1 = (from: string, to = '+12125550100'): ScreenRequest => ({
  org: 'acme',
  channel: 'call',
  direction: 'inbound',
  from,
  to,
});

t.test('disable and enable: admins disable (weakening), supervisors may enable; the daemon follows', async (t) => {
  const { app, ctx, ids } = await startPanel(t);
  const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
  t.equal(
    (await call(app, sam, 'POST', `/api/v1/orgs/acme/entries/${ids.spam}/disable`, {})).statusCode,
    403,
    'supervisors do not disable',
  );
  const off = await call(app, alice, 'POST', `/api/v1/orgs/acme/entries/${ids.spam}/disable`, { note: 'complaint' });
  t.equal(off.statusCode, 200, off.body);
  t.match(off.json(), { id: ids.spam, disabledBy: 'alice', disabledAt: Number });
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(call1('+15551234567')).action, 'allow');
  const twice = await call(app, alice, 'POST', `/api/v1/orgs/acme/entries/${ids.spam}/disable`, {});
  t.equal(twice.statusCode, 409);
  t.equal(twice.json<{ code: unknown }>().code, 'CS_ERR_ENTRY_STATE');
  t.equal(
    (await call(app, andy, 'POST', `/api/v1/orgs/acme/entries/${ids.spam}/enable`, {})).statusCode,
    403,
    'agents block contacts only',
  );
  const on = await call(app, sam, 'POST', `/api/v1/orgs/acme/entries/${ids.spam}/enable`, {});
  t.equal(on.statusCode, 200, on.body);
  t.equal(on.json<{ disabledAt: unknown }>().disabledAt, null);
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(call1('+15551234567')).action, 'reject');
  t.equal((await call(app, alice, 'POST', '/api/v1/orgs/acme/entries/9999/disable', {})).statusCode, 404);
  const listed = (await call(app, alice, 'GET', '/api/v1/orgs/acme/audit?action=entry.disable')).json<{
    events: unknown[];
  }>();
  t.match(listed.events, [{ actor: 'alice', reason: 'complaint' }]);
});

t.test('observe mode through the API: post a block with observe, read its report, promote it', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  const made = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'pattern',
    pattern: '+1666555????',
    observe: true,
    mode: 'voicemail',
  });
  t.equal(made.statusCode, 201, made.body);
  const e = made.json<{ id: number; observeSince: number; value: string; kind: string }>();
  t.match(e, { kind: 'pattern', value: '+1666555????', observeSince: Number });
  await ctx.feed.poll();
  const s = ctx.screening.inbound(
    { orgFrom: 'did', defaultOrg: '' },
    { channel: 'call', direction: 'inbound', from: '+16665550001', to: '+12125550100' },
  );
  t.match(s.verdict, { action: 'allow', observed: 'voicemail' });
  ctx.screening.record(s, 'test', null);
  await ctx.recorder.flush();
  const report = await call(app, sam, 'GET', `/api/v1/orgs/acme/entries/${e.id}/report`);
  t.equal(report.statusCode, 200);
  t.match(report.json(), { hits: 1, numbers: 1, recent: [{ number: '+16665550001', to: '+12125550100' }] });
  // Re-posting an enforced block in observe mode weakens it: admins only.
  t.equal((await call(app, sam, 'POST', `/api/v1/orgs/acme/entries/${e.id}/observe`, {})).statusCode, 403);
  const promoted = await call(app, sam, 'POST', `/api/v1/orgs/acme/entries/${e.id}/promote`, { note: 'all robocalls' });
  t.equal(promoted.statusCode, 200, promoted.body);
  t.equal(promoted.json<{ observeSince: unknown }>().observeSince, null);
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(call1('+16665550001')).action, 'voicemail');
  const weaken = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'pattern',
    pattern: '+1666555????',
    observe: true,
    mode: 'voicemail',
  });
  t.equal(weaken.statusCode, 403, 'observing an enforced block again is weakening');
  t.equal((await call(app, alice, 'POST', `/api/v1/orgs/acme/entries/${e.id}/observe`, {})).statusCode, 200);
  const allowObs = await call(app, alice, 'POST', '/api/v1/orgs/acme/allowed', {
    kind: 'number',
    number: '+15550009999',
    observe: true,
  });
  t.equal(allowObs.statusCode, 400);
});

t.test('patterns: the org minimum, set by admins, refuses broad ones with 422', async (t) => {
  const { app } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  t.same((await call(app, sam, 'GET', '/api/v1/orgs/acme/pattern-minimum')).json(), {
    minPatternDigits: 6,
    isDefault: true,
  });
  t.equal((await call(app, sam, 'PUT', '/api/v1/orgs/acme/pattern-minimum', { minPatternDigits: 3 })).statusCode, 403);
  t.same((await call(app, alice, 'PUT', '/api/v1/orgs/acme/pattern-minimum', { minPatternDigits: 9 })).json(), {
    minPatternDigits: 9,
    isDefault: false,
  });
  const broad = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'pattern',
    pattern: '+1415555????',
  });
  t.equal(broad.statusCode, 422);
  t.match(broad.json(), { code: 'CS_ERR_PATTERN_TOO_BROAD', details: { fixedDigits: 7, minDigits: 9 } });
  const bad = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'pattern', pattern: 'abc' });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json<{ code: unknown }>().code, 'CS_ERR_INVALID_PATTERN');
  const range = await call(app, alice, 'POST', '/api/v1/orgs/acme/allowed', {
    kind: 'pattern',
    pattern: '+14155550100..+14155550109',
  });
  t.equal(range.statusCode, 201, range.body);
  t.equal(
    (await call(app, alice, 'PUT', '/api/v1/orgs/acme/pattern-minimum', { minPatternDigits: 20 })).statusCode,
    400,
  );
});

t.test('per-DID entries and allowlist-only DIDs through the API', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  t.equal((await call(app, alice, 'POST', '/api/v1/orgs/acme/dids', { numbers: ['+12125550111'] })).statusCode, 201);
  const scoped = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '+15553334444',
    dids: ['(212) 555-0111'],
  });
  t.equal(scoped.statusCode, 201, scoped.body);
  t.same(scoped.json<{ dids: unknown }>().dids, ['+12125550111']);
  const notOurs = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '+15553334444',
    dids: ['+19995550000'],
  });
  t.equal(notOurs.statusCode, 400);
  t.equal(
    (await call(app, sam, 'PUT', '/api/v1/orgs/acme/dids/+12125550111/allowlist-only', { others: 'reject' }))
      .statusCode,
    403,
  );
  const only = await call(app, alice, 'PUT', '/api/v1/orgs/acme/dids/+12125550111/allowlist-only', {
    others: 'voicemail',
    note: 'private line',
  });
  t.equal(only.statusCode, 200, only.body);
  t.same(only.json(), { number: '+12125550111', allowlistOnly: 'voicemail' });
  t.same((await call(app, alice, 'GET', '/api/v1/orgs/acme/dids/rules')).json(), {
    dids: [
      { number: '+12125550100', allowlistOnly: null },
      { number: '+12125550111', allowlistOnly: 'voicemail' },
    ],
  });
  await ctx.feed.poll();
  t.match(
    ctx.screener.screenSync(call1('+15553334444', '+12125550111')),
    { action: 'reject', rule: { kind: 'exact' } },
    'its own block first',
  );
  t.match(ctx.screener.screenSync(call1('+15557778888', '+12125550111')), {
    action: 'voicemail',
    rule: { kind: 'allowlist-only' },
  });
  t.match(
    ctx.screener.screenSync(call1('+15550001111', '+12125550111')),
    { action: 'reject', rule: { kind: 'contact' } },
    'a blocked contact stays blocked',
  );
  t.match(ctx.screener.screenSync(call1('+15557778888')), { action: 'allow' }, 'the other DID as usual');
  t.match(
    ctx.screener.screenSync(call1('+15553334444')),
    { action: 'allow' },
    'the scoped block is not on the other DID',
  );
  t.equal(
    (await call(app, alice, 'PUT', '/api/v1/orgs/acme/dids/+12125550111/allowlist-only', { others: null })).json<{
      allowlistOnly: unknown;
    }>().allowlistOnly,
    null,
  );
  const bad = await call(app, alice, 'PUT', '/api/v1/orgs/acme/dids/+12125550111/allowlist-only', { others: 'ring' });
  t.equal(bad.statusCode, 400);
});
