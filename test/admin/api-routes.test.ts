/** The JSON API through fastify inject(): every route, every role, and the refusals. */
import t from 'tap';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { PASSWORD, signIn, startPanel } from '../support/panel.js';

type Creds = { cookie: string; csrf: string };

function call(
  app: FastifyInstance,
  who: Creds | null,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
  csrf = true,
) {
  const headers: Record<string, string> = {};
  if (who) {
    headers.cookie = who.cookie;
    if (csrf) headers['x-csrf-token'] = who.csrf;
  }
  return app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

t.test('sign-in: cookie flags, wrong password, throttling with the injected clock, expiry', async (t) => {
  const { app, clock } = await startPanel(t);
  const ok = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { name: 'alice', password: PASSWORD },
  });
  t.equal(ok.statusCode, 200);
  const setCookie = String(ok.headers['set-cookie']);
  t.match(setCookie, /cs_session=[\w-]{43};/);
  t.match(setCookie, /HttpOnly/);
  t.match(setCookie, /SameSite=Strict/);
  t.notMatch(setCookie, /Secure/, 'secure_cookies defaults to false (plain HTTP on loopback)');
  t.match(ok.json(), { user: { name: 'alice', role: 'admin', orgs: ['acme', 'globex'] }, csrf: /^[\w-]{43}$/ });

  const bad = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { name: 'alice', password: 'wrong-password' },
  });
  t.equal(bad.statusCode, 401);
  t.equal(bad.json<{ code: unknown }>().code, 'CS_ERR_UNAUTHENTICATED');
  const nobody = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { name: 'mallory', password: 'whatever-123' },
  });
  t.equal(nobody.statusCode, 401, 'unknown user: same answer as a wrong password');

  for (let i = 0; i < 9; i++)
    await app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { name: 'alice', password: 'wrong-password' },
    });
  const locked = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { name: 'alice', password: PASSWORD },
  });
  t.equal(locked.statusCode, 429, 'after 10 failures of one account even the right password waits');
  t.equal(locked.json<{ code: unknown }>().code, 'CS_ERR_THROTTLED');
  t.equal(locked.headers['retry-after'], '60');
  clock.advance(60_000);
  const after = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { name: 'alice', password: PASSWORD },
  });
  t.equal(after.statusCode, 200, 'lock over: signs in');

  const sam = await signIn(app, 'sam');
  t.equal((await call(app, sam, 'GET', '/api/v1/me')).statusCode, 200);
  clock.advance(12 * 3_600_000);
  t.equal(
    (await call(app, sam, 'GET', '/api/v1/me')).statusCode,
    401,
    'session expires after admin.session_hours (12 h)',
  );
});

t.test('session fixation: a planted session id is replaced and worthless; sign-out ends the session', async (t) => {
  const { app } = await startPanel(t);
  const planted = 'attacker-chosen-session-id-aaaaaaaaaaaaaaaaaaa';
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    headers: { cookie: `cs_session=${planted}` },
    payload: { name: 'sam', password: PASSWORD },
  });
  const issued = res.cookies.find((c) => c.name === 'cs_session')?.value;
  t.ok(issued);
  t.not(issued, planted);
  t.equal((await call(app, { cookie: `cs_session=${planted}`, csrf: '' }, 'GET', '/api/v1/me')).statusCode, 401);

  const first = await signIn(app, 'sam');
  const again = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    headers: { cookie: first.cookie },
    payload: { name: 'sam', password: PASSWORD },
  });
  t.equal(again.statusCode, 200);
  t.equal(
    (await call(app, first, 'GET', '/api/v1/me')).statusCode,
    401,
    'signing in again rotates: the old id is gone',
  );

  const s = await signIn(app, 'sam');
  t.equal((await call(app, s, 'DELETE', '/api/v1/session')).statusCode, 200);
  t.equal((await call(app, s, 'GET', '/api/v1/me')).statusCode, 401);
});

