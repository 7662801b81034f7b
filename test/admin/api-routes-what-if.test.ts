/**
 * POST /api/v1/orgs/:org/what-if and the confirm gate on POST …/blocked and …/allowed (issue #16):
 * figures without saving; a broad entry answers 409 CS_ERR_CONFIRM_REQUIRED with the figures until
 * it is confirmed; the roles a save needs are the roles a preview needs.
 */
import t from 'tap';
import { recordCalls } from '../support/call-records.js';
import { apiCall as call, signIn, startPanel } from '../support/panel.js';

t.test('what-if figures; a broad block is refused with them until confirmed', async (t) => {
  const { app, ctx, clock } = await startPanel(t);
  const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
  const acme = await ctx.orgs.require('acme');
  const now = clock.now();
  await recordCalls(ctx.db, acme.id, now, '+15553330001', 3);
  await recordCalls(ctx.db, acme.id, now, '+15553330001', 1, { direction: 'outbound' });
  await recordCalls(ctx.db, acme.id, now, '+15553330002', 2);
  await recordCalls(ctx.db, acme.id, now, '+15550001111', 1); // Pushy Vendor, a blocked contact

  const r = await call(app, sam, 'POST', '/api/v1/orgs/acme/what-if', { kind: 'prefix', prefix: '+1555333' });
  t.equal(r.statusCode, 200, r.body);
  t.match(r.json(), {
    org: 'acme',
    days: 30,
    rule: { list: 'block', kind: 'prefix', value: '+1555333', mode: 'reject', replaces: null },
    changed: { calls: 6, inboundCalls: 5, outbound: 1, numbers: 2, calledBack: 1, contacts: 0 },
    broad: true,
    broadBecause: ['agents called 1 of them back'],
  });
  const entries = (await call(app, alice, 'GET', '/api/v1/orgs/acme/blocked')).json<{ total: number }>().total;

  const refused = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+1555333' });
  t.equal(refused.statusCode, 409);
  t.match(refused.json(), {
    code: 'CS_ERR_CONFIRM_REQUIRED',
    message: /broad — agents called 1 of them back/,
    details: { whatIf: { changed: { numbers: 2, calledBack: 1 } } },
  });
  t.equal(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/blocked')).json<{ total: unknown }>().total,
    entries,
    'refused: nothing saved',
  );
  const saved = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'prefix',
    prefix: '+1555333',
    confirm: true,
  });
  t.equal(saved.statusCode, 201, saved.body);
  t.equal((await call(app, alice, 'GET', '/api/v1/orgs/acme/blocked')).json<{ total: unknown }>().total, entries + 1);

  const narrow = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'number', number: '+15553339999' });
  t.equal(narrow.statusCode, 201, 'a narrow block needs no confirmation');

  const allowWhatIf = await call(app, alice, 'POST', '/api/v1/orgs/acme/what-if', {
    list: 'allow',
    kind: 'number',
    number: '+15550001111',
    days: 7,
  });
  t.match(allowWhatIf.json(), {
    days: 7,
    rule: { list: 'allow', mode: null },
    changed: { calls: 1, numbers: 1, contacts: 1 },
    transitions: { 'reject→allow': 1 },
    broad: false,
  });
  t.equal(
    (
      await call(app, sam, 'POST', '/api/v1/orgs/acme/what-if', {
        list: 'allow',
        kind: 'number',
        number: '+15550001111',
      })
    ).statusCode,
    403,
    'a what-if of an allow needs what the allow needs (admins)',
  );
  t.equal(
    (await call(app, andy, 'POST', '/api/v1/orgs/acme/what-if', { kind: 'number', number: '+15553330001' })).statusCode,
    403,
    'agents may not block numbers, so may not preview one either',
  );
  const bad = await call(app, sam, 'POST', '/api/v1/orgs/acme/what-if', {
    kind: 'number',
    number: '+15553330001',
    days: 0,
  });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json<{ details: { field: unknown } }>().details.field, 'days');
  const prot = await call(app, sam, 'POST', '/api/v1/orgs/acme/what-if', { kind: 'number', number: '+12125550100' });
  t.equal(prot.json<{ code: unknown }>().code, 'CS_ERR_PROTECTED_NUMBER', 'the same refusals as the save');
});
