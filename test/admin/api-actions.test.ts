/**
 * The API routes issue #17 added ("every action from every door"), through fastify inject(): orgs
 * and DIDs, org settings incl. region, contact numbers, editing an entry (weakening = unblocking),
 * removing an allow entry, the inbound check. Each with the roles the model gives it, the refusals
 * that name what was wrong, and what the daemon's screening does afterwards.
 */
import t from 'tap';
import { apiCall as call, signIn, startPanel } from '../support/panel.js';

t.test('orgs and DIDs: get one org; add and remove DIDs (admins); settings incl. region and name', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam, andy, bob] = [
    await signIn(app, 'alice'),
    await signIn(app, 'sam'),
    await signIn(app, 'andy'),
    await signIn(app, 'bob'),
  ];

  const one = await call(app, andy, 'GET', '/api/v1/orgs/acme');
  t.equal(one.statusCode, 200);
  t.match(one.json(), {
    slug: 'acme',
    name: 'Acme Dental',
    region: 'US',
    settings: { rejectCode: 603, agentsMayBlock: false },
    dids: ['+12125550100'],
    permissions: { view: true, unblock: false, settings: false },
  });
  t.equal((await call(app, bob, 'GET', '/api/v1/orgs/acme')).statusCode, 404, "another org's admin: not found");

  t.equal(
    (await call(app, sam, 'POST', '/api/v1/orgs/acme/dids', { numbers: ['+12125550101'] })).statusCode,
    403,
    'supervisors do not change DIDs',
  );
  const added = await call(app, alice, 'POST', '/api/v1/orgs/acme/dids', {
    numbers: ['(212) 555-0101', '212.555.0102'],
  });
  t.equal(added.statusCode, 201);
  t.same(added.json(), {
    added: ['+12125550101', '+12125550102'],
    dids: ['+12125550100', '+12125550101', '+12125550102'],
  });
  const taken = await call(app, bob, 'POST', '/api/v1/orgs/globex/dids', { numbers: ['+12125550300', '+12125550101'] });
  t.equal(taken.statusCode, 409, 'a DID belongs to one org');
  t.equal(taken.json<{ code: unknown }>().code, 'CS_ERR_DID_TAKEN');
  t.same((await call(app, bob, 'GET', '/api/v1/orgs/globex')).json<{ dids: unknown }>().dids, [], 'all or nothing');
  const notNumber = await call(app, alice, 'POST', '/api/v1/orgs/acme/dids', { numbers: ['reception'] });
  t.equal(notNumber.statusCode, 400);
  t.equal(notNumber.json<{ code: unknown }>().code, 'CS_ERR_INVALID_NUMBER');
  const empty = await call(app, alice, 'POST', '/api/v1/orgs/acme/dids', { numbers: [] });
  t.equal(empty.json<{ details: { field: unknown } }>().details.field, 'numbers');

  t.equal(
    (await call(app, sam, 'POST', '/api/v1/orgs/acme/dids/remove', { numbers: ['+12125550101'] })).statusCode,
    403,
  );
  const notOurs = await call(app, alice, 'POST', '/api/v1/orgs/acme/dids/remove', {
    numbers: ['+12125550101', '+12125550999'],
  });
  t.equal(notOurs.statusCode, 400);
  t.match(notOurs.json(), {
    code: 'CS_ERR_INVALID_VALUE',
    message: /\+12125550999 is not a DID of organisation "acme"; nothing was removed/,
    details: { number: '+12125550999' },
  });
  const removed = await call(app, alice, 'POST', '/api/v1/orgs/acme/dids/remove', {
    numbers: ['212-555-0101'],
    note: 'ported out',
  });
  t.equal(removed.statusCode, 200);
  t.same(removed.json(), { removed: ['+12125550101'], dids: ['+12125550100', '+12125550102'] });
  t.match(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/audit?action=org.did.remove')).json<{ events: Array<unknown> }>()
      .events[0],
    { actor: 'alice', target: '+12125550101', reason: 'ported out' },
  );
  await ctx.feed.poll();
  t.equal(ctx.screener.orgForDid('+12125550101'), undefined, 'the daemon no longer routes the removed DID to acme');
  t.equal(ctx.screener.orgForDid('+12125550102')?.org.slug, 'acme', 'a DID added through the API routes to acme');

  // Settings: the existing fields plus region and name, admins only, validated before any write.
  t.equal((await call(app, sam, 'PATCH', '/api/v1/orgs/acme/settings', { region: 'GB' })).statusCode, 403);
  const badRegion = await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', { region: 'XX', rejectCode: 486 });
  t.equal(badRegion.statusCode, 400);
  t.match(badRegion.json(), { code: 'CS_ERR_INVALID_VALUE', details: { key: 'region' } });
  t.equal(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/settings')).json<{ rejectCode: unknown }>().rejectCode,
    603,
    'a bad region changes nothing else either',
  );
  const badCode = await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', { rejectCode: 500 });
  t.equal(badCode.json<{ details: { field: unknown } }>().details.field, 'rejectCode');
  const changed = await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', {
    region: 'gb',
    name: 'Acme Dental London',
    rejectCode: 486,
    outboundPolicy: 'deny',
    defaultMode: 'voicemail',
    agentsMayBlock: true,
    note: 'moved',
  });
  t.equal(changed.statusCode, 200);
  t.match(changed.json(), {
    name: 'Acme Dental London',
    region: 'GB',
    rejectCode: 486,
    outboundPolicy: 'deny',
    defaultMode: 'voicemail',
    agentsMayBlock: true,
  });
  t.match(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/audit?action=org.region')).json<{ events: Array<unknown> }>()
      .events[0],
    { reason: 'moved', detail: { from: 'US', to: 'GB' } },
  );
  await ctx.feed.poll();
  const uk = await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=' + encodeURIComponent('020 7946 0000'));
  t.match(uk.json(), { action: 'allow', normalized: '+442079460000' }, 'national numbers are now read as GB');
  // Issue #16: the identity settings and a check with the carrier's verstat.
  const identity = await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', {
    attestationFailed: 'reject',
    ownDidUnattested: 'allow',
    standinsUnidentified: true,
  });
  t.match(identity.json(), { attestationFailed: 'reject', ownDidUnattested: 'allow', standinsUnidentified: true });
  t.equal(
    (await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', { attestationFailed: 'maybe' })).statusCode,
    400,
    'an unknown action is refused',
  );
  await ctx.feed.poll();
  const failedCheck = await call(
    app,
    andy,
    'GET',
    '/api/v1/orgs/acme/check?number=' + encodeURIComponent('020 7946 0001') + '&verstat=TN-Validation-Failed',
  );
  t.match(failedCheck.json(), { action: 'reject', rule: { kind: 'attestation' }, attestation: 'failed' });
  t.match(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=' + encodeURIComponent('020 7946 0001'))).json(),
    { action: 'allow' },
    'no verstat: no rule',
  );
  await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', {
    attestationFailed: 'allow',
    ownDidUnattested: 'voicemail',
    standinsUnidentified: false,
  });
  await ctx.feed.poll();
  const block = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'number',
    number: '020 7946 0000',
  });
  t.match(block.json(), { value: '+442079460000', mode: 'voicemail' }, 'new default mode');
  t.equal(
    (await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'number', number: '999' })).statusCode,
    409,
    "GB's emergency number is protected now",
  );
});