t.test('CSRF: every change with a session cookie needs the token; bearer tokens do not', async (t) => {
  const { app } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const body = { kind: 'number', number: '+1 555 444 0000' };
  const none = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', body, false);
  t.equal(none.statusCode, 403);
  t.equal(none.json<{ code: unknown }>().code, 'CS_ERR_CSRF');
  const wrong = await call(app, { ...alice, csrf: 'x'.repeat(43) }, 'POST', '/api/v1/orgs/acme/blocked', body);
  t.equal(wrong.statusCode, 403);
  t.equal((await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', body)).statusCode, 201);

  const tok = await call(app, alice, 'POST', '/api/v1/me/tokens', { name: 'softphone' });
  t.equal(tok.statusCode, 201);
  const token = tok.json<{ token: unknown }>().token as string;
  t.match(token, /^cs_[\w-]{43}$/);
  const viaBearer = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs/acme/blocked',
    headers: { authorization: `Bearer ${token}` },
    payload: { kind: 'number', number: '+15554440001' },
  });
  t.equal(viaBearer.statusCode, 201);
  t.equal(viaBearer.json<{ source: unknown }>().source, 'api', 'recorded as an API change');
  const badBearer = await app.inject({
    method: 'GET',
    url: '/api/v1/orgs',
    headers: { authorization: 'Bearer cs_nope' },
  });
  t.equal(badBearer.statusCode, 401);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/orgs' })).statusCode, 401, 'no credentials: 401');
});

t.test('validation: bad bodies name the field; wrong content type and oversized bodies are refused', async (t) => {
  const { app } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const badMode = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '+15554440000',
    mode: 'loud',
  });
  t.equal(badMode.statusCode, 400);
  t.equal(badMode.json<{ code: unknown }>().code, 'CS_ERR_INVALID_VALUE');
  t.equal(badMode.json<{ details: { field: unknown } }>().details.field, 'mode');
  t.match(badMode.json<{ message: unknown }>().message, /"mode".*voicemail, reject/);
  const missing = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', { number: '+15554440000' });
  t.equal(missing.json<{ details: { field: unknown } }>().details.field, 'kind');
  const extra = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '+15554440000',
    admin: true,
  });
  t.equal(extra.statusCode, 400);
  t.equal(extra.json<{ details: { field: unknown } }>().details.field, 'admin');
  const noNumber = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'number' });
  t.equal(noNumber.statusCode, 400);
  t.equal(noNumber.json<{ details: { key: unknown } }>().details.key, 'number');
  const notNumber = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'number', number: 'hello' });
  t.equal(notNumber.statusCode, 400);
  t.equal(notNumber.json<{ code: unknown }>().code, 'CS_ERR_INVALID_NUMBER');
  const badExpiry = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '+15554440000',
    expires: 'yesterday',
  });
  t.equal(badExpiry.json<{ details: { key: unknown } }>().details.key, 'expires');
  const protectedDid = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '+12125550100',
  });
  t.equal(protectedDid.statusCode, 409, "an org's own number cannot be blocked");
  const badQuery = await call(app, alice, 'GET', '/api/v1/orgs/acme/blocked?limit=100000');
  t.equal(badQuery.statusCode, 400);
  t.equal(badQuery.json<{ details: { field: unknown } }>().details.field, 'limit');

  const form = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs/acme/blocked',
    headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrf, 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'kind=number&number=%2B15554440000',
  });
  t.equal(form.statusCode, 415, 'form posts cannot reach the API');
  const textPlain = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs/acme/blocked',
    headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrf, 'content-type': 'text/plain' },
    payload: '{}',
  });
  t.equal(textPlain.statusCode, 415);
  const big = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '+15554440000',
    reason: 'x'.repeat(70 * 1024),
  });
  t.equal(big.statusCode, 413, 'bodyLimit 64 KiB');
  t.equal(big.json<{ code: unknown }>().code, 'CS_ERR_USAGE');
});

