/**
 * The API doors of issue #17's second round (api-door-routes.ts), through fastify inject(): bulk
 * unblock (by id, all matching a search, all or nothing, held messages refuse a contact), an
 * organisation's users (list, add with a generated password, disable/enable, the "other orgs" rule),
 * import with dry run and per-row errors, export, and calls filtered by verdict and number.
 */
import t from 'tap';
import { apiCall as call, signIn, startPanel } from '../support/panel.js';

/** GET …/calls, as far as these tests read it. */
type CallsAnswer = { calls: { number: string }[] };

t.test(
  'bulk unblock: by id, all or nothing; all matching a search; a contact with held messages refuses',
  async (t) => {
    const { app, ctx, ids } = await startPanel(t);
    const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
    t.equal(
      (await call(app, sam, 'POST', '/api/v1/orgs/acme/blocked/unblock-many', { ids: [ids.spam] })).statusCode,
      403,
      'supervisors do not unblock',
    );
    const none = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked/unblock-many', {});
    t.equal(none.statusCode, 400);
    t.equal(none.json<{ details: { field: unknown } }>().details.field, 'ids');
    const bad = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked/unblock-many', { ids: [ids.spam, 99999] });
    t.equal(bad.statusCode, 404);
    t.match(bad.json<{ message: unknown }>().message, /99999.*nothing was removed/);
    t.equal((await ctx.blocklist.list('acme', { list: 'block' })).total, 3, 'nothing removed');
    const contact = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked/unblock-many', {
      ids: [ids.spam, ids.contactEntry],
    });
    t.equal(contact.statusCode, 400);
    t.match(contact.json<{ message: unknown }>().message, /Pushy Vendor.*2 held message/);

    for (let i = 0; i < 30; i++)
      await ctx.blocklist.block(
        'acme',
        { kind: 'exact', number: `+1555444${String(i).padStart(4, '0')}` },
        { reason: 'bulk' },
        { name: 'seed', source: 'cli', origin: 'test' },
      );
    const all = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked/unblock-many', {
      all: true,
      search: '555 444',
      note: 'cleanup',
    });
    t.equal(all.statusCode, 200, all.body);
    t.equal(all.json<{ unblocked: unknown }>().unblocked, 30);
    t.equal((await ctx.blocklist.list('acme', { list: 'block' })).total, 3);
    t.equal(
      (await ctx.audit.query({ action: 'unblock', limit: 100 })).events.filter((e) => e.reason === 'cleanup').length,
      30,
      'each unblock audited with the note',
    );
    const one = await call(app, alice, 'POST', '/api/v1/orgs/acme/blocked/unblock-many', { ids: [ids.spam] });
    t.same(one.json<{ ids: unknown }>().ids, [ids.spam]);
  },
);

