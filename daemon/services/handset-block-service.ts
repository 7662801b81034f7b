/**
 * Blocking from the handset (issue #16): a feature code (`*32` by default) blocks the number that
 * last called the extension, and a mid-call code blocks the caller on the line. The phone's
 * endpoint name (agents.endpoint_pattern, e.g. `agent101`) is the callscreen user who acts.
 *
 * Who may block follows the panel's rules (daemon/admin/access-policy.ts): admins and supervisors
 * block the number; agents, only when the org lets agents block, and then only a contact (the
 * caller's number must belong to one: the contact is blocked). Anything else — an agent, a phone
 * with no user, a user not in the org — is not blocked but queued as a block request for an admin
 * (table block_requests, `callscreen requests`), and audited as `block.request`. Blocks are audited
 * as the user, with source `handset`.
 */
import { can, checkBlockScope } from '../admin/access-policy.js';
import type { User } from '../admin/user-service.js';
import type { Clock } from '../core/clock.js';
import { CallscreenError } from '../core/errors.js';
import type { NumberNormalizer } from '../core/phone-number.js';
import type { Database } from '../store/database.js';
import type { Org } from '../store/rows.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';
import type { BlocklistService } from './blocklist-service.js';
import type { OrgService } from './org-service.js';

/** last-caller: the feature code after the call; current-call: the mid-call code. */
export type HandsetHow = 'last-caller' | 'current-call';

export interface HandsetRequest {
  readonly org: string;
  /** The phone's endpoint name, looked up as the callscreen user. */
  readonly endpoint: string;
  /** The caller as the PBX has it (any form; normalised with the org's region). */
  readonly caller: string;
  readonly how: HandsetHow;
}

export type HandsetOutcome =
  | { readonly result: 'blocked'; readonly number: string; readonly entryId: number; readonly by: string }
  | { readonly result: 'already-blocked'; readonly number: string; readonly entryId: number }
  | { readonly result: 'queued'; readonly number: string; readonly requestId: number; readonly why: string }
  | { readonly result: 'refused'; readonly why: string };

export interface BlockRequest {
  readonly id: number;
  readonly org: string;
  readonly number: string;
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly origin: string;
  readonly why: string;
  readonly status: 'pending' | 'approved' | 'declined';
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly entryId: number | null;
}

interface RequestRow {
  id: number;
  org_id: number;
  number: string;
  requested_by: string;
  requested_at: number;
  origin: string;
  why: string;
  status: BlockRequest['status'];
  decided_by: string | null;
  decided_at: number | null;
  entry_id: number | null;
}

const HOW_WORDS: Readonly<Record<HandsetHow, string>> = {
  'last-caller': 'last caller',
  'current-call': 'caller on the line',
};

export class HandsetBlockService {
  constructor(
    private readonly db: Database,
    private readonly orgs: OrgService,
    private readonly blocklist: BlocklistService,
    private readonly audit: AuditLog,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
    private readonly users: { get(name: string): Promise<User | undefined> },
  ) {}

  /** Blocks, queues or refuses; never throws for a caller it cannot block (the phone hears the result). */
  async block(req: HandsetRequest): Promise<HandsetOutcome> {
    const org = await this.orgs.require(req.org);
    const parsed = this.normalizer.parseCallerId(req.caller, org.policy.region);
    if (parsed.kind !== 'number')
      return { result: 'refused', why: `no number to block (the ${HOW_WORDS[req.how]} was ${parsed.why})` };
    const number = parsed.value;
    const origin = `handset ${req.endpoint}`;
    const existing = await this.db.get<{ id: number }>(
      `SELECT id FROM entries WHERE org_id = ? AND kind = 'exact' AND value = ? AND list = 'block' AND removed_at IS NULL
         AND (expires_at IS NULL OR expires_at > ?)`,
      [org.id, number, this.clock.now()],
    );
    if (existing) return { result: 'already-blocked', number, entryId: existing.id };

    const user = await this.users.get(req.endpoint);
    const asked: Actor = { name: user?.name ?? req.endpoint, source: 'handset', origin };
    if (!user || user.disabled || !user.orgs.includes(org.slug)) {
      return this.queue(
        org,
        number,
        asked,
        req,
        user ? `user "${user.name}" does not work in "${org.slug}"` : `no callscreen user named "${req.endpoint}"`,
      );
    }
    const reason = `blocked from the handset (${HOW_WORDS[req.how]})`;
    try {
      if (!can(user, org, 'block')) {
        return await this.queue(
          org,
          number,
          asked,
          req,
          'agents may block only when an admin turns on "agents may block"',
        );
      }
      if (user.role === 'agent') {
        // Agents block contacts only (seed 002): the contact the caller's number belongs to.
        const contact = await this.db.get<{ id: number }>(
          'SELECT c.id FROM contacts c JOIN contact_numbers n ON n.contact_id = c.id WHERE c.org_id = ? AND n.number = ? ORDER BY c.id LIMIT 1',
          [org.id, number],
        );
        if (!contact)
          return await this.queue(
            org,
            number,
            asked,
            req,
            'agents may block contacts only, and this number is no contact',
          );
        checkBlockScope(user, org, { minPrefixDigits: null }, 'contact');
        const e = await this.blocklist.block(org.slug, { kind: 'contact', contactId: contact.id }, { reason }, asked);
        return { result: 'blocked', number, entryId: e.id, by: user.name };
      }
      checkBlockScope(user, org, { minPrefixDigits: null }, 'number');
      const e = await this.blocklist.block(org.slug, { kind: 'exact', number }, { reason }, asked);
      return { result: 'blocked', number, entryId: e.id, by: user.name };
    } catch (err) {
      if (err instanceof CallscreenError && err.code === 'CS_ERR_PROTECTED_NUMBER')
        return { result: 'refused', why: err.message };
      if (err instanceof CallscreenError && err.code === 'CS_ERR_FORBIDDEN')
        return this.queue(org, number, asked, req, err.message);
      throw err;
    }
  }