t.test('list and search: partial digits in any format; SQL meta-characters are plain text', async (t) => {
  const { app } = await startPanel(t);
  const sam = await signIn(app, 'sam');
  const all = await call(app, sam, 'GET', '/api/v1/orgs/acme/blocked');
  t.equal(all.json<{ total: unknown }>().total, 3);
  t.match(all.json<{ entries: Array<unknown> }>().entries[2], {
    value: '+15551234567',
    name: 'Spam Co',
    createdBy: 'tester',
    mode: 'reject',
  });
  for (const search of ['123-45', '(555) 123', '5551234567', '+1 555 123 4567']) {
    const r = await call(app, sam, 'GET', `/api/v1/orgs/acme/blocked?search=${encodeURIComponent(search)}`);
    t.same(
      r.json<{ entries: Array<{ value: string }> }>().entries.map((e) => e.value),
      ['+15551234567'],
      `search "${search}"`,
    );
  }
  const viaContact = await call(app, sam, 'GET', '/api/v1/orgs/acme/blocked?search=0002222');
  t.equal(
    viaContact.json<{ entries: Array<{ kind: unknown }> }>().entries[0]?.kind,
    'contact',
    "a contact's numbers are searched too",
  );
  for (const search of ["'; DROP TABLE entries; --", '%', '_', '" OR ""="', "\\'; --"]) {
    const r = await call(app, sam, 'GET', `/api/v1/orgs/acme/blocked?search=${encodeURIComponent(search)}`);
    t.equal(r.statusCode, 200);
    t.equal(r.json<{ total: unknown }>().total, 0, `"${search}" matches nothing`);
  }
  t.equal(
    (await call(app, sam, 'GET', '/api/v1/orgs/acme/blocked')).json<{ total: unknown }>().total,
    3,
    'table intact',
  );
  const paged = await call(app, sam, 'GET', '/api/v1/orgs/acme/blocked?limit=2&offset=2');
  t.equal(paged.json<{ entries: unknown[] }>().entries.length, 1);
  t.equal(paged.json<{ total: unknown }>().total, 3);
});

t.test('roles: agents never unblock and block only when the org allows it; supervisors do not unblock', async (t) => {
  const { app, ids } = await startPanel(t);
  const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
  const agentUnblock = await call(app, andy, 'POST', `/api/v1/orgs/acme/blocked/${ids.spam}/unblock`, {});
  t.equal(agentUnblock.statusCode, 403);
  t.equal(agentUnblock.json<{ code: unknown }>().code, 'CS_ERR_FORBIDDEN');
  t.equal((await call(app, sam, 'POST', `/api/v1/orgs/acme/blocked/${ids.spam}/unblock`, {})).statusCode, 403);
  const agentBlockOff = await call(app, andy, 'POST', `/api/v1/orgs/acme/contacts/${ids.contact}/block`, {});
  t.equal(agentBlockOff.statusCode, 403);
  t.match(agentBlockOff.json<{ message: unknown }>().message, /agents may block/);
  t.equal((await call(app, andy, 'GET', '/api/v1/orgs/acme/blocked')).statusCode, 200, 'agents see the list');
  t.equal((await call(app, andy, 'GET', '/api/v1/orgs/acme/settings')).statusCode, 403);
  t.equal(
    (await call(app, sam, 'PATCH', '/api/v1/orgs/acme/settings', { agentsMayBlock: true })).statusCode,
    403,
    'supervisors do not change settings',
  );
  t.equal(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/quarantine')).statusCode,
    403,
    'agents do not see held messages',
  );
  t.equal((await call(app, andy, 'GET', '/api/v1/orgs/acme/audit')).statusCode, 403);

  const on = await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', {
    agentsMayBlock: true,
    note: 'front desk asked',
  });
  t.equal(on.statusCode, 200);
  t.equal(on.json<{ agentsMayBlock: unknown }>().agentsMayBlock, true);
  const agentNumber = await call(app, andy, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '+15553330000',
    mode: 'voicemail',
  });
  t.equal(agentNumber.statusCode, 403, 'even with the setting on, agents block contacts only');
  t.match(agentNumber.json<{ message: unknown }>().message, /contacts only/);
  const newContact = await call(app, alice, 'POST', '/api/v1/orgs/acme/contacts', {
    name: 'Cold Caller',
    numbers: ['+15553330000'],
  });
  const agentBlockOn = await call(
    app,
    andy,
    'POST',
    `/api/v1/orgs/acme/contacts/${String(newContact.json<{ id: unknown }>().id)}/block`,
    { mode: 'voicemail' },
  );
  t.equal(agentBlockOn.statusCode, 201, 'a contact: allowed once the admin turns it on');
  t.equal(agentBlockOn.json<{ createdBy: unknown }>().createdBy, 'andy');
  t.equal(
    (
      await call(
        app,
        andy,
        'POST',
        `/api/v1/orgs/acme/blocked/${String(agentBlockOn.json<{ id: unknown }>().id)}/unblock`,
        {},
      )
    ).statusCode,
    403,
    'still never unblocks',
  );
  t.equal(
    (await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+1900' })).statusCode,
    201,
    'supervisors block',
  );
  t.equal(
    (await call(app, sam, 'POST', '/api/v1/orgs/acme/allowed', { kind: 'number', number: '+15551110000' })).statusCode,
    403,
    'allow is for admins',
  );
  const allowed = await call(app, alice, 'POST', '/api/v1/orgs/acme/allowed', {
    kind: 'number',
    number: '+15551110000',
    reason: 'the doctor',
  });
  t.equal(allowed.statusCode, 201);
  t.equal(allowed.json<{ list: unknown }>().list, 'allow');

  const unblocked = await call(app, alice, 'POST', `/api/v1/orgs/acme/blocked/${ids.spam}/unblock`, {
    note: 'ticket 42: was a patient',
  });
  t.equal(unblocked.statusCode, 200);
  t.equal(unblocked.json<{ removedBy: unknown }>().removedBy, 'alice');
  t.equal(unblocked.json<{ removedReason: unknown }>().removedReason, 'ticket 42: was a patient');
  t.equal(
    (await call(app, alice, 'POST', `/api/v1/orgs/acme/blocked/${ids.spam}/unblock`, {})).statusCode,
    404,
    'already unblocked',
  );
  const audit = await call(app, alice, 'GET', '/api/v1/orgs/acme/audit?action=unblock');
  t.match(audit.json<{ events: Array<unknown> }>().events[0], {
    actor: 'alice',
    action: 'unblock',
    target: '+15551234567',
    reason: 'ticket 42: was a patient',
    origin: /^panel /,
  });
  const byActor = await call(app, sam, 'GET', '/api/v1/orgs/acme/audit?actor=andy');
  t.ok(byActor.json<{ events: unknown[] }>().events.length >= 1);
  t.ok(
    byActor.json<{ events: Array<{ actor: string }> }>().events.every((e) => e.actor === 'andy'),
    'audit filter by actor',
  );
});

