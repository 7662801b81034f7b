/**
 * Issue #16's rule forms on the panel, through inject(): a pattern entry (block and allow), the DIDs
 * an entry applies to, observe mode on a new block, the what-if preview and confirm step of a broad
 * pattern, an allowlist-only DID with its voicemail/reject choice, and the pattern minimum. Each:
 * the happy path (saved, and the daemon's verdict changes), a bad value named at its field with what
 * was typed kept and nothing saved, roles, CSRF.
 */
import t from 'tap';
import { recordCalls } from '../support/call-records.js';
import { postForm as post, signIn, startPanel } from '../support/panel.js';

const DID = '+12125550100';

const inbound = (from: string, to = DID) => ({
  org: 'acme',
  channel: 'call' as const,
  direction: 'inbound' as const,
  from,
  to,
});

t.test('Block form: a pattern, limited to a DID, observing first', async (t) => {
  const { app, ctx } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  await ctx.orgs.addDids('acme', ['+12125550111'], { name: 'tester', source: 'cli', origin: 'test' });
  const acme = await ctx.orgs.require('acme');

  const form = await app.inject({ method: 'GET', url: '/block?org=acme', headers: { cookie: alice.cookie } });
  t.match(form.body, '<input type="radio" name="kind" value="pattern">');
  t.match(form.body, '<label for="pattern">Pattern');
  t.match(
    form.body,
    `<label><input type="checkbox" id="did-0" name="dids" value="${DID}"> Only calls and messages to ${DID}</label>`,
  );
  t.match(form.body, '<input type="checkbox" id="observe" name="observe" value="on"> Observe first');

  const saved = await post(app, alice, '/block', [
    ['kind', 'pattern'],
    ['pattern', '+1777555????'],
    ['dids', '+12125550111'],
    ['observe', 'on'],
    ['mode', 'reject'],
    ['reason', 'survey robots'],
  ]);
  t.equal(saved.statusCode, 303, saved.body);
  const ref = Number(/ref=(\d+)/.exec(String(saved.headers.location))?.[1]);
  const e = await ctx.blocklist.getEntry(acme.id, ref);
  t.match(e, {
    kind: 'pattern',
    value: '+1777555????',
    list: 'block',
    mode: 'reject',
    dids: ['+12125550111'],
    reason: 'survey robots',
  });
  t.ok(e?.observeSince, 'observing');
  const after = await app.inject({
    method: 'GET',
    url: String(saved.headers.location),
    headers: { cookie: alice.cookie },
  });
  t.match(after.body, 'Blocked pattern +1777555????.');
  t.match(
    after.body,
    '+1777555???? (pattern) <span class="tag">observing</span> <span class="tag">only on +12125550111</span>',
  );
  await ctx.feed.poll();
  t.match(
    ctx.screener.screenSync(inbound('+17775550001', '+12125550111')),
    { action: 'allow', observed: 'reject' },
    'observes on its DID',
  );
  t.match(ctx.screener.screenSync(inbound('+17775550001', DID)), { action: 'allow' }, 'another DID: not its business');
  t.notOk(ctx.screener.screenSync(inbound('+17775550001', DID)).observed);

  // Enforced and on both DIDs: the same target posted again replaces its DID list.
  const both = await post(app, alice, '/block', [
    ['kind', 'pattern'],
    ['pattern', '+1777555????'],
    ['dids', DID],
    ['dids', '+12125550111'],
    ['mode', 'reject'],
  ]);
  t.equal(both.statusCode, 303, both.body);
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(inbound('+17775550001', DID)).action, 'reject');
  t.match(await ctx.blocklist.getEntry(acme.id, ref), { dids: [DID, '+12125550111'], observeSince: null });
});