t.test('contact numbers: add (contacts), remove (contacts; admins when the contact is blocked)', async (t) => {
  const { app, ids, ctx } = await startPanel(t);
  const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
  const url = `/api/v1/orgs/acme/contacts/${ids.contact}/numbers`;

  t.equal(
    (await call(app, andy, 'POST', url, { numbers: ['+15550003333'] })).statusCode,
    403,
    'agents do not edit contacts',
  );
  const added = await call(app, sam, 'POST', url, { numbers: ['(555) 000-3333'] });
  t.equal(added.statusCode, 200);
  t.match(added.json(), { id: ids.contact, numbers: ['+15550001111', '+15550002222', '+15550003333'], blocked: true });
  await ctx.feed.poll();
  t.match(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=5550003333')).json(),
    { action: 'reject', rule: { kind: 'contact' } },
    "a blocked contact's new number is blocked at once",
  );
  t.equal(
    (await call(app, sam, 'POST', url, { numbers: ['nope'] })).json<{ code: unknown }>().code,
    'CS_ERR_INVALID_NUMBER',
  );
  t.equal(
    (await call(app, sam, 'POST', '/api/v1/orgs/acme/contacts/999/numbers', { numbers: ['+15550004444'] })).statusCode,
    404,
  );

  const samRemove = await call(app, sam, 'POST', `${url}/remove`, { numbers: ['+15550003333'] });
  t.equal(samRemove.statusCode, 403, 'removing a number from a blocked contact unblocks it: admins only');
  t.match(samRemove.json<{ message: unknown }>().message, /only admins/);
  const notOn = await call(app, alice, 'POST', `${url}/remove`, { numbers: ['+15550003333', '+15559999999'] });
  t.equal(notOn.statusCode, 400);
  t.equal(notOn.json<{ details: { number: unknown } }>().details.number, '+15559999999');
  const removed = await call(app, alice, 'POST', `${url}/remove`, { numbers: ['555-000-3333'], note: 'wrong number' });
  t.equal(removed.statusCode, 200);
  t.same(removed.json<{ numbers: unknown }>().numbers, ['+15550001111', '+15550002222']);
  await ctx.feed.poll();
  t.match((await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=5550003333')).json(), { action: 'allow' });

  // An unblocked contact: supervisors may take numbers off it (nothing is unblocked by it).
  const c = await call(app, sam, 'POST', '/api/v1/orgs/acme/contacts', {
    name: 'Plumber',
    numbers: ['+15556660001', '+15556660002'],
  });
  const plain = await call(
    app,
    sam,
    'POST',
    `/api/v1/orgs/acme/contacts/${String(c.json<{ id: unknown }>().id)}/numbers/remove`,
    { numbers: ['+15556660002'] },
  );
  t.equal(plain.statusCode, 200);
  t.same(plain.json<{ numbers: unknown }>().numbers, ['+15556660001']);
});

t.test('editing an entry: fields in place; weakening needs unblock; scope as for blocking', async (t) => {
  const { app, ids, ctx } = await startPanel(t);
  const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
  const spam = `/api/v1/orgs/acme/blocked/${ids.spam}`;

  t.match(
    (await call(app, andy, 'GET', spam)).json(),
    { id: ids.spam, value: '+15551234567', mode: 'reject', name: 'Spam Co' },
    'one entry, for every role',
  );
  const renamed = await call(app, sam, 'PATCH', spam, {
    name: 'Spam Co (survey)',
    reason: 'survey robocalls',
    note: 'caller said so',
  });
  t.equal(renamed.statusCode, 200);
  t.match(renamed.json(), {
    id: ids.spam,
    name: 'Spam Co (survey)',
    reason: 'survey robocalls',
    mode: 'reject',
    expiresAt: null,
    createdBy: 'tester',
  });
  t.match(
    (await call(app, alice, 'GET', '/api/v1/orgs/acme/audit?action=block.update')).json<{ events: Array<unknown> }>()
      .events[0],
    { actor: 'sam', reason: 'caller said so', detail: { changed: ['name', 'reason'] } },
  );

  for (const [body, what] of [
    [{ mode: 'voicemail' }, 'reject → voicemail'],
    [{ expires: '1m' }, 'an expiry added'],
  ] as const) {
    const r = await call(app, sam, 'PATCH', spam, body);
    t.equal(r.statusCode, 403, `supervisor: ${what} is weakening`);
    t.match(r.json(), { code: 'CS_ERR_FORBIDDEN', details: { permission: 'unblock' } });
  }
  t.match(
    (await call(app, andy, 'GET', spam)).json(),
    { mode: 'reject', expiresAt: null },
    'refused edits changed nothing',
  );

  const weakened = await call(app, alice, 'PATCH', spam, { mode: 'voicemail', expires: '2026-12-31' });
  t.equal(weakened.statusCode, 200, 'admins may weaken');
  t.match(weakened.json(), { mode: 'voicemail', expiresAt: Date.parse('2026-12-31') });
  await ctx.feed.poll();
  t.match(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=5551234567')).json(),
    { action: 'voicemail', rule: { id: ids.spam } },
    'the daemon screens with the edit',
  );
  const stronger = await call(app, sam, 'PATCH', spam, { mode: 'reject', expires: null });
  t.equal(stronger.statusCode, 200, 'strengthening is blocking: supervisors may');
  t.match(stronger.json(), { mode: 'reject', expiresAt: null });
  const earlier = await call(app, alice, 'PATCH', spam, { expires: '30d' });
  t.equal(
    (await call(app, sam, 'PATCH', spam, { expires: '1d' })).statusCode,
    403,
    'an expiry brought forward is weakening',
  );
  t.equal((await call(app, sam, 'PATCH', spam, { expires: '60d' })).statusCode, 200, 'put later is not');
  t.equal(earlier.statusCode, 200);

  const badField = await call(app, alice, 'PATCH', spam, { kind: 'prefix' });
  t.equal(
    badField.json<{ details: { field: unknown } }>().details.field,
    'kind',
    'what an entry blocks is not edited (unblock and block anew)',
  );
  t.equal((await call(app, alice, 'PATCH', spam, {})).statusCode, 400, 'an empty edit is refused');
  t.equal(
    (await call(app, alice, 'PATCH', spam, { expires: 'soonish' })).json<{ details: { key: unknown } }>().details.key,
    'expires',
  );

  // Agents: contacts only, with the setting on; never weakening.
  t.equal(
    (await call(app, andy, 'PATCH', `/api/v1/orgs/acme/blocked/${ids.contactEntry}`, { reason: 'x' })).statusCode,
    403,
    'agents may not block: may not edit',
  );
  await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', { agentsMayBlock: true });
  t.equal(
    (await call(app, andy, 'PATCH', `/api/v1/orgs/acme/blocked/${ids.contactEntry}`, { reason: 'texts at night' }))
      .statusCode,
    200,
    'a contact entry, setting on',
  );
  t.equal(
    (await call(app, andy, 'PATCH', `/api/v1/orgs/acme/blocked/${ids.contactEntry}`, { mode: 'voicemail' })).statusCode,
    403,
    'weakening, never',
  );
  const agentNumber = await call(app, andy, 'PATCH', spam, { reason: 'x' });
  t.equal(agentNumber.statusCode, 403, 'a number entry: agents block contacts only');
  t.match(agentNumber.json<{ message: unknown }>().message, /contacts only/);

  // Supervisors: not a prefix shorter than the org's minimum (here an admin's +190; +1 needs 3 more digits).
  const prefix = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', {
    kind: 'prefix',
    prefix: '+190',
    mode: 'voicemail',
  });
  const samPrefix = await call(
    app,
    sam,
    'PATCH',
    `/api/v1/orgs/acme/blocked/${String(prefix.json<{ id: unknown }>().id)}`,
    { mode: 'reject' },
  );
  t.equal(samPrefix.statusCode, 403, 'a supervisor cannot take over a prefix they could not block');
  t.match(samPrefix.json<{ message: unknown }>().message, /at least 4 digits/);

  // Allow entries are edited and removed by admins, through /allowed.
  const allowed = await call(app, alice, 'POST', '/api/v1/orgs/acme/allowed', {
    kind: 'number',
    number: '+15551110000',
    name: 'Doctor',
  });
  const aid = allowed.json<{ id: unknown }>().id as number;
  t.equal(
    (await call(app, alice, 'PATCH', `/api/v1/orgs/acme/blocked/${aid}`, { name: 'x' })).statusCode,
    404,
    'an allow entry is not on the block list',
  );
  t.equal(
    (await call(app, alice, 'PATCH', `/api/v1/orgs/acme/allowed/${ids.spam}`, { name: 'x' })).statusCode,
    404,
    'nor a block entry on the allow list',
  );
  t.equal((await call(app, sam, 'PATCH', `/api/v1/orgs/acme/allowed/${aid}`, { name: 'x' })).statusCode, 403);
  t.equal(
    (await call(app, alice, 'PATCH', `/api/v1/orgs/acme/allowed/${aid}`, { mode: 'reject' })).json<{
      details: { field: unknown };
    }>().details.field,
    'mode',
    'allow entries have no mode',
  );
  t.match(
    (await call(app, alice, 'PATCH', `/api/v1/orgs/acme/allowed/${aid}`, { name: 'Dr Jones', expires: '7d' })).json(),
    { list: 'allow', name: 'Dr Jones', expiresAt: ctx.clock.now() + 7 * 86_400_000 },
  );
});

