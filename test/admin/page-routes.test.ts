/** The HTML panel through inject(): sign-in form, escaping of stored text, CSP, form CSRF, role-aware pages. */
import t from 'tap';
import { PASSWORD, postForm as post, signIn, startPanel } from '../support/panel.js';

t.test('pages need a session; the sign-in form signs in and only redirects to local paths', async (t) => {
  const { app } = await startPanel(t);
  const anon = await app.inject({ method: 'GET', url: '/blocked?org=acme' });
  t.equal(anon.statusCode, 303);
  t.equal(anon.headers.location, '/signin?next=%2Fblocked%3Forg%3Dacme');
  const form = await app.inject({ method: 'GET', url: '/signin' });
  t.match(form.body, /<label for="password">Password<\/label>/);
  const bad = await app.inject({
    method: 'POST',
    url: '/signin',
    payload: { name: 'alice', password: 'nope-nope-nope', next: '/' },
  });
  t.equal(bad.statusCode, 401);
  t.match(bad.body, /wrong user name or password/);
  const ok = await app.inject({
    method: 'POST',
    url: '/signin',
    payload: { name: 'alice', password: PASSWORD, next: '//evil.example/' },
  });
  t.equal(ok.statusCode, 303);
  t.equal(ok.headers.location, '/', 'an off-site next is ignored');
  t.ok(ok.cookies.find((c) => c.name === 'cs_session'));
});

t.test('stored XSS in name and reason is rendered escaped; strict CSP on every page', async (t) => {
  const { app, ctx } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  await ctx.blocklist.block(
    'acme',
    { kind: 'exact', number: '+15554440000' },
    {
      name: '<script>alert("name")</script>',
      reason: '"><img src=x onerror=alert(1)>',
    },
    { name: '<b>mallory</b>', source: 'api', origin: 'test' },
  );
  const res = await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: alice.cookie } });
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, /<script>alert/);
  t.notMatch(res.body, /<img src=x/);
  t.notMatch(res.body, /<b>mallory/);
  t.match(res.body, '&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;');
  t.match(res.body, '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  t.match(res.body, '&lt;b&gt;mallory&lt;/b&gt;');
  const csp = String(res.headers['content-security-policy']);
  t.match(csp, "script-src 'self'");
  t.match(csp, "default-src 'none'");
  t.match(csp, "frame-ancestors 'none'");
  t.notMatch(res.body, /<script>(?!<\/script>)|\son\w+="/, 'no inline script or event handlers of our own');
  const search = await app.inject({
    method: 'GET',
    url: `/blocked?org=acme&search=${encodeURIComponent('<svg onload=alert(1)>')}`,
    headers: { cookie: alice.cookie },
  });
  t.match(search.body, '&lt;svg onload=alert(1)&gt;');
  t.notMatch(search.body, '<svg onload');
  const held = await app.inject({ method: 'GET', url: '/quarantine?org=acme', headers: { cookie: alice.cookie } });
  t.match(held.body, 'Last chance &lt;b&gt;50% off&lt;/b&gt;', 'message bodies escaped too');
});

t.test('seed 000 page: columns, empty state, paging, unblock confirmation and form CSRF', async (t) => {
  const { app, ids } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const page = await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: alice.cookie } });
  for (const col of ['Caller ID', 'Name', 'Blocked By', 'Blocked On', 'Mode', 'Reason', 'Expires', 'Hits'])
    t.match(page.body, `<th scope="col">${col}</th>`);
  t.match(page.body, 'Block all communications');
  t.match(page.body, 'Block and allow voicemails');
  t.match(
    page.body,
    /<option value="globex">Globex Clinic \(globex\)<\/option>/,
    'org picker lists every org of the user',
  );
  const empty = await app.inject({ method: 'GET', url: '/blocked?org=globex', headers: { cookie: alice.cookie } });
  t.match(empty.body, 'There are no blocked callers for Globex Clinic. Try another organisation.');
  const confirm = await app.inject({
    method: 'GET',
    url: `/blocked/${ids.spam}/unblock?org=acme`,
    headers: { cookie: alice.cookie },
  });
  t.match(confirm.body, 'Blocked by <strong>tester</strong>');
  t.match(confirm.body, 'Confirm unblock');
  const noCsrf = await app.inject({
    method: 'POST',
    url: `/blocked/${ids.spam}/unblock`,
    headers: { cookie: alice.cookie },
    payload: { org: 'acme' },
  });
  t.equal(noCsrf.statusCode, 403);
  t.match(noCsrf.body, /CSRF/);
  const done = await post(app, alice, `/blocked/${ids.spam}/unblock`, { note: 'mistake' });
  t.equal(done.statusCode, 303);
  t.equal(String(done.headers.location), `/blocked?org=acme&notice=unblocked&ref=${ids.spam}`);
  const banner = await app.inject({
    method: 'GET',
    url: String(done.headers.location),
    headers: { cookie: alice.cookie },
  });
  t.match(
    banner.body,
    '<p class="notice" role="status">Unblocked +15551234567.</p>',
    'the banner names the entry, read from the database',
  );
});

