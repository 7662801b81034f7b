/**
 * The frame a panel page is rendered in, for suites that render pages without a server
 * (test/admin/page-read-only.test.ts, page-calls-nodes.test.ts): one org, 'acme', at the default
 * policy and its admin, alice.
 */
import { permissionsFor } from '../../daemon/admin/access-policy.js';
import type { Frame } from '../../daemon/admin/page-layout.js';
import type { Org } from '../../daemon/store/rows.js';
import { orgPolicy } from './org-policy.js';

export const ACME: Org = { id: 1, slug: 'acme', name: 'Acme', createdAt: 0, policy: orgPolicy() };
export const ALICE = { id: 1, name: 'alice', role: 'admin' as const, disabled: false, orgs: ['acme'], roles: {} };

/** Alice's frame for the page at `path`, titled `title`. */
export function adminFrame(title: string, path: string): Frame {
  return { title, user: ALICE, csrf: 'x', org: ACME, orgs: [ACME], perms: permissionsFor(ALICE, ACME), path };
}
