/**
 * Issue #14, finding by finding, tried as the attacker in the issue tried them. Each subtest
 * failed on the code before the fix (the comment above it says what the old code did).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { safeNext } from '../../daemon/admin/page-routes.js';
import { tempDir } from '../support/harness.js';
import { PASSWORD, signIn, startPanel } from '../support/panel.js';

type Creds = { cookie: string; csrf: string };
const SAME_ORIGIN = 'http://localhost:80';

function call(
  app: FastifyInstance,
  who: Creds | { bearer: string } | null,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const h: Record<string, string> = { ...headers };
  if (who && 'bearer' in who) h.authorization = `Bearer ${who.bearer}`;
  else if (who) {
    h.cookie = who.cookie;
    h['x-csrf-token'] = who.csrf;
  }
  return app.inject({ method, url, headers: h, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

function form(
  app: FastifyInstance,
  who: Creds | null,
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(who ? { cookie: who.cookie } : {}),
      ...headers,
    },
    payload: new URLSearchParams({ ...fields, ...(who ? { _csrf: who.csrf } : {}) }).toString(),
  });
}

// Before: a re-post overwrote mode and expiry after a check of "may block" only.
t.test(
  "a supervisor cannot weaken an admin's block by re-posting it; an admin can; strengthening is fine",
  async (t) => {
    const { app, ids } = await startPanel(t);
    const sam = await signIn(app, 'sam');
    const alice = await signIn(app, 'alice');
    const spam = { kind: 'number', number: '(555) 123-4567' }; // fixture: reject, no expiry, by tester
    for (const [what, body] of [
      ['reject → voicemail', { ...spam, mode: 'voicemail' }],
      ['an expiry added', { ...spam, mode: 'reject', expires: '1m' }],
      ['default mode voicemail by omission', null],
    ] as const) {
      if (body === null) {
        await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', { defaultMode: 'voicemail' });
        const r = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', spam);
        t.equal(r.statusCode, 403, what);
        await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', { defaultMode: 'reject' });
        continue;
      }
      const r = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', body);
      t.equal(r.statusCode, 403, what);
      t.match(r.json(), { code: 'CS_ERR_FORBIDDEN', message: /weaken/ });
    }
    const viaForm = await form(
      app,
      sam,
      '/block',
      { org: 'acme', kind: 'number', number: '+15551234567', mode: 'voicemail', expires: '1m' },
      { origin: SAME_ORIGIN },
    );
    t.equal(viaForm.statusCode, 403, 'the Block form is refused the same way');
    const list = await call(app, alice, 'GET', '/api/v1/orgs/acme/blocked?search=5551234567');
    t.match(
      list.json<{ entries: Array<unknown> }>().entries[0],
      { id: ids.spam, mode: 'reject', expiresAt: null },
      'the entry is unchanged',
    );
    t.equal(
      (await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { ...spam, mode: 'reject', reason: 'still spam' }))
        .statusCode,
      201,
      'same strength: a supervisor may re-post (reason updated)',
    );
    t.equal(
      (
        await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', {
          kind: 'number',
          number: '555-987-6543',
          mode: 'reject',
        })
      ).statusCode,
      201,
      'voicemail → reject strengthens: allowed',
    );
    t.equal(
      (await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', { ...spam, mode: 'voicemail', expires: '1m' }))
        .statusCode,
      201,
      'an admin may weaken (it is an unblock)',
    );
  },
);

// Before: with "agents may block" on, an agent created the prefix +1.
t.test(
  'agents block contacts only, and only with the setting on; supervisors have a prefix minimum per org',
  async (t) => {
    const { app, ids } = await startPanel(t);
    const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
    t.equal(
      (await call(app, andy, 'POST', `/api/v1/orgs/acme/contacts/${ids.contact}/block`, { mode: 'reject' })).statusCode,
      403,
      'setting off: no',
    );
    await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', { agentsMayBlock: true });
    for (const body of [
      { kind: 'prefix', prefix: '+1' },
      { kind: 'number', number: '+15553330000' },
      { kind: 'unidentified' },
    ]) {
      const r = await call(app, andy, 'POST', '/api/v1/orgs/acme/blocked', body);
      t.equal(r.statusCode, 403, `agent ${body.kind}: refused`);
    }
    t.equal(
      (await call(app, andy, 'POST', `/api/v1/orgs/acme/contacts/${ids.contact}/block`, { mode: 'reject' })).statusCode,
      201,
      'agent contact, setting on: yes',
    );
    const blockPage = await app.inject({ method: 'GET', url: '/block?org=acme', headers: { cookie: andy.cookie } });
    t.match(blockPage.body, 'name="kind" value="contact" checked', 'the Block page offers an agent contacts');
    t.notMatch(blockPage.body, /name="kind" value="(number|prefix|unidentified)"/, 'and nothing else');

    for (const prefix of ['+1', '+15', '+155']) {
      const r = await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix });
      t.equal(r.statusCode, 403, `supervisor ${prefix}: shorter than country code + 3`);
      t.match(r.json<{ message: unknown }>().message, /at least 4 digits/);
    }
    t.equal(
      (await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+4420' })).statusCode,
      403,
      '+44 20: a two-digit code needs 5 digits',
    );
    t.equal(
      (await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+44207' })).statusCode,
      201,
      '+44 207: code + 3',
    );
    t.equal(
      (await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+1555' })).statusCode,
      201,
      '+1 555: allowed',
    );
    t.equal(
      (await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+1' })).statusCode,
      201,
      'admins: any prefix',
    );
    const set = await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', {
      supervisorMinPrefixDigits: 7,
      note: 'only exchanges',
    });
    t.equal(set.json<{ supervisorMinPrefixDigits: unknown }>().supervisorMinPrefixDigits, 7);
    t.equal(
      (await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+155566' })).statusCode,
      403,
      'per-org minimum raised to 7',
    );
    t.equal(
      (await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'prefix', prefix: '+1555667' })).statusCode,
      201,
    );
    t.equal(
      (await call(app, sam, 'PATCH', '/api/v1/orgs/acme/settings', { supervisorMinPrefixDigits: 1 })).statusCode,
      403,
      'only admins change it',
    );
    t.equal(
      (await call(app, alice, 'PATCH', '/api/v1/orgs/acme/settings', { supervisorMinPrefixDigits: 0 })).statusCode,
      400,
    );
  },
);

// Before: tokens never expired, could not be listed or revoked, any role minted any, enable revived them.
t.test(
  'tokens: named, scoped, expiring, listed, revoked; disable revokes for good; creation and use audited',
  async (t) => {
    const { app, clock, server } = await startPanel(t);
    const [alice, andy] = [await signIn(app, 'alice'), await signIn(app, 'andy')];
    t.equal(
      (await call(app, andy, 'POST', '/api/v1/me/tokens', { name: 'x', role: 'admin' })).statusCode,
      403,
      'an agent cannot mint an admin token',
    );
    const ro = await call(app, alice, 'POST', '/api/v1/me/tokens', { name: 'dashboard screen', readOnly: true });
    t.equal(ro.statusCode, 201);
    t.match(ro.json(), {
      name: 'dashboard screen',
      role: 'admin',
      readOnly: true,
      state: 'active',
      expiresAt: clock.now() + 90 * 86_400_000,
      token: /^cs_/,
    });
    const sup = await call(app, alice, 'POST', '/api/v1/me/tokens', {
      name: 'script',
      role: 'supervisor',
      expiresInDays: 7,
    });
    t.equal(sup.statusCode, 201);
    const roToken = { bearer: ro.json<{ token: string }>().token };
    const supToken = { bearer: sup.json<{ token: string }>().token };
    t.equal((await call(app, roToken, 'GET', '/api/v1/orgs/acme/blocked')).statusCode, 200, 'read-only reads');
    t.equal(
      (await call(app, roToken, 'POST', '/api/v1/orgs/acme/blocked', { kind: 'number', number: '+15554440000' }))
        .statusCode,
      403,
      'read-only does not write',
    );
    t.equal(
      (await call(app, supToken, 'POST', `/api/v1/orgs/acme/blocked/1/unblock`, {})).statusCode,
      403,
      'a supervisor-role token of an admin cannot unblock',
    );
    t.equal(
      (await call(app, supToken, 'POST', '/api/v1/me/tokens', { name: 'child' })).statusCode,
      403,
      'a token cannot mint tokens',
    );
    clock.advance(5_000);
    const listed = await call(app, alice, 'GET', '/api/v1/me/tokens');
    t.equal(listed.json<{ tokens: unknown[] }>().tokens.length, 2);
    t.notMatch(listed.body, /cs_/, 'the secrets are never listed');
    t.equal(
      listed
        .json<{ tokens: Array<{ id: number; lastUsedAt: number | null }> }>()
        .tokens.find((x) => x.id === ro.json<{ id: number }>().id)?.lastUsedAt,
      clock.now() - 5_000,
      'last use shown',
    );
    t.equal(
      (await call(app, alice, 'POST', `/api/v1/me/tokens/${String(sup.json<{ id: unknown }>().id)}/revoke`, {}))
        .statusCode,
      200,
    );
    t.equal((await call(app, supToken, 'GET', '/api/v1/me')).statusCode, 401, 'revoked');
    t.equal(
      (await call(app, andy, 'POST', `/api/v1/me/tokens/${String(ro.json<{ id: unknown }>().id)}/revoke`, {}))
        .statusCode,
      404,
      "not someone else's",
    );

    const andyTok = await call(app, andy, 'POST', '/api/v1/me/tokens', { name: 'softphone' });
    const andyToken = { bearer: andyTok.json<{ token: string }>().token };
    await server.users.setDisabled('andy', true, { name: 'tester', source: 'cli', origin: 'test' });
    await server.users.setDisabled('andy', false, { name: 'tester', source: 'cli', origin: 'test' });
    t.equal(
      (await call(app, andyToken, 'GET', '/api/v1/me')).statusCode,
      401,
      'disable revoked it; enable did not revive it',
    );
    t.equal((await server.users.listTokens('andy'))[0]?.revokedReason, 'user disabled');

    clock.advance(90 * 86_400_000);
    t.equal((await call(app, roToken, 'GET', '/api/v1/me')).statusCode, 401, 'expired after 90 days');
    const audit = (await call(app, await signIn(app, 'alice'), 'GET', '/api/v1/orgs/acme/audit?target=alice&limit=50'))
      .json<{ events: Array<{ action: string }> }>()
      .events.map((e) => e.action);
    for (const a of ['user.token.add', 'user.token.use', 'user.token.revoke']) t.ok(audit.includes(a), `audited: ${a}`);
  },
);

// Before: POST /signin accepted a cross-site form post (login CSRF); forms checked only the CSRF token.
t.test('Origin/Referer: sign-in and every form post refuse another site', async (t) => {
  const { app, ids } = await startPanel(t);
  const evil = await form(
    app,
    null,
    '/signin',
    { name: 'sam', password: PASSWORD, next: '/' },
    { origin: 'https://evil.example' },
  );
  t.equal(evil.statusCode, 403, 'login CSRF refused');
  t.notOk(
    evil.cookies.find((c) => c.name === 'cs_session'),
    'no session handed out',
  );
  t.equal(
    (await form(app, null, '/signin', { name: 'sam', password: PASSWORD }, { referer: 'https://evil.example/page' }))
      .statusCode,
    403,
    'Referer alone is checked too',
  );
  t.equal(
    (await form(app, null, '/signin', { name: 'sam', password: PASSWORD }, { origin: 'null' })).statusCode,
    403,
    'an opaque origin (sandboxed frame) is refused',
  );
  t.equal(
    (
      await app.inject({
        method: 'POST',
        url: '/api/v1/session',
        headers: { origin: 'https://evil.example' },
        payload: { name: 'sam', password: PASSWORD },
      })
    ).statusCode,
    403,
    'the JSON sign-in too',
  );
  const ok = await form(
    app,
    null,
    '/signin',
    { name: 'sam', password: PASSWORD, next: '/contacts' },
    { origin: SAME_ORIGIN },
  );
  t.equal(ok.statusCode, 303);
  t.equal(ok.headers.location, '/contacts');
  const alice = await signIn(app, 'alice');
  const cross = await form(
    app,
    alice,
    `/blocked/${ids.spam}/unblock`,
    { org: 'acme' },
    { origin: 'https://evil.example' },
  );
  t.equal(cross.statusCode, 403, 'a form post with the right CSRF token but from another site');
  t.equal(
    (
      await form(
        app,
        alice,
        `/blocked/${ids.spam}/unblock`,
        { org: 'acme' },
        { referer: `${SAME_ORIGIN}/blocked/${ids.spam}/unblock` },
      )
    ).statusCode,
    303,
    'same site: done',
  );
});

// Before: `/<TAB>/evil.example` passed the check.
t.test('next: only plain local paths', async (t) => {
  for (const bad of [
    '/\t/evil.example',
    '//evil.example',
    '/\\evil.example',
    '/\n/evil',
    '/%09x\u0000',
    'https://evil.example',
    '/x\u007f',
    '\\\\evil',
  ]) {
    t.equal(safeNext(bad), '/', JSON.stringify(bad));
  }
  t.equal(safeNext('/blocked?org=acme'), '/blocked?org=acme');
  const { app } = await startPanel(t);
  const r = await form(app, null, '/signin', { name: 'sam', password: PASSWORD, next: '/\t/evil.example' });
  t.equal(r.headers.location, '/');
  const page = await app.inject({ method: 'GET', url: '/signin?next=%2F%09%2Fevil.example' });
  t.match(page.body, 'name="next" value="/"');
});

// Before: ?notice= put any text in the green banner; page=1e308 gave a 500 with the database's text.
t.test('notices come from a fixed set; bad query parameters are 400 naming the parameter', async (t) => {
  const { app } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie: alice.cookie } });
  const spoof = await get('/blocked?org=acme&notice=Your%20password%20expired%2C%20call%20%2B1%20900%20555%200100');
  t.equal(spoof.statusCode, 400);
  t.notMatch(spoof.body, /password expired/);
  t.match(spoof.body, /notice/);
  t.match(
    (await get('/settings?org=acme&notice=settings-saved')).body,
    '<p class="notice" role="status">Settings saved.</p>',
  );
  t.equal((await get('/blocked?org=acme&notice=unblocked&ref=1e3')).statusCode, 400, 'ref must be a number');
  for (const path of ['/blocked', '/calls', '/audit']) {
    for (const page of ['1e308', '-1', '0', 'abc', '99999999999']) {
      const r = await get(`${path}?org=acme&page=${page}`);
      t.equal(r.statusCode, 400, `${path} page=${page}`);
      t.match(r.body, /query parameter (&quot;|")page(&quot;|")/);
      t.notMatch(r.body, /SQLITE|sql|offset|stack/i, 'no internals');
    }
  }
  t.equal((await get('/blocked?org=acme&page=2')).statusCode, 200);
});

// Before: the throttle was per (name, address): three addresses had three budgets for one account.
t.test('throttling: rotating addresses or names does not help; a metric counts refusals', async (t) => {
  const { app, daemon } = await startPanel(t);
  const signInFrom = (name: string, password: string, ip: string) =>
    app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: ip, payload: { name, password } });
  for (let i = 0; i < 10; i++) await signInFrom('alice', 'wrong-password', `198.51.100.${i}`);
  const locked = await signInFrom('alice', PASSWORD, '203.0.113.50');
  t.equal(locked.statusCode, 429, 'ten failures from ten addresses lock the account for everyone');
  t.ok(Number(locked.headers['retry-after']) > 0);
  let refused = 0;
  for (let i = 0; i < 40; i++)
    if ((await signInFrom(`nobody${i}`, 'whatever-123', `192.0.2.${i}`)).statusCode === 429) refused++;
  t.ok(refused >= 10, `unknown names from 40 addresses share one budget: ${refused} refused`);
  const metrics = await daemon.context.metrics.render();
  t.match(metrics.body, /callscreen_signin_total\{outcome="account"\} [1-9]/);
  t.match(metrics.body, /callscreen_signin_total\{outcome="unknown"\} [1-9]/);
});

// Before: the Secure flag depended on secure_cookies alone, and no HSTS was sent.
t.test('with TLS on: Secure cookie and HSTS whatever secure_cookies says', async (t) => {
  const dir = tempDir(t);
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ],
    { stdio: 'ignore' },
  );
  const { app } = await startPanel(t, {
    toml: `[admin]\ntls_cert = ${JSON.stringify(cert)}\ntls_key = ${JSON.stringify(key)}\n`,
  });
  const r = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { name: 'sam', password: PASSWORD } });
  t.equal(r.statusCode, 200);
  t.match(String(r.headers['set-cookie']), /; Secure/);
  t.equal(r.headers['strict-transport-security'], 'max-age=31536000');
  t.equal(
    (await app.inject({ method: 'GET', url: '/signin' })).headers['strict-transport-security'],
    'max-age=31536000',
  );
});

// Before: sessions lasted session_hours however long unused; nobody could change a password.
t.test('sessions: idle timeout; password change and reset end the other sessions', async (t) => {
  const { app, clock } = await startPanel(t);
  const sam1 = await signIn(app, 'sam');
  clock.advance(29 * 60_000);
  t.equal((await call(app, sam1, 'GET', '/api/v1/me')).statusCode, 200, 'used within 30 min');
  clock.advance(31 * 60_000);
  t.equal((await call(app, sam1, 'GET', '/api/v1/me')).statusCode, 401, 'idle 31 min: ended');

  const [a, b] = [await signIn(app, 'sam'), await signIn(app, 'sam')];
  const wrong = await call(app, a, 'POST', '/api/v1/me/password', {
    current: 'not-it-at-all',
    password: 'a-new-long-password',
  });
  t.equal(wrong.statusCode, 403);
  t.equal(
    (await call(app, a, 'POST', '/api/v1/me/password', { current: PASSWORD, password: 'short' })).statusCode,
    400,
    'too short: 400 naming the field',
  );
  const changed = await call(app, a, 'POST', '/api/v1/me/password', {
    current: PASSWORD,
    password: 'a-new-long-password',
  });
  t.equal(changed.statusCode, 200);
  t.equal((await call(app, a, 'GET', '/api/v1/me')).statusCode, 200, 'this session stays');
  t.equal((await call(app, b, 'GET', '/api/v1/me')).statusCode, 401, 'the other one ended');
  await signIn(app, 'sam', 'a-new-long-password');

  const alice = await signIn(app, 'alice');
  const bob = await signIn(app, 'bob');
  t.equal(
    (await call(app, bob, 'POST', '/api/v1/orgs/globex/users/sam/password', { password: 'bobs-choice-1234' }))
      .statusCode,
    404,
    'sam is not in globex',
  );
  t.equal(
    (await call(app, bob, 'POST', '/api/v1/orgs/globex/users/alice/password', { password: 'bobs-choice-1234' }))
      .statusCode,
    403,
    'alice also works in acme, which bob does not manage',
  );
  t.equal(
    (await call(app, a, 'POST', '/api/v1/orgs/acme/users/andy/password', { password: 'sams-choice-1234' })).statusCode,
    403,
    'supervisors do not reset',
  );
  t.equal(
    (await call(app, alice, 'POST', '/api/v1/orgs/acme/users/sam/password', { password: 'reset-by-alice-1' }))
      .statusCode,
    200,
  );
  t.equal((await call(app, a, 'GET', '/api/v1/me')).statusCode, 401, 'a reset ends every session of the user');
  await signIn(app, 'sam', 'reset-by-alice-1');
});

// Before: a database error reached the page and the JSON body with its driver's text.
t.test('errors never show internals: a 5xx carries only the catalogue title', async (t) => {
  const { toHttpError } = await import('../../daemon/admin/http-errors.js');
  const { CallscreenError, toCallscreenError } = await import('../../daemon/core/errors.js');
  const wrapped = toHttpError(
    toCallscreenError(new Error('SQLITE_ERROR: near "OFFSET": syntax error in /var/lib/callscreen/callscreen.db')),
  );
  t.equal(wrapped.status, 500);
  t.same(wrapped.body, { code: 'CS_ERR_INTERNAL', message: 'internal error; see the daemon log', details: {} });
  const corrupt = toHttpError(
    new CallscreenError('CS_ERR_DB_BUSY', 'database /var/lib/callscreen/callscreen.db is locked', {
      path: '/var/lib/callscreen/callscreen.db',
    }),
  );
  t.notMatch(JSON.stringify(corrupt.body), /var\/lib/);
  t.equal(
    toHttpError(new CallscreenError('CS_ERR_UNAVAILABLE', 'no PBX connection is configured')).body.message,
    'no PBX connection is configured',
    'our own 503 advice stays',
  );
  t.match(
    toHttpError(new CallscreenError('CS_ERR_INVALID_VALUE', 'query parameter "page" …', { field: 'page' })).body,
    { details: { field: 'page' } },
  );
});
