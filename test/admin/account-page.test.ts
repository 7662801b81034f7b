/** The panel's Account page: tokens (create shown once, list with last use, revoke) and password change. */
import t from 'tap';
import { PASSWORD, postForm as form, signIn, startPanel } from '../support/panel.js';

t.test('an agent makes, sees and revokes a token, and changes their password, from the panel', async (t) => {
  const { app } = await startPanel(t);
  const andy = await signIn(app, 'andy');
  const page = await app.inject({ method: 'GET', url: '/account?org=acme', headers: { cookie: andy.cookie } });
  t.equal(page.statusCode, 200);
  t.match(page.body, 'No tokens yet.');
  t.notMatch(page.body, /<option value="admin"/, 'an agent is offered no role above their own');
  t.match(page.body, '<a href="/account?org=acme" aria-current="page">andy</a>');

  const made = await form(app, andy, '/account/tokens', {
    name: '<script>x</script> phone',
    role: 'agent',
    days: '30',
  });
  t.equal(made.statusCode, 201);
  const secret = /<code class="secret">(cs_[\w-]+)<\/code>/.exec(made.body)?.[1];
  t.ok(secret, 'the secret is on the answer to the form');
  t.match(made.body, '&lt;script&gt;x&lt;/script&gt; phone', 'the name is escaped');
  t.equal(
    (await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${String(secret)}` } }))
      .statusCode,
    200,
  );
  const again = await app.inject({ method: 'GET', url: '/account?org=acme', headers: { cookie: andy.cookie } });
  t.notMatch(again.body, secret!, 'and never again');
  t.equal(
    (await form(app, andy, '/account/tokens', { name: 'x', role: 'admin' })).statusCode,
    403,
    'a forged role above their own: refused',
  );
  t.equal((await form(app, andy, '/account/tokens', { name: 'x', days: '1e3' })).statusCode, 400);

  const id = /action="\/account\/tokens\/(\d+)\/revoke"/.exec(again.body)?.[1];
  const revoked = await form(app, andy, `/account/tokens/${String(id)}/revoke`, {});
  t.equal(revoked.statusCode, 303);
  t.equal(revoked.headers.location, '/account?org=acme&notice=token-revoked');
  t.equal(
    (await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${String(secret)}` } }))
      .statusCode,
    401,
  );

  const other = await signIn(app, 'andy');
  t.equal(
    (await form(app, andy, '/account/password', { current: 'wrong-one-here', password: 'new-password-99' })).statusCode,
    403,
  );
  const changed = await form(app, andy, '/account/password', { current: PASSWORD, password: 'new-password-99' });
  t.equal(changed.statusCode, 303);
  t.equal(
    (await app.inject({ method: 'GET', url: '/account?org=acme', headers: { cookie: andy.cookie } })).statusCode,
    200,
    'this session stays',
  );
  t.equal(
    (await app.inject({ method: 'GET', url: '/account?org=acme', headers: { cookie: other.cookie } })).statusCode,
    303,
    'the other is signed out',
  );
});

t.test("settings form: the supervisors' prefix minimum", async (t) => {
  const { app } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const saved = await form(app, alice, '/settings', {
    defaultMode: 'reject',
    rejectCode: '603',
    outboundPolicy: 'warn',
    supervisorMinPrefixDigits: '6',
  });
  t.equal(saved.statusCode, 303);
  const page = await app.inject({ method: 'GET', url: '/settings?org=acme', headers: { cookie: alice.cookie } });
  t.match(page.body, 'name="supervisorMinPrefixDigits" type="number" min="1" max="15" value="6"');
  t.equal(
    (
      await form(app, alice, '/settings', {
        defaultMode: 'reject',
        rejectCode: '603',
        outboundPolicy: 'warn',
        supervisorMinPrefixDigits: 'x',
      })
    ).statusCode,
    400,
  );
});