t.test('organisations: a user of one org can neither see nor change another', async (t) => {
  const { app, ids } = await startPanel(t);
  const [alice, bob] = [await signIn(app, 'alice'), await signIn(app, 'bob')];
  t.same(
    (await call(app, alice, 'GET', '/api/v1/orgs')).json<{ orgs: Array<{ slug: string }> }>().orgs.map((o) => o.slug),
    ['acme', 'globex'],
    'a user may manage several orgs',
  );
  t.same(
    (await call(app, bob, 'GET', '/api/v1/orgs')).json<{ orgs: Array<{ slug: string }> }>().orgs.map((o) => o.slug),
    ['globex'],
  );
  for (const [method, url, body] of [
    ['GET', '/api/v1/orgs/acme/blocked', undefined],
    ['POST', '/api/v1/orgs/acme/blocked', { kind: 'number', number: '+15554440000' }],
    ['POST', `/api/v1/orgs/acme/blocked/${ids.spam}/unblock`, {}],
    ['GET', '/api/v1/orgs/acme/quarantine', undefined],
    ['PATCH', '/api/v1/orgs/acme/settings', { agentsMayBlock: true }],
    ['GET', '/api/v1/orgs/acme/precheck?number=5551234567', undefined],
    ['GET', '/api/v1/orgs/nosuch/blocked', undefined],
  ] as const) {
    const r = await call(app, bob, method, url, body);
    t.equal(r.statusCode, 404, `${method} ${url}`);
    t.equal(r.json<{ code: unknown }>().code, 'CS_ERR_ORG_NOT_FOUND');
  }
  const viaOwnOrg = await call(app, bob, 'POST', `/api/v1/orgs/globex/blocked/${ids.spam}/unblock`, {});
  t.equal(viaOwnOrg.statusCode, 404, "acme's entry id through globex: not found");
  t.equal(
    (await call(app, bob, 'POST', `/api/v1/orgs/globex/quarantine/${String(ids.messages[0])}/delete`, {})).statusCode,
    404,
  );
  t.equal(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/blocked')).json<{ total: unknown }>().total,
    3,
    'nothing changed',
  );
});

