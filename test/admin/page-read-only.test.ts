// The panel says it is read-only while the shared PostgreSQL store cannot be reached (issue #15).
import t from 'tap';
import { html } from '../../daemon/admin/html-escape.js';
import type { AdminOperations } from '../../daemon/admin/admin-operations.js';
import { frameOf } from '../../daemon/admin/page-kit.js';
import { page } from '../../daemon/admin/page-layout.js';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import type { FastifyRequest } from 'fastify';
import { ACME, ALICE, adminFrame } from '../support/page-frame.js';

const frame = adminFrame('Blocked callers', '/blocked');

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
  const ops = { orgs: () => Promise.resolve([ACME]) } as unknown as AdminOperations;
  const req = { principal: { user: ALICE, csrf: 'x' }, accessOrg: ACME, query: {} } as unknown as FastifyRequest;
  t.equal((await frameOf(ctx, ops, req, '/flood', 'Flood detection')).f.readOnly, undefined, 'none while connected');
  connected = false;
  t.match(
    (await frameOf(ctx, ops, req, '/flood', 'Flood detection')).f.readOnly,
    /the shared store postgres:\/\/cs@db\/cs cannot be reached/,
  );
});
