// The panel says it is read-only while the shared PostgreSQL store cannot be reached (issue #15).
import t from 'tap';
import { permissionsFor } from '../../daemon/admin/access-policy.js';
import { html } from '../../daemon/admin/html-escape.js';
import type { AdminOperations } from '../../daemon/admin/admin-operations.js';
import { frameOf } from '../../daemon/admin/page-kit.js';
import { page, type Frame } from '../../daemon/admin/page-layout.js';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import type { FastifyRequest } from 'fastify';
import type { Org } from '../../daemon/store/rows.js';

const org: Org = {
  id: 1,
  slug: 'acme',
  name: 'Acme',
  createdAt: 0,
  policy: {
    region: 'US',
    outboundPolicy: 'warn',
    rejectCode: 603,
    defaultMode: 'reject',
    agentsMayBlock: false,
    attestationFailed: 'allow',
    ownDidUnattested: 'voicemail',
    standinsUnidentified: false,
  },
};
const user = { id: 1, name: 'alice', role: 'admin' as const, disabled: false, orgs: ['acme'], roles: {} };
const frame: Frame = {
  title: 'Blocked callers',
  user,
  csrf: 'x',
  org,
  orgs: [org],
  perms: permissionsFor(user, org),
  path: '/blocked',
};

t.test('a read-only banner only while the shared store is away', async (t) => {
  t.notMatch(page(frame, html`<p>list</p>`), /Read-only/, 'none normally');
  const away = page(
    {
      ...frame,
      readOnly: 'the shared store postgres://cs@db/cs cannot be reached, so changes are refused until it is back.',
    },
    html`<p>list</p>`,
  );
  t.match(
    away,
    '<p class="notice read-only" role="alert">Read-only: the shared store postgres://cs@db/cs cannot be reached, so changes are refused until it is back.</p>',
  );
});

t.test("every page's frame carries the banner while the shared store is away (page-kit frameOf)", async (t) => {
  let connected = true;
  const ctx = {
    shared: { status: () => ({ store: 'postgres://cs@db/cs', replica: { connected } }) },
  } as unknown as DaemonContext;
  const ops = { orgs: () => Promise.resolve([org]) } as unknown as AdminOperations;
  const req = { principal: { user, csrf: 'x' }, accessOrg: org, query: {} } as unknown as FastifyRequest;
  t.equal((await frameOf(ctx, ops, req, '/flood', 'Flood detection')).f.readOnly, undefined, 'none while connected');
  connected = false;
  t.match(
    (await frameOf(ctx, ops, req, '/flood', 'Flood detection')).f.readOnly,
    /the shared store postgres:\/\/cs@db\/cs cannot be reached/,
  );
});
