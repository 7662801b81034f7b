/**
 * Panel forms through inject(): a refused post re-renders the same form with what was typed and the
 * error next to its field (with the API's status); the one Block form; the allow-list page.
 */
import t from 'tap';
import { cliActor } from '../support/harness.js';
import { postForm as post, signIn, startPanel } from '../support/panel.js';

/** The `<input>` (or select/textarea start tag) with this id. */
function tagOf(body: string, id: string): string {
  const m = new RegExp(`<(?:input|select|textarea)[^>]*\\sid="${id}"[^>]*>`).exec(body);
  return m?.[0] ?? '';
}

t.test('Block form: pick the kind, then only its fields; one way to block a contact', async (t) => {
  const { app } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const res = await app.inject({ method: 'GET', url: '/block?org=acme', headers: { cookie: alice.cookie } });
  t.equal(res.statusCode, 200);
  t.match(res.body, '<legend>What are you blocking?</legend>');
  for (const k of ['number', 'prefix', 'contact', 'unidentified'])
    t.match(res.body, `class="for-kind for-${k}"`, `a fieldset for ${k}`);
  t.notMatch(res.body, 'blockContact', 'no second way to block a contact');
  t.match(res.body, /<input type="radio" name="kind" value="number" checked>/, 'a number by default');
  const pre = await app.inject({
    method: 'GET',
    url: '/block?org=acme&kind=contact&contact=1',
    headers: { cookie: alice.cookie },
  });
  t.match(pre.body, /<input type="radio" name="kind" value="contact" checked>/);
  t.match(pre.body, /<option value="1" selected>/);

  const andy = await signIn(app, 'andy');

  // The fields of kinds not chosen are ignored, whatever they hold.
  const prefix = await post(app, alice, '/block', {
    kind: 'prefix',
    prefix: '+1900',
    number: 'left over text',
    contactId: 'x',
    mode: 'reject',
  });
  t.equal(prefix.statusCode, 303, prefix.body);
  t.match(String(prefix.headers.location), /notice=blocked/);
  const unid = await post(app, alice, '/block', { kind: 'unidentified', number: '+15551112222', mode: 'voicemail' });
  t.equal(unid.statusCode, 303, unid.body);
  t.equal(
    (await post(app, andy, '/block', { kind: 'contact', contactId: '1' })).statusCode,
    403,
    'agents: only with the setting on',
  );
});