t.test('Block form: bad patterns and DIDs are named at their field, nothing saved', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, andy] = [await signIn(app, 'alice'), await signIn(app, 'andy')];
  const count = async () =>
    (await ctx.db.get<{ c: number }>('SELECT count(*) AS c FROM entries WHERE removed_at IS NULL'))?.c;
  const before = await count();

  const broad = await post(app, alice, '/block', [
    ['kind', 'pattern'],
    ['pattern', '+1??????????'],
    ['reason', 'typed'],
  ]);
  t.equal(broad.statusCode, 422, "too broad: the API's status");
  t.match(
    broad.body,
    /<div class="error for-kind for-pattern" role="alert"><strong>Not saved:<\/strong> &quot;\+1\?{10}&quot; fixes 1 digit\(s\) \(about 10,000,000,000 numbers\); this organisation&#39;s patterns fix at least 6 <a href="#pattern">/,
  );
  t.match(
    broad.body,
    /id="pattern" name="pattern" value="\+1\?{10}" type="text" maxlength="64" autocomplete="off" aria-describedby="pattern-hint" aria-invalid="true" aria-describedby="pattern-error"/,
  );
  t.match(broad.body, /<p class="field-error" id="pattern-error">&quot;\+1\?{10}&quot; fixes 1 digit/);
  t.match(broad.body, /<input type="radio" name="kind" value="pattern" checked>/, 'the kind stays chosen');
  t.match(broad.body, /id="reason" name="reason" value="typed"/, 'what was typed stays');

  const bad = await post(app, alice, '/block', [
    ['kind', 'pattern'],
    ['pattern', '+1415*555'],
  ]);
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /<p class="field-error" id="pattern-error">&quot;\+1415\*555&quot; is not a number pattern: /);

  const preview = await post(app, alice, '/block', [
    ['kind', 'pattern'],
    ['pattern', '+1?'],
    ['whatIf', '1'],
  ]);
  t.equal(preview.statusCode, 422, 'the preview refuses what saving would');
  t.match(preview.body, 'id="pattern-error"');

  const notOurs = await post(app, alice, '/block', [
    ['kind', 'number'],
    ['number', '+15550009999'],
    ['dids', '+13125550000'],
  ]);
  t.equal(notOurs.statusCode, 400);
  t.match(
    notOurs.body,
    /<p class="field-error" id="dids-error">\+13125550000 is not one of organisation &quot;acme&quot;&#39;s numbers \(DIDs\)/,
  );
  t.match(notOurs.body, '<fieldset id="dids" aria-describedby="dids-error">');

  const agent = await post(app, andy, '/block', [
    ['kind', 'pattern'],
    ['pattern', '+1777555????'],
  ]);
  t.equal(agent.statusCode, 403, 'agents block contacts only');
  t.notMatch(
    (await app.inject({ method: 'GET', url: '/block?org=acme', headers: { cookie: andy.cookie } })).body,
    'value="pattern"',
    'and are not offered patterns',
  );
  const noCsrf = await app.inject({
    method: 'POST',
    url: '/block',
    headers: { cookie: alice.cookie },
    payload: { org: 'acme', kind: 'pattern', pattern: '+1777555????' },
  });
  t.equal(noCsrf.statusCode, 403, 'CSRF token required');
  t.equal(await count(), before, 'nothing saved');
});

