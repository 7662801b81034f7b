// The panel says it is read-only while the shared PostgreSQL store cannot be reached (issue #15).
import t from 'tap';
import { permissionsFor } from '../../daemon/admin/access-policy.js';
import { html } from '../../daemon/admin/html-escape.js';
import { page, type Frame } from '../../daemon/admin/page-layout.js';
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
