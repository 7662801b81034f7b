/**
 * Issue #17's panel pages through inject() (fast; the browser flows are test/e2e/panel-doors.test.ts):
 * the edit form re-posted unchanged changes nothing (a supervisor is not refused for an expiry they
 * did not touch), the bulk confirmation changes nothing until confirmed, an import preview writes
 * nothing and a large pasted file is accepted, export needs only `view`, times carry UTC.
 */
import t from 'tap';
import { cliActor } from '../support/harness.js';
import { postForm as post, signIn, startPanel } from '../support/panel.js';

const valueOf = (body: string, id: string) =>
  new RegExp(`id="${id}"[^>]*value="([^"]*)"`).exec(body)?.[1] ??
  new RegExp(`value="([^"]*)"[^>]*id="${id}"`).exec(body)?.[1] ??
  '';

t.test('edit form: unchanged re-post is a no-op, also for a supervisor on an entry with an expiry', async (t) => {
  const { app, ctx } = await startPanel(t);
  const e = await ctx.blocklist.block(
    'acme',
    { kind: 'exact', number: '+15554440001' },
    { mode: 'reject', expires: '30d', name: 'Timed' },
    cliActor,
  );
  const sam = await signIn(app, 'sam');
  const form = await app.inject({
    method: 'GET',
    url: `/blocked/${e.id}/edit?org=acme`,
    headers: { cookie: sam.cookie },
  });
  t.equal(form.statusCode, 200);
  const expires = valueOf(form.body, 'expires');
  t.match(expires, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, 'the exact expiry, in UTC');
  const res = await post(app, sam, `/blocked/${e.id}/edit`, {
    mode: 'reject',
    name: 'Timed',
    reason: '',
    expires,
    note: '',
  });
  t.equal(res.statusCode, 303, res.body.slice(0, 300));
  const after = await ctx.blocklist.getEntry(e.orgId, e.id);
  t.equal(after?.expiresAt, e.expiresAt, 'nothing changed');
  const weaker = await post(app, sam, `/blocked/${e.id}/edit`, {
    mode: 'reject',
    name: 'Timed',
    reason: '',
    expires: '1d',
  });
  t.equal(weaker.statusCode, 403, 'an earlier end is weakening: refused at the form');
  t.match(weaker.body, '<strong>Not saved:</strong> this would weaken entry', 'the form again, with the error');
  t.match(weaker.body, 'value="1d"', 'what was typed stays');
  const allowAsBlock = await app.inject({
    method: 'GET',
    url: `/allowed/${e.id}/edit?org=acme`,
    headers: { cookie: (await signIn(app, 'alice')).cookie },
  });
  t.equal(allowAsBlock.statusCode, 404, 'a block entry is not edited as an allow entry');
});

t.test('bulk: the confirmation page changes nothing; the confirmation unblocks, all or nothing', async (t) => {
  const { app, ctx, ids } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const list = await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: alice.cookie } });
  t.match(list.body, 'form="bulk"', 'row boxes belong to the bulk form');
  const andy = await signIn(app, 'andy');
  t.notMatch(
    (await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: andy.cookie } })).body,
    'id="bulk"',
    'no bulk form for those who may not unblock',
  );
  const confirm = await post(app, alice, '/blocked/bulk', { ids: [String(ids.spam)] });
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, 'Unblock <strong>1 entry</strong>');
  t.equal((await ctx.blocklist.list('acme', { list: 'block' })).total, 3, 'nothing changed yet');
  const bad = await post(app, alice, '/blocked/unblock-many', { ids: [String(ids.spam), '999999'] });
  t.equal(bad.statusCode, 404);
  t.equal((await ctx.blocklist.list('acme', { list: 'block' })).total, 3, 'all or nothing');
  const ok = await post(app, alice, '/blocked/unblock-many', { ids: [String(ids.spam)], note: 'ticket 1' });
  t.equal(ok.statusCode, 303);
  t.match(ok.headers.location, 'notice=bulk-unblocked&count=1');
  t.equal((await post(app, alice, '/blocked/bulk', {})).statusCode, 400, 'nothing chosen: 400 naming ids');
});

t.test(
  'import page: preview writes nothing; a pasted list larger than an ordinary form is accepted; export for viewers',
  async (t) => {
    const { app, ctx } = await startPanel(t);
    const alice = await signIn(app, 'alice');
    const rows = [
      'number,name',
      ...Array.from({ length: 4000 }, (_, i) => `+1555888${String(i).padStart(4, '0')},row ${i}`),
    ].join('\n');
    t.ok(rows.length > 64 * 1024, `the text is ${rows.length} bytes, over the 64 KiB form limit`);
    const preview = await post(app, alice, '/import', { action: 'preview', csv: rows, delimiter: '' });
    t.equal(preview.statusCode, 200);
    t.match(preview.body, '4000 rows checked: <strong>4000 new</strong>');
    t.equal((await ctx.blocklist.list('acme', { list: 'block', search: '555888' })).total, 0);
    const done = await post(app, alice, '/import', { action: 'import', csv: rows, delimiter: '' });
    t.equal(done.statusCode, 303);
    t.equal((await ctx.blocklist.list('acme', { list: 'block', search: '555888' })).total, 4000);
    const bad = await post(app, alice, '/import', { action: 'preview', csv: 'number\nnope\n', delimiter: 'semicolon' });
    t.equal(bad.statusCode, 422);
    t.match(bad.body, /<td data-label="Line">2<\/td>/);
    const sam = await signIn(app, 'sam');
    t.equal(
      (await post(app, sam, '/import', { action: 'preview', csv: rows })).statusCode,
      403,
      'supervisors do not import',
    );
    const andy = await signIn(app, 'andy');
    const exp = await app.inject({
      method: 'GET',
      url: '/export?org=acme&format=json',
      headers: { cookie: andy.cookie },
    });
    t.equal(exp.statusCode, 200);
    t.match(exp.headers['content-disposition'], 'acme-blocklist.json');
    const page = await app.inject({ method: 'GET', url: '/import?org=acme', headers: { cookie: andy.cookie } });
    t.match(page.body, 'Download CSV');
    t.notMatch(page.body, 'Preview import', 'agents only export');
    const blocked = await app.inject({ method: 'GET', url: '/blocked?org=acme', headers: { cookie: andy.cookie } });
    t.match(
      blocked.body,
      /<time datetime="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z" title="\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC">\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC<\/time>/,
      'times carry the UTC instant; UTC without script',
    );
  },
);