t.test('a broad pattern: preview, then confirm with the figures, as the API asks', async (t) => {
  const { app, ctx, clock } = await startPanel(t);
  const sam = await signIn(app, 'sam');
  const acme = await ctx.orgs.require('acme');
  await recordCalls(ctx.db, acme.id, clock.now(), '+15553330001', 3);
  await recordCalls(ctx.db, acme.id, clock.now(), '+15553330001', 1, { direction: 'outbound' });
  await recordCalls(ctx.db, acme.id, clock.now(), '+15553330002', 2);
  const form: Array<[string, string]> = [
    ['kind', 'pattern'],
    ['pattern', '+1555333????'],
    ['mode', 'voicemail'],
    ['dids', DID],
  ];

  const preview = await post(app, sam, '/block', [...form, ['whatIf', '1']]);
  t.equal(preview.statusCode, 200, preview.body);
  t.match(preview.body, /<strong>2 numbers<\/strong> affected; agents called 1 of them back/);
  t.match(preview.body, /id="pattern" name="pattern" value="\+1555333\?\?\?\?"/);
  t.match(preview.body, `value="${DID}" checked`, 'the ticked DID stays ticked');
  t.notMatch(preview.body, 'name="confirm"');

  const refused = await post(app, sam, '/block', form);
  t.equal(refused.statusCode, 409);
  t.match(refused.body, 'This entry is broad: confirm it');
  t.match(refused.body, /<strong>Broad:<\/strong> agents called 1 of them back/);
  t.match(refused.body, '<button type="submit" name="confirm" value="yes" class="danger">Save anyway</button>');
  t.equal(
    (await ctx.blocklist.list('acme', { list: 'block', search: '+1555333', limit: 10, offset: 0 })).total,
    0,
    'not saved',
  );

  const saved = await post(app, sam, '/block', [...form, ['confirm', 'yes']]);
  t.equal(saved.statusCode, 303, saved.body);
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(inbound('+15553330002')).action, 'voicemail');
  t.match(
    (await ctx.audit.query({ action: 'block', actor: 'sam' })).events,
    [{ target: '+1555333????' }],
    'saved as sam, audited',
  );
});

t.test('Allow form: a pattern for one DID, only when attested; disable and enable it from the list', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  const acme = await ctx.orgs.require('acme');
  const page = await app.inject({ method: 'GET', url: '/allowed?org=acme', headers: { cookie: alice.cookie } });
  t.match(page.body, '<input type="radio" name="kind" value="pattern">');
  t.match(page.body, `name="dids" value="${DID}"`);
  t.match(page.body, 'Only when the carrier attested the caller');

  const broad = await post(app, alice, '/allowed', [
    ['kind', 'pattern'],
    ['pattern', '+1??????????'],
  ]);
  t.equal(broad.statusCode, 422, 'a broad allow is refused too');
  t.match(broad.body, /<p class="field-error" id="pattern-error">/);

  const saved = await post(app, alice, '/allowed', [
    ['kind', 'pattern'],
    ['pattern', '+1555123????'],
    ['dids', DID],
    ['attested', 'on'],
    ['name', 'Bank'],
  ]);
  t.equal(saved.statusCode, 303, saved.body);
  const ref = Number(/ref=(\d+)/.exec(String(saved.headers.location))?.[1]);
  t.match(await ctx.blocklist.getEntry(acme.id, ref), {
    list: 'allow',
    kind: 'pattern',
    value: '+1555123????',
    dids: [DID],
    requireAttestation: true,
  });
  const list = await app.inject({ method: 'GET', url: '/allowed?org=acme', headers: { cookie: alice.cookie } });
  t.match(
    list.body,
    `+1555123???? (pattern) <span class="tag">only on ${DID}</span> <span class="tag">when attested</span>`,
  );
  t.match(list.body, `action="/blocked/${ref}/disable"`);
  t.notMatch(
    (await app.inject({ method: 'GET', url: '/allowed?org=acme', headers: { cookie: sam.cookie } })).body,
    '/disable"',
    'supervisors may not change the allow list',
  );

  const off = await post(app, alice, `/blocked/${ref}/disable`, []);
  t.equal(off.statusCode, 303);
  t.match(off.headers.location, /^\/allowed\?org=acme&notice=entry-disabled&ref=\d+$/, 'back to the allow list');
  t.ok((await ctx.blocklist.getEntry(acme.id, ref))?.disabledAt);
  t.match(
    (await app.inject({ method: 'GET', url: '/allowed?org=acme', headers: { cookie: alice.cookie } })).body,
    `action="/blocked/${ref}/enable"`,
  );
  const on = await post(app, alice, `/blocked/${ref}/enable`, []);
  t.equal(on.statusCode, 303);
  t.equal((await ctx.blocklist.getEntry(acme.id, ref))?.disabledAt, null);
});