t.test('contacts and quarantined messages: release, delete, release all / delete all, unblock contact', async (t) => {
  const { app, ids, deliverer } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  const held = await call(app, sam, 'GET', `/api/v1/orgs/acme/quarantine?contact=${ids.contact}`);
  t.equal(held.json<{ total: unknown }>().total, 2);
  t.equal(held.json<{ messages: Array<{ contactName: unknown }> }>().messages[0]?.contactName, 'Pushy Vendor');
  const rel = await call(app, sam, 'POST', `/api/v1/orgs/acme/quarantine/${String(ids.messages[0])}/release`, {});
  t.equal(rel.statusCode, 200);
  t.equal(rel.json<{ status: unknown }>().status, 'released');
  t.equal(deliverer?.delivered[0]?.body, 'Buy now!!!');
  t.equal(
    (await call(app, sam, 'POST', `/api/v1/orgs/acme/quarantine/${String(ids.messages[1])}/delete`, {})).statusCode,
    200,
  );
  t.equal((await call(app, sam, 'GET', '/api/v1/orgs/acme/quarantine')).json<{ total: unknown }>().total, 0);

  const c = await call(app, sam, 'POST', '/api/v1/orgs/acme/contacts', {
    name: 'Nuisance',
    numbers: ['555-777-0001', '555-777-0002'],
  });
  t.equal(c.statusCode, 201);
  t.same(c.json<{ numbers: unknown }>().numbers, ['+15557770001', '+15557770002']);
  const list = await call(app, sam, 'GET', '/api/v1/orgs/acme/contacts?search=Nuis');
  t.equal(list.json<{ contacts: unknown[] }>().contacts.length, 1);
  const blocked = await call(
    app,
    sam,
    'POST',
    `/api/v1/orgs/acme/contacts/${String(c.json<{ id: unknown }>().id)}/block`,
    { mode: 'voicemail', reason: 'spam' },
  );
  t.equal(blocked.statusCode, 201);
  t.match(blocked.json(), { kind: 'contact', name: 'Nuisance', mode: 'voicemail' });

  const settle = await call(app, sam, 'POST', '/api/v1/orgs/acme/quarantine/settle', {
    action: 'delete',
    contactId: ids.contact,
  });
  t.same(settle.json(), { action: 'delete', count: 0 });
  t.equal(
    (await call(app, sam, 'POST', `/api/v1/orgs/acme/contacts/${ids.contact}/unblock`, { messages: 'release' }))
      .statusCode,
    403,
    'supervisors do not unblock',
  );
  const un = await call(app, alice, 'POST', `/api/v1/orgs/acme/contacts/${ids.contact}/unblock`, {
    messages: 'release',
    note: 'reviewed',
  });
  t.equal(un.statusCode, 200);
  t.match(un.json(), { settled: 0, messages: 'release', entry: { kind: 'contact', removedBy: 'alice' } });
  const badChoice = await call(
    app,
    alice,
    'POST',
    `/api/v1/orgs/acme/contacts/${String(c.json<{ id: unknown }>().id)}/unblock`,
    { messages: 'keep' },
  );
  t.equal(badChoice.statusCode, 400);
  t.equal(badChoice.json<{ details: { field: unknown } }>().details.field, 'messages');
});