t.test(
  'allow-list removal: admins, allow entries only, audited as disallow; blocks under it apply again',
  async (t) => {
    const { app, ids, ctx } = await startPanel(t);
    const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
    const allowed = await call(app, alice, 'POST', '/api/v1/orgs/acme/allowed', {
      kind: 'number',
      number: '(555) 123-4567',
      reason: 'a patient',
    });
    await ctx.feed.poll();
    t.match((await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=5551234567')).json(), {
      action: 'allow',
      rule: { kind: 'allow' },
    });
    const url = `/api/v1/orgs/acme/allowed/${String(allowed.json<{ id: unknown }>().id)}/disallow`;
    t.equal((await call(app, sam, 'POST', url, {})).statusCode, 403);
    t.equal(
      (await call(app, alice, 'POST', `/api/v1/orgs/acme/allowed/${ids.spam}/disallow`, {})).statusCode,
      404,
      'a block entry is not removed through disallow',
    );
    const r = await call(app, alice, 'POST', url, { note: 'no longer a patient' });
    t.equal(r.statusCode, 200);
    t.match(r.json(), { list: 'allow', removedBy: 'alice', removedReason: 'no longer a patient' });
    t.match(
      (await call(app, alice, 'GET', '/api/v1/orgs/acme/audit?action=disallow')).json<{ events: Array<unknown> }>()
        .events[0],
      { target: '+15551234567', reason: 'no longer a patient' },
    );
    t.equal((await call(app, alice, 'POST', url, {})).statusCode, 404, 'already removed');
    await ctx.feed.poll();
    t.match(
      (await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=5551234567')).json(),
      { action: 'reject', rule: { id: ids.spam } },
      'the block applies again',
    );
  },
);

t.test('inbound check: the verdict a call gets, for every role, without counting a hit', async (t) => {
  const { app, ids, ctx } = await startPanel(t);
  const [andy, bob] = [await signIn(app, 'andy'), await signIn(app, 'bob')];
  const cases = [
    { q: 'number=' + encodeURIComponent('(555) 123-4567'), from: '(555) 123-4567', channel: 'call' as const },
    {
      q: 'number=' + encodeURIComponent('sip:+15559876543@carrier'),
      from: 'sip:+15559876543@carrier',
      channel: 'call' as const,
    },
    { q: 'number=5550001111&channel=sms', from: '5550001111', channel: 'sms' as const },
    { q: 'number=5550001111', from: '5550001111', channel: 'call' as const },
    { q: 'number=5552220000', from: '5552220000', channel: 'call' as const },
    { q: 'number=911', from: '911', channel: 'call' as const },
    { q: 'number=', from: '', channel: 'call' as const },
    { q: 'number=anonymous', from: 'anonymous', channel: 'call' as const },
  ];
  const hitsBefore = (await ctx.blocklist.getEntry(1, ids.spam))?.hitCount;
  const got: string[] = [];
  for (const c of cases) {
    const r = await call(app, andy, 'GET', `/api/v1/orgs/acme/check?${c.q}`);
    t.equal(r.statusCode, 200, c.q);
    const v = await ctx.screener.screen({
      org: 'acme',
      channel: c.channel,
      direction: 'inbound',
      from: c.from,
      to: '',
    });
    t.same(
      r.json(),
      { action: v.action, reason: v.reason, normalized: v.normalized, rule: v.rule, sipCode: v.sipCode ?? null },
      `same verdict as the daemon's screener: ${c.q}`,
    );
    got.push(r.json<{ action: string }>().action);
  }
  t.same(got, ['reject', 'voicemail', 'quarantine', 'reject', 'allow', 'allow', 'allow', 'allow']);
  t.equal(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=5551234567')).json<{ sipCode: unknown }>().sipCode,
    603,
  );

  await ctx.blocklist.block(
    'acme',
    { kind: 'unidentified' },
    { mode: 'voicemail' },
    { name: 'tester', source: 'cli', origin: 'test' },
  );
  await ctx.feed.poll();
  t.match((await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=anonymous')).json(), {
    action: 'voicemail',
    normalized: 'unidentified',
    rule: { kind: 'unidentified' },
  });
  t.match(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=5552220000&withheld=true')).json(),
    { action: 'voicemail', rule: { kind: 'unidentified' } },
    'withheld identity',
  );

  await ctx.recorder.flush();
  const hitsAfter = (await ctx.blocklist.getEntry(1, ids.spam))?.hitCount ?? 0;
  t.equal(
    hitsAfter - (hitsBefore ?? 0),
    1,
    'only the screener call of this test counted a hit; the API checks did not',
  );

  t.equal(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/check')).json<{ details: { field: unknown } }>().details.field,
    'number',
  );
  t.equal(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=1&channel=fax')).json<{
      details: { field: unknown };
    }>().details.field,
    'channel',
  );
  t.match(
    (await call(app, andy, 'GET', '/api/v1/orgs/acme/check?number=hello')).json(),
    { action: 'voicemail', normalized: 'unidentified' },
    'a caller ID that is not a number is what a PBX may send: the unidentified class, as the daemon screens it',
  );
  t.equal((await call(app, bob, 'GET', '/api/v1/orgs/acme/check?number=5551234567')).statusCode, 404);
});

