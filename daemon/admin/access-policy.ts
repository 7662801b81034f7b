/**
 * Who may do what, in one table. A user works only in the organisations listed for them: any other
 * organisation answers 404 (its existence is not revealed); an action the role lacks answers 403.
 *
 * - admin: everything in their organisations, including unblock (seed 000: "make sure you are
 *   signed in as an Admin") and settings.
 * - supervisor: sees the lists, blocks, adds contacts, releases or deletes quarantined messages
 *   (seed 002), reads the dashboard and audit log. Does not unblock or change settings.
 * - agent: sees the lists and recent calls, pre-checks numbers; blocks only when the organisation's
 *   `agentsMayBlock` setting is on (seed 002, off by default); never unblocks.
 */
import { CallscreenError } from '../core/errors.js';
import type { Org } from '../store/rows.js';
import type { Role, User } from './user-service.js';

export type Permission = 'view' | 'block' | 'unblock' | 'allow' | 'contacts' | 'quarantine' | 'dashboard' | 'audit' | 'settings';

const MATRIX: Readonly<Record<Permission, readonly Role[]>> = {
  view: ['admin', 'supervisor', 'agent'],
  block: ['admin', 'supervisor'],
  unblock: ['admin'],
  allow: ['admin'],
  contacts: ['admin', 'supervisor'],
  quarantine: ['admin', 'supervisor'],
  dashboard: ['admin', 'supervisor'],
  audit: ['admin', 'supervisor'],
  settings: ['admin'],
};

export function can(user: User, org: Org, permission: Permission): boolean {
  if (!user.orgs.includes(org.slug)) return false;
  if (permission === 'block' && user.role === 'agent') return org.policy.agentsMayBlock;
  return MATRIX[permission].includes(user.role);
}

/** Throws 404 for an organisation the user does not work in, 403 for a missing permission. */
export function authorize(user: User, org: Org | undefined, slug: string, permission: Permission): Org {
  if (!org || !user.orgs.includes(org.slug)) {
    throw new CallscreenError('CS_ERR_ORG_NOT_FOUND', `no organisation "${slug}"`, { org: slug });
  }
  if (!can(user, org, permission)) {
    const why = permission === 'block' && user.role === 'agent'
      ? 'agents may block only when an admin turns on "agents may block" in settings'
      : `a ${user.role} may not ${permission} in "${org.slug}"`;
    throw new CallscreenError('CS_ERR_FORBIDDEN', why, { permission, role: user.role });
  }
  return org;
}

/** What the pages show or hide for a user in an org (buttons a role cannot use are not drawn). */
export function permissionsFor(user: User, org: Org): Record<Permission, boolean> {
  const out = {} as Record<Permission, boolean>;
  for (const p of Object.keys(MATRIX) as Permission[]) out[p] = can(user, org, p);
  return out;
}
