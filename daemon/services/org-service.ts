/** Organisations, their inbound numbers (DIDs) and settings. */
import type { Clock } from '../core/clock.js';
import { BLOCK_MODES, type BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import {
  IDENTITY_ACTIONS,
  OUTBOUND_POLICIES,
  REJECT_CODES,
  type IdentityAction,
  type OutboundPolicy,
  type RejectCode,
} from '../core/org-policy.js';
import type { NumberNormalizer } from '../core/phone-number.js';
import type { Database } from '../store/database.js';
import { toOrg, type Org, type OrgRow } from '../store/rows.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';

export interface OrgSettingsPatch {
  readonly agentsMayBlock?: boolean;
  readonly outboundPolicy?: OutboundPolicy;
  readonly defaultMode?: BlockMode;
  readonly rejectCode?: RejectCode;
  readonly name?: string;
  readonly attestationFailed?: IdentityAction;
  readonly ownDidUnattested?: IdentityAction;
  readonly standinsUnidentified?: boolean;
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export class OrgService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
  ) {}

  async add(slug: string, name: string, region: string, actor: Actor): Promise<Org> {
    if (!SLUG.test(slug)) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `organisation id "${slug}" must be lower-case letters, digits, - or _ (at most 63)`,
        { key: 'org', input: slug },
      );
    }
    const cc = region.toUpperCase();
    if (!this.normalizer.isSupportedRegion(cc)) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `region "${region}" is not an ISO 3166 country code with a numbering plan (e.g. US, GB, DE)`,
        { key: 'region', input: region },
      );
    }
    if (!name.trim())
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'organisation name must not be empty', { key: 'name' });
    return this.db.transaction(async () => {
      const exists = await this.db.get('SELECT 1 FROM orgs WHERE slug = ?', [slug]);
      if (exists)
        throw new CallscreenError('CS_ERR_ORG_EXISTS', `organisation "${slug}" already exists`, { org: slug });
      const r = await this.db.run('INSERT INTO orgs (slug, name, region, created_at) VALUES (?, ?, ?, ?)', [
        slug,
        name.trim(),
        cc,
        this.clock.now(),
      ]);
      await this.audit.append(r.lastID, actor, 'org.add', slug, '', { name: name.trim(), region: cc });
      return this.require(slug);
    });
  }

  async list(): Promise<Array<Org & { dids: string[] }>> {
    const rows = await this.db.all<OrgRow>('SELECT * FROM orgs ORDER BY slug');
    const dids = await this.db.all<{ org_id: number; number: string }>(
      'SELECT org_id, number FROM org_numbers ORDER BY number',
    );
    return rows.map((r) => ({ ...toOrg(r), dids: dids.filter((d) => d.org_id === r.id).map((d) => d.number) }));
  }

  async get(slug: string): Promise<Org | undefined> {
    const row = await this.db.get<OrgRow>('SELECT * FROM orgs WHERE slug = ?', [slug]);
    return row ? toOrg(row) : undefined;
  }

  async require(slug: string): Promise<Org> {
    const org = await this.get(slug);
    if (!org)
      throw new CallscreenError('CS_ERR_ORG_NOT_FOUND', `no organisation "${slug}" (see: callscreen org list)`, {
        org: slug,
      });
    return org;
  }

  async dids(orgId: number): Promise<string[]> {
    const rows = await this.db.all<{ number: string }>(
      'SELECT number FROM org_numbers WHERE org_id = ? ORDER BY number',
      [orgId],
    );
    return rows.map((r) => r.number);
  }

  /** Adds inbound numbers; all or nothing. A DID belongs to one organisation. */
  async addDids(slug: string, numbers: readonly string[], actor: Actor): Promise<string[]> {
    const org = await this.require(slug);
    const normalized = numbers.map((n) => this.normalizer.normalizeNumber(n, org.policy.region));
    return this.db.transaction(async () => {
      for (const n of normalized) {
        const owner = await this.db.get<{ slug: string }>(
          'SELECT o.slug FROM org_numbers d JOIN orgs o ON o.id = d.org_id WHERE d.number = ?',
          [n],
        );
        if (owner && owner.slug !== slug) {
          throw new CallscreenError('CS_ERR_DID_TAKEN', `${n} already belongs to organisation "${owner.slug}"`, {
            number: n,
            org: owner.slug,
          });
        }
        if (!owner)
          await this.db.run('INSERT INTO org_numbers (number, org_id, added_at) VALUES (?, ?, ?)', [
            n,
            org.id,
            this.clock.now(),
          ]);
      }
      await this.audit.append(org.id, actor, 'org.did.add', normalized.join(' '));
      return normalized;
    });
  }

  /**
   * Removes inbound numbers from an organisation; all or nothing. A number that is not one of this
   * org's DIDs is refused by name (nothing removed). Calls to a removed DID no longer find the org
   * (they get screening.fail_mode) and the number is no longer protected from blocking.
   */
  async removeDids(slug: string, numbers: readonly string[], actor: Actor, reason = ''): Promise<string[]> {
    const org = await this.require(slug);
    if (numbers.length === 0)
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'name at least one DID to remove', { key: 'numbers' });
    const normalized = [...new Set(numbers.map((n) => this.normalizer.normalizeNumber(n, org.policy.region)))];
    return this.db.transaction(async () => {
      for (const n of normalized) {
        const own = await this.db.get('SELECT 1 FROM org_numbers WHERE number = ? AND org_id = ?', [n, org.id]);
        if (!own)
          throw new CallscreenError(
            'CS_ERR_INVALID_VALUE',
            `${n} is not a DID of organisation "${slug}"; nothing was removed`,
            { key: 'numbers', number: n, org: slug },
          );
      }
      for (const n of normalized)
        await this.db.run('DELETE FROM org_numbers WHERE number = ? AND org_id = ?', [n, org.id]);
      await this.audit.append(org.id, actor, 'org.did.remove', normalized.join(' '), reason);
      return normalized;
    });
  }

  /** The upper-case region code, or a refusal naming it. Lets callers validate before writing. */
  checkRegion(region: string): string {
    const cc = region.trim().toUpperCase();
    if (!this.normalizer.isSupportedRegion(cc)) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `region "${region}" is not an ISO 3166 country code with a numbering plan (e.g. US, GB, DE)`,
        { key: 'region', input: region },
      );
    }
    return cc;
  }

  /**
   * Changes the region numbers are read in (national forms, trunk prefixes, emergency numbers).
   * Stored entries are E.164 already and keep their meaning; what changes is how callers and future
   * input in national form are read, and which emergency numbers are protected. Audited with both.
   */
  async setRegion(slug: string, region: string, actor: Actor, reason = ''): Promise<Org> {
    const org = await this.require(slug);
    const cc = this.checkRegion(region);
    if (cc === org.policy.region) return org;
    return this.db.transaction(async () => {
      await this.db.run('UPDATE orgs SET region = ? WHERE id = ?', [cc, org.id]);
      await this.audit.append(org.id, actor, 'org.region', slug, reason, { from: org.policy.region, to: cc });
      return this.require(slug);
    });
  }

  async updateSettings(slug: string, patch: OrgSettingsPatch, actor: Actor, reason = ''): Promise<Org> {
    const org = await this.require(slug);
    const sets: string[] = [];
    const params: (string | number)[] = [];
    if (patch.agentsMayBlock !== undefined) {
      sets.push('agents_may_block = ?');
      params.push(patch.agentsMayBlock ? 1 : 0);
    }
    if (patch.outboundPolicy !== undefined) {
      if (!OUTBOUND_POLICIES.includes(patch.outboundPolicy))
        throw invalid('outbound_policy', patch.outboundPolicy, OUTBOUND_POLICIES);
      sets.push('outbound_policy = ?');
      params.push(patch.outboundPolicy);
    }
    if (patch.defaultMode !== undefined) {
      if (!BLOCK_MODES.includes(patch.defaultMode)) throw invalid('default_mode', patch.defaultMode, BLOCK_MODES);
      sets.push('default_mode = ?');
      params.push(patch.defaultMode);
    }
    if (patch.rejectCode !== undefined) {
      if (!REJECT_CODES.includes(patch.rejectCode)) throw invalid('reject_code', patch.rejectCode, REJECT_CODES);
      sets.push('reject_code = ?');
      params.push(patch.rejectCode);
    }
    if (patch.attestationFailed !== undefined) {
      if (!IDENTITY_ACTIONS.includes(patch.attestationFailed))
        throw invalid('attestation_failed', patch.attestationFailed, IDENTITY_ACTIONS);
      sets.push('attestation_failed = ?');
      params.push(patch.attestationFailed);
    }
    if (patch.ownDidUnattested !== undefined) {
      if (!IDENTITY_ACTIONS.includes(patch.ownDidUnattested))
        throw invalid('own_did_unattested', patch.ownDidUnattested, IDENTITY_ACTIONS);
      sets.push('own_did_unattested = ?');
      params.push(patch.ownDidUnattested);
    }
    if (patch.standinsUnidentified !== undefined) {
      sets.push('standins_unidentified = ?');
      params.push(patch.standinsUnidentified ? 1 : 0);
    }
    if (patch.name !== undefined) {
      if (!patch.name.trim())
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'organisation name must not be empty', { key: 'name' });
      sets.push('name = ?');
      params.push(patch.name.trim());
    }
    if (sets.length === 0) return org;
    return this.db.transaction(async () => {
      await this.db.run(`UPDATE orgs SET ${sets.join(', ')} WHERE id = ?`, [...params, org.id]);
      await this.audit.append(org.id, actor, 'org.settings', slug, reason, { ...patch });
      return this.require(slug);
    });
  }
}

function invalid(key: string, value: unknown, allowed: readonly unknown[]): CallscreenError {
  return new CallscreenError('CS_ERR_INVALID_VALUE', `${key} "${String(value)}" is not one of ${allowed.join(', ')}`, {
    key,
    input: value,
  });
}