t.test('the new routes are in the OpenAPI document with their bodies', async (t) => {
  const { app } = await startPanel(t);
  const spec = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
    paths: Record<
      string,
      Record<
        string,
        { requestBody?: unknown; responses: Record<string, unknown>; parameters?: Array<{ name: string }> }
      >
    >;
  }>();
  for (const [path, method] of [
    ['/api/v1/orgs/{org}', 'get'],
    ['/api/v1/orgs/{org}/dids', 'post'],
    ['/api/v1/orgs/{org}/dids/remove', 'post'],
    ['/api/v1/orgs/{org}/contacts/{id}/numbers', 'post'],
    ['/api/v1/orgs/{org}/contacts/{id}/numbers/remove', 'post'],
    ['/api/v1/orgs/{org}/blocked/{id}', 'get'],
    ['/api/v1/orgs/{org}/blocked/{id}', 'patch'],
    ['/api/v1/orgs/{org}/allowed/{id}', 'patch'],
    ['/api/v1/orgs/{org}/allowed/{id}/disallow', 'post'],
    ['/api/v1/orgs/{org}/check', 'get'],
  ] as const) {
    const op = spec.paths[path]?.[method];
    t.ok(op, `${method.toUpperCase()} ${path} documented`);
    if (method !== 'get') t.ok(op?.requestBody, `${method.toUpperCase()} ${path} has its body schema`);
  }
  t.ok(spec.paths['/api/v1/orgs/{org}/dids']!.post!.responses['201'], 'adding DIDs documented as 201');
  t.same(
    spec.paths['/api/v1/orgs/{org}/check']!.get!.parameters?.map((x) => x.name)
      .filter((n) => n !== 'org')
      .sort(),
    ['channel', 'number', 'verstat', 'withheld'],
  );
});