  private async queue(
    org: Org,
    number: string,
    asked: Actor,
    req: HandsetRequest,
    why: string,
  ): Promise<HandsetOutcome> {
    return this.db.transaction(async () => {
      const pending = await this.db.get<{ id: number }>(
        "SELECT id FROM block_requests WHERE org_id = ? AND number = ? AND status = 'pending'",
        [org.id, number],
      );
      if (pending) return { result: 'queued', number, requestId: pending.id, why } as const;
      const r = await this.db.run(
        'INSERT INTO block_requests (org_id, number, requested_by, requested_at, origin, why) VALUES (?, ?, ?, ?, ?, ?)',
        [org.id, number, asked.name, this.clock.now(), asked.origin, why],
      );
      await this.audit.append(org.id, asked, 'block.request', number, why, { request: r.lastID, how: req.how });
      return { result: 'queued', number, requestId: r.lastID, why } as const;
    });
  }

  async list(orgSlug: string, status: BlockRequest['status'] | 'all' = 'pending'): Promise<BlockRequest[]> {
    const org = await this.orgs.require(orgSlug);
    const rows = await this.db.all<RequestRow>(
      `SELECT * FROM block_requests WHERE org_id = ? ${status === 'all' ? '' : 'AND status = ?'} ORDER BY requested_at, id LIMIT 1000`,
      status === 'all' ? [org.id] : [org.id, status],
    );
    return rows.map((r) => toRequest(r, org.slug));
  }

  /** Approves a pending request: the number is blocked as `actor` (the admin), with the org's default mode. */
  async approve(orgSlug: string, id: number, actor: Actor): Promise<BlockRequest> {
    const org = await this.orgs.require(orgSlug);
    const row = await this.pending(org, id);
    const entry = await this.blocklist.block(
      org.slug,
      { kind: 'exact', number: row.number },
      { reason: `block request ${id} from ${row.requested_by} (${row.origin})` },
      actor,
    );
    await this.db.transaction(async () => {
      await this.db.run(
        "UPDATE block_requests SET status = 'approved', decided_by = ?, decided_at = ?, entry_id = ? WHERE id = ?",
        [actor.name, this.clock.now(), entry.id, id],
      );
      await this.audit.append(org.id, actor, 'block.request.approve', row.number, '', {
        request: id,
        entry: entry.id,
        requestedBy: row.requested_by,
      });
    });
    return this.request(org, id);
  }

  async decline(orgSlug: string, id: number, actor: Actor, reason = ''): Promise<BlockRequest> {
    const org = await this.orgs.require(orgSlug);
    const row = await this.pending(org, id);
    await this.db.transaction(async () => {
      await this.db.run("UPDATE block_requests SET status = 'declined', decided_by = ?, decided_at = ? WHERE id = ?", [
        actor.name,
        this.clock.now(),
        id,
      ]);
      await this.audit.append(org.id, actor, 'block.request.decline', row.number, reason, {
        request: id,
        requestedBy: row.requested_by,
      });
    });
    return this.request(org, id);
  }

  /** A request as it is now (after approve or decline wrote it). */
  private async request(org: Org, id: number): Promise<BlockRequest> {
    const row = await this.db.get<RequestRow>('SELECT * FROM block_requests WHERE id = ?', [id]);
    if (!row)
      throw new CallscreenError('CS_ERR_REQUEST_NOT_FOUND', `no block request ${id} in organisation "${org.slug}"`, {
        request: id,
      });
    return toRequest(row, org.slug);
  }

  private async pending(org: Org, id: number): Promise<RequestRow> {
    const row = await this.db.get<RequestRow>('SELECT * FROM block_requests WHERE id = ? AND org_id = ?', [id, org.id]);
    if (!row)
      throw new CallscreenError('CS_ERR_REQUEST_NOT_FOUND', `no block request ${id} in organisation "${org.slug}"`, {
        request: id,
      });
    if (row.status !== 'pending')
      throw new CallscreenError('CS_ERR_USAGE', `block request ${id} was already ${row.status}`, { request: id });
    return row;
  }
}

function toRequest(r: RequestRow, org: string): BlockRequest {
  return {
    id: r.id,
    org,
    number: r.number,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at,
    origin: r.origin,
    why: r.why,
    status: r.status,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    entryId: r.entry_id,
  };
}