t.test('Settings: an allowlist-only DID, voicemail or reject, and back to usual', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  await ctx.contacts.add('acme', 'Friendly Lab', ['+15550004444'], { name: 'tester', source: 'cli', origin: 'test' });
  const page = await app.inject({ method: 'GET', url: '/settings?org=acme', headers: { cookie: alice.cookie } });
  t.match(page.body, '<h2 id="did-rules-h">Who may ring each inbound number</h2>');
  t.match(page.body, `<label for="others-0" class="skip">Who may ring ${DID}</label>`);
  t.match(page.body, '<td data-label="Now">As usual: the block and allow lists</td>');

  const strict = await post(app, alice, '/settings/dids/allowlist-only', [
    ['did', DID],
    ['others', 'reject'],
  ]);
  t.equal(strict.statusCode, 303, strict.body);
  t.equal(strict.headers.location, '/settings?org=acme&notice=did-screening-saved');
  const after = await app.inject({
    method: 'GET',
    url: String(strict.headers.location),
    headers: { cookie: alice.cookie },
  });
  t.match(after.body, 'Saved who may ring the inbound number.');
  t.match(after.body, '<td data-label="Now">Allowlist-only: others rejected</td>');
  t.match(after.body, '<option value="reject" selected>');
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(inbound('+13105550199')).action, 'reject', 'a stranger is rejected');
  t.same(await ctx.rules.didRules('acme'), [{ number: DID, allowlistOnly: 'reject' }]);

  t.equal(
    (
      await post(app, alice, '/settings/dids/allowlist-only', [
        ['did', DID],
        ['others', 'voicemail'],
      ])
    ).statusCode,
    303,
  );
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(inbound('+13105550199')).action, 'voicemail', 'a stranger goes to voicemail');
  t.equal(
    ctx.screener.screenSync(inbound('+15550001111')).action,
    'reject',
    'a blocked contact stays blocked, with its own mode',
  );
  t.equal(ctx.screener.screenSync(inbound('+15550004444')).action, 'allow', 'a contact rings');

  const bad = await post(app, alice, '/settings/dids/allowlist-only', [
    ['did', DID],
    ['others', 'hang-up'],
  ]);
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /<select id="others-0" name="others" aria-invalid="true" aria-describedby="others-0-error">/);
  t.match(bad.body, /<p class="field-error" id="others-0-error">choose as usual, voicemail or reject/);
  const notOurs = await post(app, alice, '/settings/dids/allowlist-only', [
    ['did', '+13125550000'],
    ['others', 'reject'],
  ]);
  t.equal(notOurs.statusCode, 400);
  t.match(notOurs.body, /role="alert"><strong>Not saved:<\/strong> \+13125550000 is not one of organisation/);
  t.equal(
    (
      await post(app, sam, '/settings/dids/allowlist-only', [
        ['did', DID],
        ['others', ''],
      ])
    ).statusCode,
    403,
    'admins only',
  );

  t.equal(
    (
      await post(app, alice, '/settings/dids/allowlist-only', [
        ['did', DID],
        ['others', ''],
      ])
    ).statusCode,
    303,
  );
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(inbound('+13105550199')).action, 'allow', 'as usual again');
  t.equal((await ctx.audit.query({ action: 'did.allowlist-only' })).total, 3, 'each change audited');
});

