/**
 * Walks the whole role table (access-policy.ts ACTIONS, printed in docs/admin.md) through every
 * API route and every panel form the server has: each role gets exactly the actions the table
 * gives it, other organisations answer 404, and no route escapes the access hook.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { ACTIONS, can, type Permission } from '../../daemon/admin/access-policy.js';
import type { RouteAccess } from '../../daemon/admin/access-hook.js';
import type { User } from '../../daemon/admin/user-service.js';
import { signIn, startPanel } from '../support/panel.js';

type Creds = { cookie: string; csrf: string };

function request(app: FastifyInstance, route: RouteAccess, who: Creds | null, org = 'acme') {
  const url = route.url.replace(':org', org).replace(':id', '1').replace(':name', 'andy');
  const api = url.startsWith('/api/');
  const headers: Record<string, string> = who
    ? { cookie: who.cookie, ...(api ? { 'x-csrf-token': who.csrf } : {}) }
    : {};
  if (route.method === 'GET')
    return app.inject({ method: 'GET', url: api ? url : `${url}${url.includes('?') ? '&' : '?'}org=${org}`, headers });
  if (api) return app.inject({ method: route.method as 'POST', url, headers, payload: {} });
  return app.inject({
    method: 'POST',
    url,
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ org, ...(who ? { _csrf: who.csrf } : {}) }).toString(),
  });
}

t.test('every route declares its access; the table covers every action', async (t) => {
  const { server } = await startPanel(t);
  t.ok(server.routes.length > 40, `${server.routes.length} routes recorded`);
  const actions = new Set(server.routes.map((r) => r.access));
  for (const a of Object.keys(ACTIONS)) t.ok(actions.has(a as Permission), `some route needs "${a}"`);
  for (const r of server.routes)
    t.ok(r.access === 'public' || r.access === 'signed-in' || r.access in ACTIONS, `${r.method} ${r.url}: ${r.access}`);
});

t.test('role × action × org, through the API and the forms', async (t) => {
  const { app, server, ctx } = await startPanel(t);
  const users: Record<string, { creds: Creds; user: User }> = {};
  for (const name of ['alice', 'sam', 'andy', 'bob'])
    users[name] = { creds: await signIn(app, name), user: await server.users.require(name) };
  const walk = async (label: string, only?: (r: RouteAccess) => boolean) => {
    const acme = await ctx.orgs.require('acme');
    for (const route of server.routes.filter((r) => r.access in ACTIONS && (!only || only(r)))) {
      const action = route.access as Permission;
      for (const name of ['alice', 'sam', 'andy']) {
        const { creds, user } = users[name]!;
        const res = await request(app, route, creds);
        const allowed = can(user, acme, action);
        t.ok(
          res.statusCode < 500,
          `${label}: no server error for ${user.role}: ${route.method} ${route.url} (${res.statusCode})`,
        );
        if (allowed)
          t.not(
            res.statusCode,
            403,
            `${label}: ${user.role} may ${action}: ${route.method} ${route.url} (${res.statusCode})`,
          );
        else t.equal(res.statusCode, 403, `${label}: ${user.role} may not ${action}: ${route.method} ${route.url}`);
      }
      const other = await request(app, route, users.bob!.creds);
      t.equal(other.statusCode, 404, `another org's admin gets 404: ${route.method} ${route.url}`);
    }
  };
  await walk('agents may block off');
  await ctx.orgs.updateSettings('acme', { agentsMayBlock: true }, { name: 'tester', source: 'cli', origin: 'test' });
  await walk('agents may block on', (r) => r.access === 'block');

  for (const route of server.routes.filter((r) => r.access !== 'public')) {
    const res = await request(app, route, null);
    if (route.url.startsWith('/api/')) t.equal(res.statusCode, 401, `signed out: ${route.method} ${route.url}`);
    else t.equal(res.statusCode, 303, `signed out → sign-in page: ${route.method} ${route.url}`);
  }
});
