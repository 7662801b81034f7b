/**
 * The panel's Flood page (issue #16) through inject(): the settings read by anyone in the org and
 * changed by admins (only what changed is stored; a bad value named at its field; the defaults put
 * back), and the handset block requests listed for admins and supervisors, approved (blocked as the
 * admin) or declined by admins only — the same services as the API's `…/flood`, `…/block-requests`.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { signIn, startPanel } from '../support/panel.js';

type Creds = { cookie: string; csrf: string };

function post(app: FastifyInstance, who: Creds, url: string, form: Record<string, string>) {
  return app.inject({
    method: 'POST', url, headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ org: 'acme', _csrf: who.csrf, ...form }).toString(),
  });
}

/** The form as the page draws it for the defaults (enabled on, voicemail, neighbour off). */
const DEFAULTS = { enabled: 'on', mode: 'voicemail', maxCalls: '5', windowMinutes: '10', didSweep: '4', prefixDigits: '4', prefixMaxCalls: '10', holdMinutes: '60', neighbourMaxCalls: '3' };

t.test('flood settings: read by everyone, changed by admins, bad values named, defaults put back', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
  const agent = await app.inject({ method: 'GET', url: '/flood?org=acme', headers: { cookie: andy.cookie } });
  t.equal(agent.statusCode, 200);
  t.match(agent.body, '<a href="/flood?org=acme" aria-current="page">Flood</a>');
  t.match(agent.body, '<td data-label="Setting">Detect floods and robocalls</td><td data-label="Value">on</td>');
  t.notMatch(agent.body, 'method="post" action="/flood"', 'agents read, no form');
  t.notMatch(agent.body, 'Block requests from handsets', 'nor the requests');
  const admin = await app.inject({ method: 'GET', url: '/flood?org=acme', headers: { cookie: alice.cookie } });
  t.match(admin.body, /<label for="maxCalls">Hold one number calling more than this many times within the window <span class="hint">default 5<\/span><\/label>\s*<input id="maxCalls" name="maxCalls" type="number" min="1" max="100" value="5">/);

  t.equal((await post(app, sam, '/flood', { ...DEFAULTS, maxCalls: '9' })).statusCode, 403, 'supervisors do not change settings');
  const saved = await post(app, alice, '/flood', { ...DEFAULTS, maxCalls: '9', neighbour: 'on', mode: 'reject' });
  t.equal(saved.statusCode, 303, saved.body);
  t.equal(saved.headers.location, '/flood?org=acme&notice=flood-saved');
  const p = await ctx.flood.get('acme');
  t.same(Object.keys(p.changes).sort(), ['maxCalls', 'mode', 'neighbour'], 'only what changed is stored');
  t.match(p.effective, { maxCalls: 9, neighbour: true, mode: 'reject', windowMinutes: 10 });
  const after = await app.inject({ method: 'GET', url: String(saved.headers.location), headers: { cookie: alice.cookie } });
  t.match(after.body, 'Saved the flood detection settings.');
  t.match(after.body, /within the window <span class="tag">changed<\/span>/);

  for (const [key, typed, message] of [['maxCalls', '0', 'flood setting maxCalls must be a whole number from 1 to 100'], ['holdMinutes', 'soon', 'flood setting holdMinutes must be a whole number from 1 to 10080']] as const) {
    const bad = await post(app, alice, '/flood', { ...DEFAULTS, [key]: typed });
    t.equal(bad.statusCode, 400, `${key}=${typed}`);
    t.match(bad.body, new RegExp(`<input id="${key}" name="${key}" type="number" min="\\d+" max="\\d+" value="${typed}" aria-invalid="true" aria-describedby="${key}-error"><p class="field-error" id="${key}-error">${message}`));
  }
  t.match((await ctx.flood.get('acme')).effective, { maxCalls: 9 }, 'a refused form changes nothing');

  const reset = await post(app, alice, '/flood', { ...DEFAULTS, reset: 'yes' });
  t.equal(reset.statusCode, 303);
  t.same((await ctx.flood.get('acme')).changes, {}, 'the defaults again');
  t.equal((await ctx.audit.query({ action: 'flood.settings' })).total, 2, 'each change audited');
});

t.test('handset block requests: listed for supervisors, approved or declined by admins', async (t) => {
  const { app, ctx } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  t.match(await ctx.handset.block({ org: 'acme', endpoint: 'andy', caller: '+14155550177', how: 'last-caller' }), { result: 'queued' });
  t.match(await ctx.handset.block({ org: 'acme', endpoint: 'andy', caller: '+14155550178', how: 'last-caller' }), { result: 'queued' });
  const [first, second] = await ctx.handset.list('acme');
  if (!first || !second) throw new Error('two requests expected');

  const supPage = await app.inject({ method: 'GET', url: '/flood?org=acme', headers: { cookie: sam.cookie } });
  t.match(supPage.body, '<h2 id="requests-h">Block requests from handsets</h2>');
  t.match(supPage.body, '<td data-label="Number">+14155550177</td><td data-label="Asked by">andy</td>');
  t.notMatch(supPage.body, '/approve"', 'supervisors see, do not approve');
  t.equal((await post(app, sam, `/flood/requests/${first.id}/approve`, {})).statusCode, 403);

  const adminPage = await app.inject({ method: 'GET', url: '/flood?org=acme', headers: { cookie: alice.cookie } });
  t.match(adminPage.body, `aria-label="Approve: block +14155550177"`);
  const approved = await post(app, alice, `/flood/requests/${first.id}/approve`, {});
  t.equal(approved.statusCode, 303, approved.body);
  const after = await app.inject({ method: 'GET', url: String(approved.headers.location), headers: { cookie: alice.cookie } });
  t.match(after.body, 'Approved the block request: blocked +14155550177.');
  t.notMatch(after.body, '<td data-label="Number">+14155550177</td>', 'no longer waiting');
  t.match((await ctx.blocklist.list('acme', { search: '4155550177' })).entries, [{ createdBy: 'alice' }]);

  const declined = await post(app, alice, `/flood/requests/${second.id}/decline`, {});
  t.equal(declined.statusCode, 303);
  t.match((await app.inject({ method: 'GET', url: String(declined.headers.location), headers: { cookie: alice.cookie } })).body, 'Declined the block request: the number is not blocked.');
  t.equal((await ctx.blocklist.list('acme', { search: '4155550178' })).total, 0);
  t.match(await ctx.handset.list('acme', 'all'), [{ status: 'approved', decidedBy: 'alice' }, { status: 'declined', decidedBy: 'alice' }]);
  t.equal((await post(app, alice, `/flood/requests/${second.id}/approve`, {})).statusCode, 400, 'already decided');
});