t.test(
  "an org's users: list, add (password generated once), disable/enable; users of other orgs are not this admin's",
  async (t) => {
    const { app } = await startPanel(t);
    const [alice, bob, sam] = [await signIn(app, 'alice'), await signIn(app, 'bob'), await signIn(app, 'sam')];
    t.equal((await call(app, sam, 'GET', '/api/v1/orgs/acme/users')).statusCode, 403);
    const list = await call(app, bob, 'GET', '/api/v1/orgs/globex/users');
    t.same(
      list.json<{ users: { name: string; manageable: boolean }[] }>().users.map((u) => [u.name, u.manageable]),
      [
        ['alice', false],
        ['bob', true],
      ],
      "alice works in acme too: not bob's to change",
    );
    const added = await call(app, bob, 'POST', '/api/v1/orgs/globex/users', { name: 'gina', role: 'supervisor' });
    t.equal(added.statusCode, 201);
    t.match(added.json(), { user: { name: 'gina', role: 'supervisor', orgs: ['globex'] } });
    const generated = added.json<{ password?: string }>().password;
    t.ok(typeof generated === 'string' && generated.length >= 10, 'a generated password, returned once');
    await signIn(app, 'gina', generated ?? '');
    const dup = await call(app, bob, 'POST', '/api/v1/orgs/globex/users', {
      name: 'gina',
      role: 'agent',
      password: 'another-long-one',
    });
    t.equal(dup.statusCode, 409);
    t.equal(
      (await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/alice', { disabled: true })).statusCode,
      403,
      'alice also works in acme',
    );
    t.equal(
      (await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/sam', { disabled: true })).statusCode,
      404,
      "another org's user does not exist here",
    );
    t.equal(
      (await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/bob', { disabled: true })).statusCode,
      403,
      'not yourself',
    );
    const off = await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/gina', { disabled: true });
    t.equal(off.statusCode, 200);
    t.equal(off.json<{ user: { disabled: unknown } }>().user.disabled, true);
    const signInRefused = await app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { name: 'gina', password: generated ?? '' },
    });
    t.equal(signInRefused.statusCode, 401, 'a disabled user cannot sign in');
    t.equal(
      (await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/gina', { disabled: false })).json<{
        user: { disabled: unknown };
      }>().user.disabled,
      false,
    );
    t.equal(
      (await call(app, alice, 'POST', '/api/v1/orgs/acme/users', { name: 'x', role: 'boss' })).statusCode,
      400,
      'an unknown role is refused by the schema',
    );
  },
);

t.test(
  'import: dry run counts and writes nothing; a bad row is 422 with every bad row; export re-imports',
  async (t) => {
    const { app, ctx } = await startPanel(t);
    const [alice, sam, andy] = [await signIn(app, 'alice'), await signIn(app, 'sam'), await signIn(app, 'andy')];
    const csv =
      'number;mode;name\n+1 555 222 0001;reject;One\n555-222-0002;voicemail;Two\n(555) 123-4567;voicemail;Spam again\n';
    t.equal(
      (await call(app, sam, 'POST', '/api/v1/orgs/acme/import', { csv })).statusCode,
      403,
      'supervisors do not import',
    );
    const dry = await call(app, alice, 'POST', '/api/v1/orgs/acme/import', { csv, dryRun: true });
    t.equal(dry.statusCode, 200, dry.body);
    t.match(dry.json(), { rows: 3, added: 2, updated: 1, dryRun: true });
    t.equal((await ctx.blocklist.list('acme', { list: 'block' })).total, 3, 'a dry run writes nothing');
    const bad = await call(app, alice, 'POST', '/api/v1/orgs/acme/import', {
      csv: 'number,mode\n+15552220001,reject\nnot a number,reject\n+15552220003,sometimes\n',
    });
    t.equal(bad.statusCode, 422);
    t.same(
      bad.json<{ details: { errors: { line: number }[] } }>().details.errors.map((e) => e.line),
      [3, 4],
      'every bad row, by line',
    );
    t.equal((await ctx.blocklist.list('acme', { list: 'block' })).total, 3, 'all or nothing');
    const done = await call(app, alice, 'POST', '/api/v1/orgs/acme/import', { csv });
    t.match(done.json(), { rows: 3, added: 2, updated: 1, dryRun: false });
    const exp = await call(app, andy, 'GET', '/api/v1/orgs/acme/export');
    t.equal(exp.statusCode, 200);
    t.match(exp.headers['content-type'], /text\/csv/);
    t.match(exp.headers['content-disposition'], /attachment; filename="acme-blocklist.csv"/);
    t.match(exp.body, /\+15552220001/);
    const again = await call(app, alice, 'POST', '/api/v1/orgs/acme/import', { csv: exp.body, dryRun: true });
    t.match(again.json(), { added: 0 }, 'the export re-imports as is');
    const json = await call(app, andy, 'GET', '/api/v1/orgs/acme/export?format=json');
    t.match(json.headers['content-type'], /application\/json/);
  },
);

t.test('calls filtered by verdict and number', async (t) => {
  const { app, ctx } = await startPanel(t);
  const alice = await signIn(app, 'alice');
  const acme = await ctx.orgs.require('acme');
  for (const from of ['+15551234567', '+15553330000', '+15553330001']) {
    const req = { org: 'acme', channel: 'call', direction: 'inbound', from, to: '+12125550100' } as const;
    ctx.screener.recordVerdict(req, acme.id, await ctx.screener.screen(req), 'test', null);
  }
  await ctx.recorder.flush();
  const all = await call(app, alice, 'GET', '/api/v1/orgs/acme/calls');
  t.equal(all.json<{ calls: unknown[] }>().calls.length, 3);
  const rejected = await call(app, alice, 'GET', '/api/v1/orgs/acme/calls?verdict=reject');
  t.same(
    rejected.json<CallsAnswer>().calls.map((c) => c.number),
    ['+15551234567'],
  );
  const byNumber = await call(app, alice, 'GET', '/api/v1/orgs/acme/calls?number=555%20333');
  t.equal(byNumber.json<{ calls: unknown[] }>().calls.length, 2);
  const both = await call(app, alice, 'GET', '/api/v1/orgs/acme/calls?verdict=allow&number=3330001');
  t.same(
    both.json<CallsAnswer>().calls.map((c) => c.number),
    ['+15553330001'],
  );
  t.equal((await call(app, alice, 'GET', '/api/v1/orgs/acme/calls?verdict=maybe')).statusCode, 400);
});

t.test(
  'a role per organisation: admin of one, agent of another; set by an admin (API) or the CLI (user role)',
  async (t) => {
    const { app, server, ids } = await startPanel(t);
    // alice: admin of acme and globex; made an agent in acme only.
    await server.users.setRole('alice', 'acme', 'agent', { name: 'root', source: 'cli', origin: 'test' });
    const alice = await signIn(app, 'alice');
    const me = await call(app, alice, 'GET', '/api/v1/me');
    t.same(
      me.json<{ orgs: { slug: string; role: string }[] }>().orgs.map((o) => [o.slug, o.role]),
      [
        ['acme', 'agent'],
        ['globex', 'admin'],
      ],
    );
    const refused = await call(app, alice, 'POST', `/api/v1/orgs/acme/blocked/${ids.spam}/unblock`, {});
    t.equal(refused.statusCode, 403, 'an agent in acme may not unblock there');
    t.match(refused.json<{ message: unknown }>().message, 'agents may not unblock numbers in "acme"');
    t.equal((await call(app, alice, 'GET', '/api/v1/orgs/globex/settings')).statusCode, 200, 'still admin of globex');

    const bob = await signIn(app, 'bob');
    const gina = await call(app, bob, 'POST', '/api/v1/orgs/globex/users', {
      name: 'gina',
      role: 'agent',
      password: 'gina-password-1',
    });
    t.equal(gina.statusCode, 201);
    t.equal(
      (await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/alice', { role: 'agent' })).statusCode,
      403,
      "alice also works in acme: not bob's",
    );
    t.equal(
      (await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/bob', { role: 'agent' })).statusCode,
      403,
      'not your own role',
    );
    t.equal((await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/gina', {})).statusCode, 400, 'nothing to change');
    const promoted = await call(app, bob, 'PATCH', '/api/v1/orgs/globex/users/gina', { role: 'supervisor' });
    t.equal(promoted.statusCode, 200, promoted.body);
    t.match(promoted.json<{ user: unknown }>().user, {
      name: 'gina',
      role: 'supervisor',
      roles: { globex: 'supervisor' },
    });
    const ginaSession = await signIn(app, 'gina', 'gina-password-1');
    t.equal(
      (await call(app, ginaSession, 'GET', '/api/v1/orgs/globex/audit')).statusCode,
      200,
      'a supervisor reads the audit log',
    );
    const audit = await call(app, bob, 'GET', '/api/v1/orgs/globex/audit?action=user.role');
    t.match(audit.json<{ events: Array<unknown> }>().events[0], { actor: 'bob', target: 'gina' });

    // A token carries at most the user's highest role, and is capped by the role in each org.
    const token = await server.users.createToken(
      'alice',
      { name: 'wallboard', role: 'supervisor' },
      { name: 'alice', source: 'cli', origin: 'test' },
    );
    const bearer = (url: string) =>
      app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token.token}` } });
    t.equal((await bearer('/api/v1/orgs/globex/audit')).statusCode, 200, 'supervisor token in globex');
    t.equal((await bearer('/api/v1/orgs/acme/audit')).statusCode, 403, 'but alice is an agent in acme');
  },
);
