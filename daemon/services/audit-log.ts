/** The append-only audit log: every change, who made it, when, why and from where. */
import type { Clock } from '../core/clock.js';
import type { Database } from '../store/database.js';
import type { Actor } from './actor.js';

export interface AuditEvent {
  readonly id: number;
  readonly at: number;
  readonly orgId: number | null;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly reason: string;
  readonly origin: string;
  readonly detail: Record<string, unknown>;
}

export interface AuditQuery {
  readonly orgId?: number;
  /** Restrict to several orgs (the panel: the orgs a user manages). */
  readonly orgIds?: readonly number[];
  readonly actor?: string;
  readonly action?: string;
  /** Substring of the target (number, contact…). */
  readonly target?: string;
  readonly since?: number;
  readonly until?: number;
  readonly limit?: number;
  readonly offset?: number;
}

interface AuditRow {
  id: number;
  at: number;
  org_id: number | null;
  actor: string;
  action: string;
  target: string;
  reason: string;
  origin: string;
  detail: string;
}

export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Call inside the transaction of the change it records, so both land or neither does. */
  async append(
    orgId: number | null,
    actor: Actor,
    action: string,
    target: string,
    reason = '',
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    await this.db.run(
      'INSERT INTO audit_log (at, org_id, actor, action, target, reason, origin, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [this.clock.now(), orgId, actor.name, action, target, reason, originOf(actor), JSON.stringify(detail)],
    );
  }

  async query(q: AuditQuery): Promise<{ total: number; events: AuditEvent[] }> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.orgId !== undefined) {
      where.push('org_id = ?');
      params.push(q.orgId);
    }
    if (q.orgIds !== undefined) {
      where.push(q.orgIds.length ? `org_id IN (${q.orgIds.map(() => '?').join(',')})` : '0');
      params.push(...q.orgIds);
    }
    if (q.actor) {
      where.push('actor = ?');
      params.push(q.actor);
    }
    if (q.action) {
      where.push('action = ?');
      params.push(q.action);
    }
    if (q.target) {
      where.push('instr(target, ?) > 0');
      params.push(q.target);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      params.push(q.since);
    }
    if (q.until !== undefined) {
      where.push('at < ?');
      params.push(q.until);
    }
    const clause = where.length ? 'WHERE ' + where.join(' AND ') : '';
    const total = (await this.db.get<{ c: number }>(`SELECT count(*) AS c FROM audit_log ${clause}`, params))?.c ?? 0;
    const rows = await this.db.all<AuditRow>(`SELECT * FROM audit_log ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`, [
      ...params,
      Math.min(q.limit ?? 100, 1000),
      q.offset ?? 0,
    ]);
    return {
      total,
      events: rows.map((r) => ({
        id: r.id,
        at: r.at,
        orgId: r.org_id,
        actor: r.actor,
        action: r.action,
        target: r.target,
        reason: r.reason,
        origin: r.origin,
        detail: safeJson(r.detail),
      })),
    };
  }
}

/** `panel 10.0.0.5`, `cli@host` — the source is named once even when the origin already starts with it. */
function originOf(actor: Actor): string {
  if (!actor.origin) return actor.source;
  return actor.origin.startsWith(actor.source) ? actor.origin : `${actor.source} ${actor.origin}`;
}

function safeJson(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