t.test('Settings: the pattern minimum', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  const page = await app.inject({ method: 'GET', url: '/settings?org=acme', headers: { cookie: alice.cookie } });
  t.match(page.body, /<input id="minPatternDigits" name="minPatternDigits" type="number" min="1" max="15" value="">/);
  t.match(page.body, 'Now 6, the default');

  const set = await post(app, alice, '/settings/pattern-minimum', [
    ['minPatternDigits', '8'],
    ['note', 'tighter'],
  ]);
  t.equal(set.statusCode, 303, set.body);
  t.same(await ctx.rules.minPatternDigits('acme'), { minPatternDigits: 8, isDefault: false });
  t.match(
    (await app.inject({ method: 'GET', url: String(set.headers.location), headers: { cookie: alice.cookie } })).body,
    'Saved the pattern minimum.',
  );
  const refused = await post(app, alice, '/block', [
    ['kind', 'pattern'],
    ['pattern', '+1777555????'],
  ]);
  t.equal(refused.statusCode, 422, 'a 7-digit pattern is now too broad');
  t.match(refused.body, /fixes 7 digit\(s\) .*fix at least 8/);

  for (const [typed, message] of [
    ['abc', 'the pattern minimum must be a number of digits from 1 to 15'],
    ['99', 'the pattern minimum is 1–15 digits'],
  ] as const) {
    const bad = await post(app, alice, '/settings/pattern-minimum', [['minPatternDigits', typed]]);
    t.equal(bad.statusCode, 400, typed);
    t.match(
      bad.body,
      `<input id="minPatternDigits" name="minPatternDigits" type="number" min="1" max="15" value="${typed}" aria-invalid="true" aria-describedby="minPatternDigits-error">`,
    );
    t.match(bad.body, `<p class="field-error" id="minPatternDigits-error">${message}`);
  }
  t.equal(
    (await post(app, sam, '/settings/pattern-minimum', [['minPatternDigits', '3']])).statusCode,
    403,
    'admins only',
  );
  t.equal((await post(app, alice, '/settings/pattern-minimum', [['minPatternDigits', '']])).statusCode, 303);
  t.same(await ctx.rules.minPatternDigits('acme'), { minPatternDigits: 6, isDefault: true }, 'empty = the default');
  t.match((await ctx.audit.query({ action: 'org.settings' })).events[1], {
    actor: 'alice',
    reason: 'tighter',
    detail: { minPatternDigits: 8 },
  });
});

t.test("an entry's Edit page: its rule state, Observe instead of blocking (admins), the report", async (t) => {
  const { app, ctx, ids } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  const acme = await ctx.orgs.require('acme');
  const edit = await app.inject({
    method: 'GET',
    url: `/blocked/${ids.spam}/edit?org=acme`,
    headers: { cookie: alice.cookie },
  });
  t.match(edit.body, '<p>This entry is <strong>enforced</strong>, for every call and message.</p>');
  t.match(edit.body, `<form method="post" action="/blocked/${ids.spam}/observe" class="inline">`);
  const samEdit = await app.inject({
    method: 'GET',
    url: `/blocked/${ids.spam}/edit?org=acme`,
    headers: { cookie: sam.cookie },
  });
  t.notMatch(samEdit.body, '/observe"', 'supervisors may not weaken a block: no button');
  t.equal((await post(app, sam, `/blocked/${ids.spam}/observe`, [])).statusCode, 403);

  const observe = await post(app, alice, `/blocked/${ids.spam}/observe`, []);
  t.equal(observe.statusCode, 303);
  t.match(observe.headers.location, new RegExp(`^/blocked/${ids.spam}/report\\?org=acme&notice=entry-observing`));
  t.ok((await ctx.blocklist.getEntry(acme.id, ids.spam))?.observeSince, 'observing');
  const after = await app.inject({
    method: 'GET',
    url: `/blocked/${ids.spam}/edit?org=acme`,
    headers: { cookie: alice.cookie },
  });
  t.match(
    after.body,
    'This entry is <strong>observing: it records what it would have blocked and lets the calls through</strong>',
  );
  t.match(after.body, `href="/blocked/${ids.spam}/report?org=acme">Report and Promote…</a>`);
  t.notMatch(after.body, '/observe"');
});
