/**
 * Dashboard figures from the `screened` table: blocked calls and messages per day and the most
 * blocked numbers. "Blocked" = rejected, sent to voicemail, quarantined or denied. Days are UTC.
 */
import type { Clock } from '../core/clock.js';
import type { Database } from '../store/database.js';
import type { PgStore } from '../store/pg-store.js';

export interface DayCount {
  readonly day: string;
  readonly calls: number;
  readonly messages: number;
}
export interface TopNumber {
  readonly number: string;
  readonly count: number;
  readonly lastAt: number;
}
export interface NodeTotals {
  readonly node: string;
  readonly screened: number;
  readonly blocked: number;
}
export interface Dashboard {
  readonly days: DayCount[];
  readonly top: TopNumber[];
  readonly totals: { readonly screened: number; readonly blocked: number };
  /**
   * Several nodes on one PostgreSQL store only (issue #15): 'site' = the figures cover every node,
   * 'node' = PostgreSQL could not be reached, this node's own; and each node's totals.
   */
  readonly scope?: 'site' | 'node';
  readonly nodes?: NodeTotals[];
}

const DAY_MS = 86_400_000;
const BLOCKED_ACTIONS = ['reject', 'voicemail', 'quarantine', 'deny'];
const BLOCKED = `(${BLOCKED_ACTIONS.map((a) => `'${a}'`).join(', ')})`;

export class DashboardQuery {
  /**
   * `shared`: with several nodes on one PostgreSQL (issue #15) the figures cover every node's
   * shipped call records (this node's last second or so may still be in its outbox); while
   * PostgreSQL cannot be reached, this node's own records.
   */
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly shared: PgStore | null = null,
  ) {}

  /** `days`: how many days back, today included (default 14, at most 366). */
  async forOrg(orgId: number, days = 14, topN = 10): Promise<Dashboard> {
    const n = Math.max(1, Math.min(366, Math.trunc(days)));
    const today = Math.floor(this.clock.now() / DAY_MS) * DAY_MS;
    const since = today - (n - 1) * DAY_MS;
    const site = this.shared
      ? await this.shared.dashboard(orgId, since, topN, BLOCKED_ACTIONS).catch(() => null)
      : null;
    const rows = site
      ? site.days
      : await this.db.all<{ d: number; channel: string; c: number }>(
          `SELECT (at / ${DAY_MS}) AS d, channel, count(*) AS c FROM screened
       WHERE org_id = ? AND at >= ? AND action IN ${BLOCKED} GROUP BY d, channel`,
          [orgId, since],
        );
    const out: DayCount[] = [];
    for (let i = 0; i < n; i++) {
      const dayNo = since / DAY_MS + i;
      const calls = rows.find((r) => r.d === dayNo && r.channel === 'call')?.c ?? 0;
      const messages = rows.find((r) => r.d === dayNo && r.channel === 'sms')?.c ?? 0;
      out.push({ day: new Date(dayNo * DAY_MS).toISOString().slice(0, 10), calls, messages });
    }
    if (site) return { days: out, top: site.top, totals: site.totals, scope: 'site', nodes: site.nodes };
    const top = await this.db.all<{ number: string; count: number; lastAt: number }>(
      `SELECT number, count(*) AS count, max(at) AS lastAt FROM screened
       WHERE org_id = ? AND at >= ? AND action IN ${BLOCKED} GROUP BY number ORDER BY count DESC, lastAt DESC LIMIT ?`,
      [orgId, since, topN],
    );
    const totals = await this.db.get<{ screened: number; blocked: number }>(
      `SELECT count(*) AS screened, coalesce(sum(action IN ${BLOCKED}), 0) AS blocked FROM screened WHERE org_id = ? AND at >= ?`,
      [orgId, since],
    );
    const mine = { screened: totals?.screened ?? 0, blocked: totals?.blocked ?? 0 };
    if (this.shared)
      return { days: out, top, totals: mine, scope: 'node', nodes: [{ node: this.shared.node, ...mine }] };
    return { days: out, top, totals: mine };
  }
}
