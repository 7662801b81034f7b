/**
 * The Flood detection and Block requests pages (daemon/admin/page-flood.ts): settings read by
 * anyone in the org, saved by admins with a bad value named at its field and nothing saved;
 * handset block requests listed for admins and supervisors, blocked or declined by admins only.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { postForm as post, signIn, startPanel, type Session } from '../support/panel.js';

const get = (app: FastifyInstance, who: Session, url: string) =>
  app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });

/** Every field of the form as a browser posts it (unticked checkboxes absent). */
const form = (over: Record<string, string | null> = {}): Array<[string, string]> => {
  const base: Record<string, string | null> = {
    enabled: 'on',
    neighbour: null,
    mode: 'voicemail',
    maxCalls: '5',
    windowMinutes: '10',
    didSweep: '4',
    prefixDigits: '4',
    prefixMaxCalls: '10',
    holdMinutes: '60',
    neighbourMaxCalls: '3',
    ...over,
  };
  return Object.entries(base).filter((e): e is [string, string] => e[1] !== null);
};

t.test('flood settings page', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];

  const seen = await get(app, sam, '/flood?org=acme');
  t.equal(seen.statusCode, 200);
  t.match(seen.body, 'These are the defaults.');
  t.match(
    seen.body,
    /<input id="maxCalls" name="maxCalls" type="number"[^>]* value="5" disabled>/,
    'a supervisor sees the settings, not a form to change them',
  );
  t.match(seen.body, 'Only an admin of Acme Dental can change these.');
  t.equal(
    (await post(app, sam, '/flood', form({ maxCalls: '9' }))).statusCode,
    403,
    'supervisors do not change settings',
  );

  t.match(
    (await get(app, alice, '/settings?org=acme')).body,
    '<a href="/flood?org=acme">Flood and robocall detection settings</a>',
    'linked from Settings',
  );
  const adminPage = await get(app, alice, '/flood?org=acme');
  t.match(adminPage.body, '<button type="submit">Save</button>');

  const bad = await post(app, alice, '/flood', form({ maxCalls: '0', holdMinutes: '90' }));
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /flood setting maxCalls must be a whole number from 1 to 100/);
  t.match(
    bad.body,
    /<input id="maxCalls" name="maxCalls"[^>]* value="0" aria-invalid="true"/,
    'the field is marked, with what was typed',
  );
  t.match(bad.body, /<input id="holdMinutes" name="holdMinutes"[^>]* value="90"/, 'the other values typed are kept');
  t.same((await ctx.flood.get('acme')).changes, {}, 'nothing saved');
  const notNumber = await post(app, alice, '/flood', form({ windowMinutes: 'ten' }));
  t.equal(notNumber.statusCode, 400);
  t.match(notNumber.body, /Window \(minutes\) must be a whole number from 1 to 1440/);

  const saved = await post(app, alice, '/flood', form({ maxCalls: '9', neighbour: 'on', mode: 'reject' }));
  t.equal(saved.statusCode, 303, saved.body);
  t.equal(saved.headers.location, '/flood?org=acme&notice=settings-saved');
  t.match((await ctx.flood.get('acme')).effective, { maxCalls: 9, neighbour: true, mode: 'reject', windowMinutes: 10 });
  const after = await get(app, alice, String(saved.headers.location));
  t.match(after.body, '<p class="notice" role="status">Settings saved.</p>');
  t.match(after.body, '<strong>3</strong> settings differ from the defaults.');
  t.same(
    (await ctx.flood.get('acme')).changes,
    { maxCalls: 9, neighbour: true, mode: 'reject' },
    'only what differs from the defaults is stored',
  );
  t.match(after.body, /Calls from one number <span class="tag">changed<\/span>/);
  t.match(
    (await ctx.audit.query({})).events.map((e) => e.actor),
    ['alice'],
    'audited as the admin',
  );

  const off = await post(app, alice, '/flood', form({ enabled: null }));
  t.equal(off.statusCode, 303);
  t.equal((await ctx.flood.get('acme')).effective.enabled, false, 'an unticked box turns detection off');

  const reset = await post(app, alice, '/flood/reset', []);
  t.equal(reset.statusCode, 303);
  t.same((await ctx.flood.get('acme')).changes, {}, 'back to the defaults');
});

t.test('block requests page', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
  t.match(await ctx.handset.block({ org: 'acme', endpoint: 'andy', caller: '+14155550177', how: 'last-caller' }), {
    result: 'queued',
  });
  t.match(await ctx.handset.block({ org: 'acme', endpoint: 'andy', caller: '+14155550178', how: 'last-caller' }), {
    result: 'queued',
  });

  t.equal((await get(app, andy, '/requests?org=acme')).statusCode, 403, 'agents do not see the queue');
  const list = await get(app, sam, '/requests?org=acme');
  t.equal(list.statusCode, 200);
  t.match(
    (await get(app, sam, '/dashboard?org=acme')).body,
    '2 block requests from phones are waiting for an admin: <a href="/requests?org=acme">review them</a>.',
    'announced on the dashboard',
  );
  t.match(list.body, /<td data-label="Number">\+14155550177<\/td>\s*<td data-label="Asked by">andy/);
  t.notMatch(list.body, 'action="/requests/', 'supervisors see the requests, not the buttons');
  t.equal((await get(app, sam, '/requests?org=acme&status=maybe')).statusCode, 400, 'an unknown status is named');

  const reqs = await ctx.handset.list('acme');
  const first = reqs.find((r) => r.number === '+14155550177');
  const second = reqs.find((r) => r.number === '+14155550178');
  if (!first || !second) throw new Error('the two requests were not queued');
  t.equal((await post(app, sam, `/requests/${first.id}/approve`, [])).statusCode, 403, 'supervisors do not approve');
  const admin = await get(app, alice, '/requests?org=acme');
  t.match(admin.body, `<button type="submit" aria-label="Block +14155550177">Block</button>`);

  const ok = await post(app, alice, `/requests/${first.id}/approve`, []);
  t.equal(ok.statusCode, 303, ok.body);
  t.match(String(ok.headers.location), /^\/requests\?org=acme&notice=blocked&ref=\d+$/);
  t.match(
    (await get(app, alice, String(ok.headers.location))).body,
    '<p class="notice" role="status">Blocked +14155550177.</p>',
  );
  t.match(
    (await ctx.blocklist.list('acme', { search: '4155550177' })).entries,
    [{ createdBy: 'alice' }],
    'blocked as the admin',
  );

  const no = await post(app, alice, `/requests/${second.id}/decline`, [['note', 'a customer']]);
  t.equal(no.statusCode, 303);
  t.match(String(no.headers.location), 'notice=request-declined');
  t.equal((await ctx.blocklist.list('acme', { search: '4155550178' })).total, 0, 'declined: not blocked');
  t.equal(
    (await post(app, alice, `/requests/${second.id}/approve`, [])).statusCode,
    400,
    'a decided request cannot be decided again',
  );

  t.match((await get(app, alice, '/dashboard?org=acme')).body, 'Block requests from phones</a>: none waiting.');
  const pending = await get(app, alice, '/requests?org=acme');
  t.match(pending.body, 'No pending block requests in Acme Dental.');
  const all = await get(app, alice, '/requests?org=acme&status=all');
  t.match(all.body, /approved <span class="hint">by alice/);
  t.match(all.body, /declined <span class="hint">by alice/);
});