t.test('a refused Block post keeps what was typed and puts the error next to its field', async (t) => {
  const { app } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const typed = {
    kind: 'number',
    number: 'not a number "><b>x',
    mode: 'reject',
    name: 'Cold caller',
    reason: 'rang 5 times',
    expires: '30d',
  };
  const bad = await post(app, alice, '/block', typed);
  t.equal(bad.statusCode, 400, 'the API status of CS_ERR_INVALID_NUMBER');
  t.notMatch(bad.body, 'Something went wrong');
  t.match(bad.body, '<h1>Block</h1>', 'the same page');
  t.match(bad.body, /role="alert"><strong>Not saved:<\/strong> &quot;not a number/);
  t.match(tagOf(bad.body, 'number'), 'value="not a number &quot;&gt;&lt;b&gt;x"', 'typed text kept, escaped');
  t.match(tagOf(bad.body, 'number'), 'aria-invalid="true" aria-describedby="number-error"');
  t.match(bad.body, /<p class="field-error" id="number-error">&quot;not a number/);
  t.match(tagOf(bad.body, 'name'), 'value="Cold caller"');
  t.match(tagOf(bad.body, 'reason'), 'value="rang 5 times"');
  t.match(tagOf(bad.body, 'expires'), 'value="30d"');
  t.match(bad.body, /<input type="radio" name="mode" value="reject" checked>/, 'the chosen mode kept');
  t.notMatch(bad.body, /<b>x/);

  const protectedDid = await post(app, alice, '/block', { kind: 'number', number: '+1 212 555 0100' });
  t.equal(protectedDid.statusCode, 409, 'CS_ERR_PROTECTED_NUMBER');
  t.match(protectedDid.body, /id="number-error">\+12125550100 is one of organisation/);

  const expiry = await post(app, alice, '/block', { kind: 'number', number: '+15553334444', expires: 'next tuesday' });
  t.equal(expiry.statusCode, 400);
  t.match(expiry.body, /id="expires-error">expiry &quot;next tuesday&quot; is not valid/);
  t.match(tagOf(expiry.body, 'number'), 'value="+15553334444"');
  t.notMatch(tagOf(expiry.body, 'number'), 'aria-invalid', 'only the field at fault is marked');

  const noContact = await post(app, alice, '/block', { kind: 'contact', contactId: '' });
  t.equal(noContact.statusCode, 400);
  t.match(noContact.body, /id="contactId-error">contactId is required/);
  t.match(noContact.body, /<input type="radio" name="kind" value="contact" checked>/);
  const gone = await post(app, alice, '/block', { kind: 'contact', contactId: '9999' });
  t.equal(gone.statusCode, 404);
  t.match(gone.body, /id="contactId-error">/);

  const shortPrefix = await post(app, await signIn(app, 'sam'), '/block', { kind: 'prefix', prefix: '+1' });
  t.equal(shortPrefix.statusCode, 403, "a supervisor's short prefix: 403 as in the API");
  t.match(shortPrefix.body, /id="prefix-error">a supervisor may block a prefix of at least/);
  t.match(tagOf(shortPrefix.body, 'prefix'), 'value="+1"');
});

t.test('contacts and settings forms keep what was typed', async (t) => {
  const { app } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const noName = await post(app, alice, '/contacts', { name: ' ', numbers: '555-777-0001\n555-777-0002' });
  t.equal(noName.statusCode, 400);
  t.match(noName.body, /id="cname-error">contact name must not be empty/);
  t.match(noName.body, /<textarea id="cnumbers" name="numbers" rows="2">555-777-0001\n555-777-0002<\/textarea>/);
  const badNumber = await post(app, alice, '/contacts', { name: 'Nuisance', numbers: '555-777-0001, call me' });
  t.equal(badNumber.statusCode, 400);
  t.match(badNumber.body, /id="cnumbers-error">&quot;call me&quot; is not a phone number/);
  t.match(tagOf(badNumber.body, 'cname'), 'value="Nuisance"');

  const settings = await post(app, alice, '/settings', {
    defaultMode: 'reject',
    rejectCode: '486',
    outboundPolicy: 'deny',
    supervisorMinPrefixDigits: 'six',
    note: 'ticket 9',
  });
  t.equal(settings.statusCode, 400);
  t.match(
    settings.body,
    /id="supervisorMinPrefixDigits-error">form field &quot;supervisorMinPrefixDigits&quot; must be a number of digits/,
  );
  t.match(settings.body, '<option value="486" selected>');
  t.match(settings.body, '<option value="deny" selected>');
  t.match(settings.body, '<option value="reject" selected>');
  t.match(tagOf(settings.body, 'supervisorMinPrefixDigits'), 'value="six"');
  t.match(tagOf(settings.body, 'note'), 'value="ticket 9"');
  const api = await app.inject({ method: 'GET', url: '/api/v1/orgs/acme/settings', headers: { cookie: alice.cookie } });
  t.equal(api.json<{ rejectCode: number }>().rejectCode, 603, 'nothing was saved');
});

