/**
 * The Stale entries page (issue #16): the report with why; the clean-up's confirm step (a dry run
 * with a Confirm button), then the removal, audited; only admins see and use the clean-up.
 */
import t from 'tap';
import { postForm as post, signIn, startPanel } from '../support/panel.js';

t.test('stale page, confirm step, clean-up', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  const r = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs/acme/blocked',
    headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrf },
    payload: { kind: 'prefix', prefix: '+1555123' },
  });
  t.equal(r.statusCode, 201);

  const pageRes = await app.inject({ method: 'GET', url: '/stale?org=acme', headers: { cookie: sam.cookie } });
  t.equal(pageRes.statusCode, 200);
  t.match(pageRes.body, '<a href="/stale?org=acme" aria-current="page">Stale entries</a>');
  t.match(
    pageRes.body,
    /<strong>0<\/strong> expired, <strong>0<\/strong> unused \(no hit in 90 days\), <strong>1<\/strong> shadowed/,
  );
  t.match(pageRes.body, /<td data-label="Kind">Shadowed<\/td>\s*<td data-label="Caller ID">\+15551234567<\/td>/);
  t.match(pageRes.body, /without it, prefix entry \d+ \(\+1555123\) gives the same answer \(reject\)/);
  t.notMatch(pageRes.body, 'action="/stale/clean"', 'supervisors are not offered the clean-up');
  t.equal((await post(app, sam, '/stale/clean', [['category', 'shadowed']])).statusCode, 403);

  const adminPage = await app.inject({ method: 'GET', url: '/stale?org=acme', headers: { cookie: alice.cookie } });
  t.match(adminPage.body, '<input type="checkbox" name="category" value="shadowed" checked> Shadowed (1)');
  t.match(adminPage.body, '<input type="checkbox" name="category" value="unused"> Unused (0)');

  const step = await post(app, alice, '/stale/clean', [
    ['days', '90'],
    ['category', 'expired'],
    ['category', 'shadowed'],
    ['reason', 'tidy'],
  ]);
  t.equal(step.statusCode, 200, step.body);
  t.match(step.body, /Remove 1 stale entry from Acme Dental\?/);
  t.match(step.body, '<button type="submit" name="confirm" value="yes" class="danger">Confirm clean-up</button>');
  t.equal((await ctx.blocklist.list('acme', { search: '5551234567' })).total, 1, 'the confirm step removes nothing');
  const none = await post(app, alice, '/stale/clean', [['days', '90']]);
  t.equal(none.statusCode, 400, 'nothing ticked');
  t.match(none.body, /tick at least one kind/);

  const done = await post(app, alice, '/stale/clean', [
    ['days', '90'],
    ['category', 'expired'],
    ['category', 'shadowed'],
    ['reason', 'tidy'],
    ['confirm', 'yes'],
  ]);
  t.equal(done.statusCode, 303, done.body);
  t.match(String(done.headers.location), '/stale?org=acme&notice=stale-cleaned&count=1');
  const after = await app.inject({
    method: 'GET',
    url: String(done.headers.location),
    headers: { cookie: alice.cookie },
  });
  t.match(after.body, '<p class="notice" role="status">Removed 1 stale entry.</p>');
  t.match(after.body, 'Nothing stale in Acme Dental.');
  t.match((await ctx.audit.query({ action: 'unblock' })).events[0], {
    actor: 'alice',
    target: '+15551234567',
    reason: 'tidy',
    detail: { cleanup: 'shadowed' },
  });
});