t.test('release without a PBX link fails clearly with 503 and the message stays held', async (t) => {
  const { app, ids } = await startPanel(t, { deliverer: false });
  const alice = await signIn(app, 'alice');
  const r = await call(app, alice, 'POST', `/api/v1/orgs/acme/quarantine/${String(ids.messages[0])}/release`, {});
  t.equal(r.statusCode, 503);
  t.equal(r.json<{ code: unknown }>().code, 'CS_ERR_UNAVAILABLE');
  t.match(r.json<{ message: unknown }>().message, /no PBX connection/);
  const all = await call(app, alice, 'POST', `/api/v1/orgs/acme/contacts/${ids.contact}/unblock`, {
    messages: 'release',
  });
  t.equal(all.statusCode, 503, 'unblock with release all stops before unblocking');
  t.equal((await call(app, alice, 'GET', '/api/v1/orgs/acme/quarantine')).json<{ total: unknown }>().total, 2);
  t.equal(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/blocked?search=0001111')).json<{ total: unknown }>().total,
    1,
    'contact still blocked',
  );
});

t.test('recent calls, dashboard, precheck, OpenAPI', async (t) => {
  const { app, ctx, clock } = await startPanel(t);
  const inbound = { org: 'acme', channel: 'call', direction: 'inbound', to: '+12125550100' } as const;
  for (const from of ['+15551234567', '+15551234567', '+15556660000']) {
    const req = { ...inbound, from };
    ctx.screener.recordVerdict(req, (await ctx.orgs.require('acme')).id, await ctx.screener.screen(req), 'test', 100);
  }
  clock.advance(86_400_000);
  const sms = { org: 'acme', channel: 'sms', direction: 'inbound', from: '+15550001111', to: '+12125550100' } as const;
  ctx.screener.recordVerdict(sms, (await ctx.orgs.require('acme')).id, await ctx.screener.screen(sms), 'test', 100);
  await ctx.recorder.flush();
  const [alice, andy] = [await signIn(app, 'alice'), await signIn(app, 'andy')];

  const calls = await call(app, andy, 'GET', '/api/v1/orgs/acme/calls');
  t.equal(calls.json<{ calls: unknown[] }>().calls.length, 4);
  t.same(
    calls.json<{ calls: Array<{ action: string }> }>().calls.map((c) => c.action),
    ['quarantine', 'allow', 'reject', 'reject'],
  );
  t.equal(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/calls?channel=sms')).json<{ calls: unknown[] }>().calls.length,
    1,
  );

  const dash = (await call(app, alice, 'GET', '/api/v1/orgs/acme/dashboard?days=3')).json<{
    days: unknown[];
    top: Array<{ lastAt: number }>;
    totals: unknown;
  }>();
  t.equal(dash.days.length, 3);
  t.same(dash.days.slice(1), [
    { day: '2026-11-01', calls: 2, messages: 0 },
    { day: '2026-11-02', calls: 0, messages: 1 },
  ]);
  t.same(dash.top[0], { number: '+15551234567', count: 2, lastAt: dash.top[0]?.lastAt });
  t.same(dash.totals, { screened: 4, blocked: 3 });
  t.equal((await call(app, andy, 'GET', '/api/v1/orgs/acme/dashboard')).statusCode, 403);

  const pre = await call(app, andy, 'GET', '/api/v1/orgs/acme/precheck?number=' + encodeURIComponent('(555) 123-4567'));
  t.equal(pre.statusCode, 200);
  t.match(pre.json(), { action: 'warn', normalized: '+15551234567', rule: { kind: 'exact', name: 'Spam Co' } });
  const clean = await call(app, andy, 'GET', '/api/v1/orgs/acme/precheck?number=5552220000');
  t.match(clean.json(), { action: 'allow', rule: null });
  t.equal(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/precheck')).json<{ details: { field: unknown } }>().details.field,
    'number',
  );

  const doc = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  t.equal(doc.statusCode, 200);
  const spec = doc.json<{
    openapi: string;
    paths: Record<string, Record<string, { requestBody?: unknown }> | undefined>;
  }>();
  t.equal(spec.openapi, '3.0.3');
  for (const path of [
    '/api/v1/orgs/{org}/blocked',
    '/api/v1/orgs/{org}/blocked/{id}/unblock',
    '/api/v1/orgs/{org}/quarantine/settle',
    '/api/v1/orgs/{org}/precheck',
    '/api/v1/orgs/{org}/settings',
  ]) {
    t.ok(spec.paths[path], `documents ${path}`);
  }
  t.ok(spec.paths['/api/v1/orgs/{org}/blocked']?.post?.requestBody, 'with body schemas');
});