t.test('allow-list page: list with paging, add and remove for admins, read-only for others', async (t) => {
  const { app, ctx } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const empty = await app.inject({ method: 'GET', url: '/allowed?org=acme', headers: { cookie: alice.cookie } });
  t.equal(empty.statusCode, 200);
  t.match(empty.body, 'No callers are on the allow list of Acme Dental.');
  t.match(empty.body, '<a href="/allowed?org=acme" aria-current="page">Allowed callers</a>');

  const added = await post(app, alice, '/allowed', {
    kind: 'number',
    number: '(555) 123-4567',
    name: 'Dr Who',
    reason: 'referring clinic',
  });
  t.equal(added.statusCode, 303, added.body);
  const banner = await app.inject({
    method: 'GET',
    url: String(added.headers.location),
    headers: { cookie: alice.cookie },
  });
  t.match(banner.body, 'Added +15551234567 to the allow list.');
  t.match(banner.body, /<td data-label="Caller ID">\+15551234567<\/td>\s*<td data-label="Name">Dr Who<\/td>/);
  await ctx.feed.poll();
  const v = await ctx.screener.screen({
    org: 'acme',
    channel: 'call',
    direction: 'inbound',
    from: '+15551234567',
    to: '+12125550100',
  });
  t.equal(v.action, 'allow', 'the allow entry wins over the block of the same number');

  const bad = await post(app, alice, '/allowed', { kind: 'prefix', prefix: 'abc', number: 'ignored', name: 'range' });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /id="prefix-error">/);
  t.match(tagOf(bad.body, 'prefix'), 'value="abc"');
  t.match(tagOf(bad.body, 'name'), 'value="range"');
  t.match(bad.body, /<input type="radio" name="kind" value="prefix" checked>/);

  for (let i = 0; i < 30; i++)
    await ctx.blocklist.allow(
      'acme',
      { kind: 'exact', number: `+1555200${String(i).padStart(4, '0')}` },
      { name: `n${i}` },
      cliActor,
    );
  const p1 = await app.inject({ method: 'GET', url: '/allowed?org=acme', headers: { cookie: alice.cookie } });
  t.match(p1.body, 'Page 1 of 2');
  t.equal(p1.body.match(/<tr>/g)?.length ?? 0, 26, '25 rows and the header');
  const p2 = await app.inject({ method: 'GET', url: '/allowed?org=acme&page=2', headers: { cookie: alice.cookie } });
  t.equal(p2.body.match(/<tr>/g)?.length ?? 0, 7, '6 rows and the header');

  const id = /action="\/allowed\/(\d+)\/remove"/.exec(p1.body)?.[1];
  t.ok(id, 'each row has a Remove form');
  const removed = await post(app, alice, `/allowed/${String(id)}/remove`, {});
  t.equal(removed.statusCode, 303);
  t.match(String(removed.headers.location), /notice=disallowed/);
  t.equal((await ctx.blocklist.list('acme', { list: 'allow', search: '', limit: 100, offset: 0 })).total, 30);

  const sam = await signIn(app, 'sam');
  const ro = await app.inject({ method: 'GET', url: '/allowed?org=acme', headers: { cookie: sam.cookie } });
  t.equal(ro.statusCode, 200);
  t.notMatch(ro.body, 'Add to allow list');
  t.notMatch(ro.body, '/remove"');
  const refused = await post(app, sam, '/allowed', { kind: 'number', number: '+15550009999' });
  t.equal(refused.statusCode, 403);
  t.match(refused.body, 'supervisors may not change the allow list in &quot;acme&quot;');
});

t.test('refusals name the role and the action in plain words', async (t) => {
  const { app, ids } = await startPanel(t);
  const andy = await signIn(app, 'andy');
  const res = await app.inject({
    method: 'GET',
    url: `/blocked/${ids.spam}/unblock?org=acme`,
    headers: { cookie: andy.cookie },
  });
  t.equal(res.statusCode, 403);
  t.match(res.body, 'agents may not unblock numbers in &quot;acme&quot;');
  const sam = await signIn(app, 'sam');
  const settings = await app.inject({ method: 'GET', url: '/settings?org=acme', headers: { cookie: sam.cookie } });
  t.match(settings.body, 'supervisors may not change settings in &quot;acme&quot;');
});
