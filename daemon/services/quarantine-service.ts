/**
 * SMS from blocked senders, held for supervisors instead of delivered (seed 002). Supervisors
 * release a message (delivered now) or delete it (gone from the database); when a contact is
 * unblocked they choose "release all" or "delete all" for that contact's held messages.
 */
import type { Clock } from '../core/clock.js';
import { CallscreenError } from '../core/errors.js';
import type { Verdict } from '../core/verdict.js';
import type { Database } from '../store/database.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';
import type { HeldMessage, MessageDeliverer } from './message-deliverer.js';

/** Held messages read per round of a release-all / delete-all (the list's own page maximum). */
const SETTLE_PAGE = 1000;

export interface QuarantinedMessage {
  readonly id: number;
  readonly orgId: number;
  readonly receivedAt: number;
  readonly fromRaw: string;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly deliverTo: string;
  readonly entryId: number | null;
  readonly contactId: number | null;
  readonly contactName: string | null;
  readonly adapter: string;
  readonly status: 'held' | 'released';
  readonly releasedAt: number | null;
  readonly releasedBy: string | null;
}

export interface HoldInput {
  readonly orgId: number;
  readonly fromRaw: string;
  readonly to: string;
  readonly body: string;
  readonly deliverTo: string;
  readonly verdict: Verdict;
  readonly adapter: string;
}

interface Row {
  id: number;
  org_id: number;
  received_at: number;
  from_raw: string;
  from_number: string;
  to_number: string;
  body: string;
  deliver_to: string;
  entry_id: number | null;
  contact_id: number | null;
  contact_name: string | null;
  adapter: string;
  status: 'held' | 'released';
  released_at: number | null;
  released_by: string | null;
}

/** Longest body kept (characters); SIP MESSAGE bodies are small, this bounds a hostile one. */
export const MAX_BODY = 16_384;

