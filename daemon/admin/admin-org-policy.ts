/**
 * The admin-only part of an organisation's policy (table org_admin_policy, migration 2): kept out of
 * `orgs` because the screening path never needs it. Missing row = every default.
 */
import type { Database } from '../store/database.js';
import type { AdminOrgPolicy } from './access-policy.js';

export const DEFAULT_ADMIN_ORG_POLICY: AdminOrgPolicy = Object.freeze({ minPrefixDigits: null });

export class AdminOrgPolicyStore {
  constructor(private readonly db: Database) {}

  async get(orgId: number): Promise<AdminOrgPolicy> {
    const row = await this.db.get<{ min_prefix_digits: number | null }>(
      'SELECT min_prefix_digits FROM org_admin_policy WHERE org_id = ?',
      [orgId],
    );
    return row ? { minPrefixDigits: row.min_prefix_digits } : DEFAULT_ADMIN_ORG_POLICY;
  }

  /** Callers run this inside their own transaction with the audit record. */
  async setMinPrefixDigits(orgId: number, digits: number | null): Promise<void> {
    await this.db.run(
      'INSERT INTO org_admin_policy (org_id, min_prefix_digits) VALUES (?, ?) ON CONFLICT(org_id) DO UPDATE SET min_prefix_digits = excluded.min_prefix_digits',
      [orgId, digits],
    );
  }
}