t.test('over a real socket with a bearer token: edit, check, DIDs as a script would', async (t) => {
  const { app, baseUrl, ids } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const token = (await call(app, alice, 'POST', '/api/v1/me/tokens', { name: 'script' })).json<{ token: unknown }>()
    .token as string;
  const sup = (await call(app, alice, 'POST', '/api/v1/me/tokens', { name: 'sup', role: 'supervisor' })).json<{
    token: unknown;
  }>().token as string;
  const http = (tok: string, method: string, path: string, body?: unknown) =>
    fetch(`${baseUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tok}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const edit = await http(token, 'PATCH', `/orgs/acme/blocked/${ids.spam}`, {
    reason: 'edited over HTTP',
    note: 'script',
  });
  t.equal(edit.status, 200);
  t.match(await edit.json(), { reason: 'edited over HTTP', mode: 'reject' });
  const weaken = await http(sup, 'PATCH', `/orgs/acme/blocked/${ids.spam}`, { mode: 'voicemail' });
  t.equal(weaken.status, 403, "an admin's supervisor token cannot weaken: the token acts with its own role");
  const check = await http(token, 'GET', `/orgs/acme/check?number=${encodeURIComponent('+1 555 123 4567')}`);
  t.match(await check.json(), { action: 'reject', sipCode: 603, rule: { id: ids.spam } });
  const dids = await http(token, 'POST', '/orgs/acme/dids', { numbers: ['+12125550111'] });
  t.equal(dids.status, 201);
  t.equal((await http(sup, 'POST', '/orgs/acme/dids/remove', { numbers: ['+12125550111'] })).status, 403);
  t.same(await (await http(token, 'POST', '/orgs/acme/dids/remove', { numbers: ['+12125550111'] })).json(), {
    removed: ['+12125550111'],
    dids: ['+12125550100'],
  });
});