t.test('agents see no Unblock button and are refused the confirmation page; admins-only pages', async (t) => {
  const { app, ids } = await startPanel(t);
  const andy = await signIn(app, 'andy');
  const page = await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: andy.cookie } });
  t.notMatch(page.body, '>Unblock<');
  t.notMatch(page.body, 'href="/settings');
  t.equal(
    (
      await app.inject({
        method: 'GET',
        url: `/blocked/${ids.spam}/unblock?org=acme`,
        headers: { cookie: andy.cookie },
      })
    ).statusCode,
    403,
  );
  t.equal(
    (await app.inject({ method: 'GET', url: '/settings?org=acme', headers: { cookie: andy.cookie } })).statusCode,
    403,
  );
  t.equal(
    (await app.inject({ method: 'GET', url: '/blocked?org=globex', headers: { cookie: andy.cookie } })).statusCode,
    404,
  );
  for (const path of ['/block', '/contacts', '/calls']) {
    const r = await app.inject({ method: 'GET', url: `${path}?org=acme`, headers: { cookie: andy.cookie } });
    t.equal(r.statusCode, path === '/block' ? 403 : 200, path);
  }
});

t.test('every page renders for an admin; settings and block forms work', async (t) => {
  const { app } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  for (const path of [
    '/blocked',
    '/block',
    '/contacts',
    '/quarantine',
    '/calls',
    '/dashboard',
    '/audit',
    '/settings',
  ]) {
    const r = await app.inject({ method: 'GET', url: `${path}?org=acme`, headers: { cookie: alice.cookie } });
    t.equal(r.statusCode, 200, path);
    t.match(r.body, /<meta name="viewport"/);
  }
  const settings = { agentsMayBlock: 'on', defaultMode: 'voicemail', rejectCode: '486', outboundPolicy: 'confirm' };
  const saved = await post(app, alice, '/settings', settings);
  t.equal(saved.statusCode, 303);
  const api = await app.inject({ method: 'GET', url: '/api/v1/orgs/acme/settings', headers: { cookie: alice.cookie } });
  t.same(api.json(), {
    region: 'US',
    agentsMayBlock: true,
    defaultMode: 'voicemail',
    rejectCode: 486,
    outboundPolicy: 'confirm',
    supervisorMinPrefixDigits: null,
    attestationFailed: 'allow',
    ownDidUnattested: 'voicemail',
    standinsUnidentified: false,
  });
  // The identity settings (issue #16) from the same form.
  const page = await app.inject({ method: 'GET', url: '/settings?org=acme', headers: { cookie: alice.cookie } });
  t.match(page.body, /<select id="attestationFailed" name="attestationFailed"/);
  const identity = await post(app, alice, '/settings', {
    ...settings,
    attestationFailed: 'reject',
    ownDidUnattested: 'allow',
    standinsUnidentified: 'on',
  });
  t.equal(identity.statusCode, 303);
  const api2 = await app.inject({
    method: 'GET',
    url: '/api/v1/orgs/acme/settings',
    headers: { cookie: alice.cookie },
  });
  t.match(api2.json(), { attestationFailed: 'reject', ownDidUnattested: 'allow', standinsUnidentified: true });
  const refused = await post(app, alice, '/settings', {
    defaultMode: 'voicemail',
    rejectCode: '486',
    outboundPolicy: 'confirm',
    attestationFailed: 'maybe',
  });
  t.equal(refused.statusCode, 400, 'an unknown action is refused at its field');
  t.match(
    refused.body,
    /attestation_failed &quot;maybe&quot; is not one of allow, voicemail, reject <a\s+href="#attestationFailed">/,
  );
  const blocked = await post(app, alice, '/block', {
    kind: 'prefix',
    prefix: '+1900',
    mode: 'reject',
    name: 'premium',
    reason: '',
    expires: '30d',
  });
  t.equal(blocked.statusCode, 303);
  const bad = await post(app, alice, '/block', { kind: 'number', number: 'not a number' });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /role="alert"/);
  const assets = await app.inject({ method: 'GET', url: '/assets/panel.css' });
  t.match(String(assets.headers['content-type']), 'text/css');
});
