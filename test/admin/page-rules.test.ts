/**
 * The panel's entry actions of issue #16 through inject(): the Blocked callers list shows disabled,
 * observing and DID-limited entries with a Disable/Enable form, an observing entry's report page
 * promotes it in one click; refused for roles that may not; CSRF required.
 */
import t from 'tap';
import { postForm as post, signIn, startPanel } from '../support/panel.js';

t.test('disable and enable from the Blocked callers list', async (t) => {
  const { app, ctx, ids } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  /** What the daemon does to a call from the fixture's blocked +1 555 123 4567. */
  const spamCall = () =>
    ctx.screener.screenSync({
      org: 'acme',
      channel: 'call',
      direction: 'inbound',
      from: '+15551234567',
      to: '+12125550100',
    }).action;
  const list = await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: alice.cookie } });
  t.match(list.body, `<form method="post" action="/blocked/${ids.spam}/disable" class="inline">`);
  const samList = await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: sam.cookie } });
  t.notMatch(samList.body, '/disable"', 'supervisors see no Disable button');
  const noCsrf = await app.inject({
    method: 'POST',
    url: `/blocked/${ids.spam}/disable`,
    headers: { cookie: alice.cookie },
    payload: { org: 'acme' },
  });
  t.equal(noCsrf.statusCode, 403, 'CSRF token required');
  const off = await post(app, alice, `/blocked/${ids.spam}/disable`);
  t.equal(off.statusCode, 303, off.body);
  t.match(off.headers.location, /^\/blocked\?org=acme&notice=entry-disabled&ref=\d+$/);
  const after = await app.inject({
    method: 'GET',
    url: String(off.headers.location),
    headers: { cookie: alice.cookie },
  });
  t.match(after.body, 'Disabled +15551234567: kept, but it no longer matches.');
  t.match(after.body, '<span class="tag">disabled</span>');
  t.match(after.body, `action="/blocked/${ids.spam}/enable"`);
  await ctx.feed.poll();
  t.equal(spamCall(), 'allow');
  const samOff = await post(app, sam, `/blocked/${ids.spam}/disable`);
  t.equal(samOff.statusCode, 403);
  const on = await post(app, sam, `/blocked/${ids.spam}/enable`);
  t.equal(on.statusCode, 303, 'supervisors may enable (it blocks again)');
  await ctx.feed.poll();
  t.equal(spamCall(), 'reject');
});

t.test('an observing entry: tag, Report…, the report page and one-click Promote', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, andy] = [await signIn(app, 'alice'), await signIn(app, 'andy')];
  await ctx.orgs.addDids('acme', ['+12125550111'], { name: 'tester', source: 'cli', origin: 'test' });
  const e = await ctx.blocklist.block(
    'acme',
    { kind: 'pattern', pattern: '+1777555????' },
    { observe: true, mode: 'voicemail', dids: ['+12125550111'] },
    { name: 'tester', source: 'cli', origin: 'test' },
  );
  await ctx.feed.poll();
  const s = ctx.screening.inbound(
    { orgFrom: 'did', defaultOrg: '' },
    { channel: 'call', direction: 'inbound', from: '+17775550001', to: '+12125550111' },
  );
  t.match(s.verdict, { action: 'allow', observed: 'voicemail' });
  ctx.screening.record(s, 'test', null);
  await ctx.recorder.flush();
  const list = await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: alice.cookie } });
  t.match(
    list.body,
    '+1777555???? (pattern) <span class="tag">observing</span> <span class="tag">only on +12125550111</span>',
  );
  t.match(list.body, `href="/blocked/${e.id}/report?org=acme"`);
  const report = await app.inject({
    method: 'GET',
    url: `/blocked/${e.id}/report?org=acme`,
    headers: { cookie: andy.cookie },
  });
  t.equal(report.statusCode, 200);
  t.match(
    report.body,
    /It would have sent to voicemail <strong>1<\/strong> call or message from <strong>1<\/strong> number/,
  );
  t.match(report.body, '<td data-label="From">+17775550001</td>');
  t.notMatch(report.body, '/promote"', 'agents may not promote (they block contacts only): no button');
  t.match((await post(app, andy, `/blocked/${e.id}/promote`)).statusCode, 403);
  const adminReport = await app.inject({
    method: 'GET',
    url: `/blocked/${e.id}/report?org=acme`,
    headers: { cookie: alice.cookie },
  });
  t.match(adminReport.body, `<form method="post" action="/blocked/${e.id}/promote">`);
  const promote = await post(app, alice, `/blocked/${e.id}/promote`, { note: 'robocalls' });
  t.equal(promote.statusCode, 303);
  const done = await app.inject({
    method: 'GET',
    url: String(promote.headers.location),
    headers: { cookie: alice.cookie },
  });
  t.match(done.body, 'Promoted pattern +1777555????: it blocks from now on.');
  t.match(done.body, 'is not in observe mode: it blocks.');
  await ctx.feed.poll();
  t.equal(
    ctx.screener.screenSync({
      org: 'acme',
      channel: 'call',
      direction: 'inbound',
      from: '+17775550001',
      to: '+12125550111',
    }).action,
    'voicemail',
  );
  t.match((await ctx.audit.query({ action: 'entry.promote' })).events, [
    { actor: 'alice', reason: 'robocalls', detail: { hits: 1 } },
  ]);
});
