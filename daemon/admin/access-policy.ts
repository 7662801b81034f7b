/**
 * Who may do what, in one table (docs/admin.md "Roles" prints the same table). A user works only
 * in the organisations listed for them: any other organisation answers 404 (its existence is not
 * revealed); an action the role lacks answers 403.
 *
 * Two layers, both here:
 * - the action a route performs (`ACTIONS`, checked once per request by the route's `access`
 *   config in access-hook.ts, never by a call inside each route);
 * - the scope of a block (what is blocked, and whether it weakens an existing entry), which only
 *   the block operation can know: `checkBlockScope` and `isWeakening`.
 *
 * Seed 000: only admins unblock — and a change that weakens an entry (reject → voicemail, an expiry
 * added or brought forward) is an unblock in effect, so it needs the `unblock` action too.
 * Seed 002: agents block contacts only, and only when the org's "agents may block" is on.
 */
import { getCountries, getCountryCallingCode } from 'libphonenumber-js/max';
import type { BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { Org } from '../store/rows.js';
import { roleIn, type Role, type User } from './user-service.js';

export type Permission =
  | 'view'
  | 'block'
  | 'unblock'
  | 'allow'
  | 'contacts'
  | 'quarantine'
  | 'dashboard'
  | 'audit'
  | 'settings'
  | 'users'
  | 'import';

/** Route-level access: an action in an org, or only "signed in", or public (sign-in, health). */
export type Access = Permission | 'signed-in' | 'public';

/** Role × action. `block` for agents is further limited by `checkBlockScope` and the org setting. */
export const ACTIONS: Readonly<Record<Permission, readonly Role[]>> = {
  view: ['admin', 'supervisor', 'agent'],
  block: ['admin', 'supervisor', 'agent'],
  unblock: ['admin'],
  allow: ['admin'],
  contacts: ['admin', 'supervisor'],
  quarantine: ['admin', 'supervisor'],
  dashboard: ['admin', 'supervisor'],
  audit: ['admin', 'supervisor'],
  settings: ['admin'],
  /** Reset another user's password: only for users whose every org the admin also works in. */
  users: ['admin'],
  /** Import a list: it may add allow entries and weaken blocks (mode, expiry), so admins only. */
  import: ['admin'],
};

/** Each action as the refusal says it: "agents may not unblock numbers". */
export const ACTION_WORDS: Readonly<Record<Permission, string>> = {
  view: 'see this organisation',
  block: 'block numbers',
  unblock: 'unblock numbers',
  allow: 'change the allow list',
  contacts: 'add or change contacts',
  quarantine: 'handle held messages',
  dashboard: 'see the dashboard',
  audit: 'read the audit log',
  settings: 'change settings',
  users: 'manage users',
  import: 'import lists',
};

/** Roles from least to most trusted: a token may carry a role no higher than its creator's. */
export const ROLE_RANK: Readonly<Record<Role, number>> = { agent: 0, supervisor: 1, admin: 2 };

/** Per-org admin policy kept next to the org (table org_admin_policy). */
export interface AdminOrgPolicy {
  /**
   * Shortest prefix a supervisor may block, in digits after "+" (country calling code included).
   * null = the default: the calling code of the prefix plus 3 digits (+1 555…, +44 207…).
   */
  readonly minPrefixDigits: number | null;
}

/** Digits a supervisor's prefix needs beyond the country calling code by default. */
export const DEFAULT_PREFIX_DIGITS_AFTER_CODE = 3;

const CALLING_CODES: ReadonlySet<string> = new Set(getCountries().map((c) => getCountryCallingCode(c)));

/** Length of the country calling code a "+digits" prefix starts with (codes are prefix-free), or 0. */
export function callingCodeLength(digits: string): number {
  for (let n = 1; n <= 3; n++) if (CALLING_CODES.has(digits.slice(0, n))) return n;
  return 0;
}

/** The shortest prefix (digits after "+") a supervisor may block in this org for this prefix. */
export function minPrefixDigits(policy: AdminOrgPolicy, prefixDigits: string): number {
  if (policy.minPrefixDigits !== null) return policy.minPrefixDigits;
  return (callingCodeLength(prefixDigits) || 3) + DEFAULT_PREFIX_DIGITS_AFTER_CODE;
}

/** Roles are per organisation (users.role unless user_orgs.role says otherwise): `roleIn`. */
export function can(user: User, org: Org, permission: Permission): boolean {
  if (!user.orgs.includes(org.slug)) return false;
  const role = roleIn(user, org.slug);
  if (permission === 'block' && role === 'agent') return org.policy.agentsMayBlock;
  return ACTIONS[permission].includes(role);
}

/** Throws 404 for an organisation the user does not work in, 403 for a missing permission. */
export function authorize(user: User, org: Org | undefined, slug: string, permission: Permission): Org {
  if (!org || !user.orgs.includes(org.slug)) {
    throw new CallscreenError('CS_ERR_ORG_NOT_FOUND', `no organisation "${slug}"`, { org: slug });
  }
  if (!can(user, org, permission)) {
    const role = roleIn(user, org.slug);
    const why =
      permission === 'block' && role === 'agent'
        ? 'agents may block only when an admin turns on "agents may block" in settings'
        : `${role}s may not ${ACTION_WORDS[permission]} in "${org.slug}"`;
    throw new CallscreenError('CS_ERR_FORBIDDEN', why, { permission, role });
  }
  return org;
}

export type BlockKind = 'number' | 'prefix' | 'contact' | 'unidentified' | 'pattern';

/**
 * What a role may block (after `authorize(…, 'block')`): agents contacts only; supervisors no
 * prefix shorter than the org's minimum; admins anything. `prefix` is the normalised prefix.
 */
export function checkBlockScope(user: User, org: Org, policy: AdminOrgPolicy, kind: BlockKind, prefix = ''): void {
  const role = roleIn(user, org.slug);
  if (role === 'admin') return;
  if (role === 'agent' && kind !== 'contact') {
    throw new CallscreenError('CS_ERR_FORBIDDEN', `agents may block contacts only, not a ${kind}`, {
      permission: 'block',
      role,
      kind,
    });
  }
  if (kind === 'prefix') {
    const digits = prefix.replace(/^\+/, '');
    const min = prefix.startsWith('+') ? minPrefixDigits(policy, digits) : Number.POSITIVE_INFINITY;
    if (digits.length < min) {
      const need = Number.isFinite(min)
        ? `at least ${min} digits after "+" in "${org.slug}"`
        : 'a "+country code" prefix';
      throw new CallscreenError(
        'CS_ERR_FORBIDDEN',
        `a ${role} may block a prefix of ${need}; ask an admin for "${prefix}"`,
        { permission: 'block', role, kind, minDigits: Number.isFinite(min) ? min : null },
      );
    }
  }
}

/** True when replacing `before` with `after` lets more through: a more lenient mode or an earlier end. */
export function isWeakening(
  before: { mode: BlockMode; expiresAt: number | null },
  after: { mode: BlockMode; expiresAt: number | null },
): boolean {
  if (before.mode === 'reject' && after.mode === 'voicemail') return true;
  if (after.expiresAt === null) return false;
  return before.expiresAt === null || after.expiresAt < before.expiresAt;
}

/** What the pages show or hide for a user in an org (buttons a role cannot use are not drawn). */
export function permissionsFor(user: User, org: Org): Record<Permission, boolean> {
  const out = {} as Record<Permission, boolean>;
  for (const p of Object.keys(ACTIONS) as Permission[]) out[p] = can(user, org, p);
  return out;
}
