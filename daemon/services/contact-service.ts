/** Contacts with several numbers (seed 001 "Block Contact" blocks them all, including later ones). */
import type { Clock } from '../core/clock.js';
import { CallscreenError } from '../core/errors.js';
import type { NumberNormalizer } from '../core/phone-number.js';
import type { Database } from '../store/database.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';
import type { OrgService } from './org-service.js';

export interface Contact {
  readonly id: number;
  readonly orgId: number;
  readonly name: string;
  readonly numbers: readonly string[];
  readonly blocked: boolean;
}

export class ContactService {
  constructor(
    private readonly db: Database,
    private readonly orgs: OrgService,
    private readonly audit: AuditLog,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
  ) {}

  async add(orgSlug: string, name: string, numbers: readonly string[], actor: Actor): Promise<Contact> {
    const org = await this.orgs.require(orgSlug);
    if (!name.trim())
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'contact name must not be empty', { key: 'name' });
    const normalized = [...new Set(numbers.map((n) => this.normalizer.normalizeNumber(n, org.policy.region)))];
    const id = await this.db.transaction(async () => {
      const r = await this.db.run('INSERT INTO contacts (org_id, name, created_at) VALUES (?, ?, ?)', [
        org.id,
        name.trim(),
        this.clock.now(),
      ]);
      for (const n of normalized)
        await this.db.run('INSERT INTO contact_numbers (contact_id, number) VALUES (?, ?)', [r.lastID, n]);
      await this.audit.append(org.id, actor, 'contact.add', `contact ${r.lastID}`, '', {
        name: name.trim(),
        numbers: normalized,
      });
      return r.lastID;
    });
    return this.require(org.id, id);
  }

  /** Adds numbers to a contact; if the contact is blocked they are blocked at once. */
  async addNumbers(orgSlug: string, contactId: number, numbers: readonly string[], actor: Actor): Promise<Contact> {
    const org = await this.orgs.require(orgSlug);
    await this.require(org.id, contactId);
    const normalized = numbers.map((n) => this.normalizer.normalizeNumber(n, org.policy.region));
    await this.db.transaction(async () => {
      for (const n of normalized)
        await this.db.run('INSERT OR IGNORE INTO contact_numbers (contact_id, number) VALUES (?, ?)', [contactId, n]);
      await this.audit.append(org.id, actor, 'contact.number.add', `contact ${contactId}`, '', { numbers: normalized });
    });
    return this.require(org.id, contactId);
  }

  /**
   * Removes numbers from a contact; all or nothing. A number not on the contact is refused by name.
   * If the contact is blocked, a removed number is no longer blocked through it (callers check that
   * the user may unblock: see `activeBlock`).
   */
  async removeNumbers(
    orgSlug: string,
    contactId: number,
    numbers: readonly string[],
    actor: Actor,
    reason = '',
  ): Promise<Contact> {
    const org = await this.orgs.require(orgSlug);
    await this.require(org.id, contactId);
    if (numbers.length === 0)
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'name at least one number to remove', { key: 'numbers' });
    const normalized = [...new Set(numbers.map((n) => this.normalizer.normalizeNumber(n, org.policy.region)))];
    await this.db.transaction(async () => {
      for (const n of normalized) {
        const on = await this.db.get('SELECT 1 FROM contact_numbers WHERE contact_id = ? AND number = ?', [
          contactId,
          n,
        ]);
        if (!on)
          throw new CallscreenError(
            'CS_ERR_INVALID_VALUE',
            `${n} is not a number of contact ${contactId}; nothing was removed`,
            { key: 'numbers', number: n, contact: contactId },
          );
      }
      for (const n of normalized)
        await this.db.run('DELETE FROM contact_numbers WHERE contact_id = ? AND number = ?', [contactId, n]);
      await this.audit.append(org.id, actor, 'contact.number.remove', `contact ${contactId}`, reason, {
        numbers: normalized,
      });
    });
    return this.require(org.id, contactId);
  }

  /** The contact's block in force now (active and not expired), or undefined. */
  async activeBlock(
    orgId: number,
    contactId: number,
  ): Promise<{ id: number; mode: string; expiresAt: number | null } | undefined> {
    const row = await this.db.get<{ id: number; mode: string; expires_at: number | null }>(
      `SELECT e.id, e.mode, e.expires_at FROM entries e JOIN contacts c ON c.id = e.contact_id
       WHERE e.contact_id = ? AND c.org_id = ? AND e.kind = 'contact' AND e.list = 'block' AND e.removed_at IS NULL
         AND (e.expires_at IS NULL OR e.expires_at > ?)`,
      [contactId, orgId, this.clock.now()],
    );
    return row ? { id: row.id, mode: row.mode, expiresAt: row.expires_at } : undefined;
  }

  async require(orgId: number, contactId: number): Promise<Contact> {
    const c = await this.get(orgId, contactId);
    if (!c)
      throw new CallscreenError('CS_ERR_CONTACT_NOT_FOUND', `no contact ${contactId} in this organisation`, {
        contact: contactId,
      });
    return c;
  }

  async get(orgId: number, contactId: number): Promise<Contact | undefined> {
    const row = await this.db.get<{ id: number; org_id: number; name: string }>(
      'SELECT id, org_id, name FROM contacts WHERE id = ? AND org_id = ?',
      [contactId, orgId],
    );
    if (!row) return undefined;
    const nums = await this.db.all<{ number: string }>(
      'SELECT number FROM contact_numbers WHERE contact_id = ? ORDER BY number',
      [row.id],
    );
    // Blocked = a block in force now: an expired one no longer stops calls, so the Contacts page must
    // not say "Blocked" for it (#17).
    const blocked = await this.db.get(
      "SELECT 1 FROM entries WHERE contact_id = ? AND kind = 'contact' AND list = 'block' AND removed_at IS NULL AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
      [row.id, this.clock.now()],
    );
    return {
      id: row.id,
      orgId: row.org_id,
      name: row.name,
      numbers: nums.map((n) => n.number),
      blocked: blocked !== undefined,
    };
  }

  async list(orgSlug: string, search = ''): Promise<Contact[]> {
    const org = await this.orgs.require(orgSlug);
    const rows = await this.db.all<{ id: number }>(
      `SELECT id FROM contacts c WHERE org_id = ? AND (? = '' OR instr(lower(name), lower(?)) > 0
         OR EXISTS (SELECT 1 FROM contact_numbers cn WHERE cn.contact_id = c.id AND instr(cn.number, ?) > 0)) ORDER BY name LIMIT 500`,
      [org.id, search, search, search.replace(/\D/g, '') || '\u0000'],
    );
    const out: Contact[] = [];
    for (const r of rows) out.push(await this.require(org.id, r.id));
    return out;
  }
}