export class QuarantineService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    /** Null where no PBX connection is configured: release then fails with CS_ERR_UNAVAILABLE. */
    private readonly deliverer: MessageDeliverer | null,
  ) {}

  /** Stores a message from a blocked sender. One INSERT: cheap enough for the SMS path. */
  async hold(input: HoldInput): Promise<number> {
    const rule = input.verdict.rule;
    const entryId = rule && typeof rule.id === 'number' ? rule.id : null;
    const contactId = rule?.kind === 'contact' ? Number(rule.value) : null;
    const r = await this.db.run(
      `INSERT INTO quarantine (org_id, received_at, from_raw, from_number, to_number, body, deliver_to, entry_id, contact_id, adapter)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        input.orgId,
        this.clock.now(),
        input.fromRaw.slice(0, 256),
        input.verdict.normalized,
        input.to.slice(0, 64),
        input.body.slice(0, MAX_BODY),
        input.deliverTo.slice(0, 256),
        entryId,
        contactId,
        input.adapter,
      ],
    );
    return r.lastID;
  }

  async list(
    orgId: number,
    options: {
      status?: 'held' | 'released' | 'all';
      contactId?: number;
      from?: string;
      limit?: number;
      offset?: number;
    } = {},
  ): Promise<{ total: number; messages: QuarantinedMessage[] }> {
    const where = ['q.org_id = ?'];
    const params: (string | number)[] = [orgId];
    const status = options.status ?? 'held';
    if (status !== 'all') {
      where.push('q.status = ?');
      params.push(status);
    }
    if (options.contactId !== undefined) {
      where.push('q.contact_id = ?');
      params.push(options.contactId);
    }
    if (options.from) {
      where.push('q.from_number = ?');
      params.push(options.from);
    }
    const clause = where.join(' AND ');
    const total =
      (await this.db.get<{ c: number }>(`SELECT count(*) AS c FROM quarantine q WHERE ${clause}`, params))?.c ?? 0;
    const rows = await this.db.all<Row>(
      `SELECT q.*, c.name AS contact_name FROM quarantine q LEFT JOIN contacts c ON c.id = q.contact_id
       WHERE ${clause} ORDER BY q.received_at DESC, q.id DESC LIMIT ? OFFSET ?`,
      [...params, Math.min(options.limit ?? 100, 1000), options.offset ?? 0],
    );
    return { total, messages: rows.map(toMessage) };
  }

  async get(orgId: number, id: number): Promise<QuarantinedMessage> {
    const row = await this.db.get<Row>(
      'SELECT q.*, c.name AS contact_name FROM quarantine q LEFT JOIN contacts c ON c.id = q.contact_id WHERE q.id = ? AND q.org_id = ?',
      [id, orgId],
    );
    if (!row)
      throw new CallscreenError('CS_ERR_MESSAGE_NOT_FOUND', `no quarantined message ${id} in this organisation`, {
        message: id,
      });
    return toMessage(row);
  }

  /** Delivers a held message now, then marks it released. Not delivered → stays held. */
  async release(orgId: number, id: number, actor: Actor): Promise<QuarantinedMessage> {
    const msg = await this.get(orgId, id);
    if (msg.status !== 'held')
      throw new CallscreenError('CS_ERR_MESSAGE_NOT_FOUND', `message ${id} was already released`, { message: id });
    if (!this.deliverer) {
      throw new CallscreenError(
        'CS_ERR_UNAVAILABLE',
        'no PBX connection is configured to deliver messages (enable [ami] or [esl_inbound])',
      );
    }
    const held: HeldMessage = {
      id: msg.id,
      from: msg.fromRaw || msg.from,
      to: msg.to,
      body: msg.body,
      deliverTo: msg.deliverTo,
    };
    await this.deliverer.deliver(held);
    await this.db.transaction(async () => {
      await this.db.run("UPDATE quarantine SET status = 'released', released_at = ?, released_by = ? WHERE id = ?", [
        this.clock.now(),
        actor.name,
        id,
      ]);
      await this.audit.append(orgId, actor, 'quarantine.release', `message ${id} from ${msg.from}`);
    });
    return this.get(orgId, id);
  }

  /** Deletes a message from the database for good (seed 002 "Delete All"). */
  async delete(orgId: number, id: number, actor: Actor): Promise<void> {
    const msg = await this.get(orgId, id);
    await this.db.transaction(async () => {
      await this.db.run('DELETE FROM quarantine WHERE id = ?', [id]);
      await this.audit.append(orgId, actor, 'quarantine.delete', `message ${id} from ${msg.from}`);
    });
  }

  /** Release or delete every held message of a contact (or sender number). Returns how many. */
  async settleAll(
    orgId: number,
    selector: { contactId?: number; from?: string },
    action: 'release' | 'delete',
    actor: Actor,
  ): Promise<number> {
    if (selector.contactId === undefined && !selector.from)
      throw new CallscreenError('CS_ERR_USAGE', 'name a contact or a sender number');
    // In pages of SETTLE_PAGE (a page settled leaves the held list, so the next read starts
    // again at offset 0): every held message is settled, not only the first page (issue #17:
    // bulk actions stopped at 1,000). A failed release throws and leaves the rest held.
    let n = 0;
    for (;;) {
      const { messages } = await this.list(orgId, { ...selector, status: 'held', limit: SETTLE_PAGE });
      if (messages.length === 0) return n;
      for (const m of messages) {
        if (action === 'release') await this.release(orgId, m.id, actor);
        else await this.delete(orgId, m.id, actor);
        n++;
      }
    }
  }

  async heldCount(): Promise<number> {
    return (await this.db.get<{ c: number }>("SELECT count(*) AS c FROM quarantine WHERE status = 'held'"))?.c ?? 0;
  }
}

function toMessage(r: Row): QuarantinedMessage {
  return {
    id: r.id,
    orgId: r.org_id,
    receivedAt: r.received_at,
    fromRaw: r.from_raw,
    from: r.from_number,
    to: r.to_number,
    body: r.body,
    deliverTo: r.deliver_to,
    entryId: r.entry_id,
    contactId: r.contact_id,
    contactName: r.contact_name ?? null,
    adapter: r.adapter,
    status: r.status,
    releasedAt: r.released_at,
    releasedBy: r.released_by,
  };
}
