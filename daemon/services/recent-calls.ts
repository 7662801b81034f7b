/**
 * The recent-calls listing (panel, API, `callscreen calls`). On one node: this node's `screened`
 * table, as ScreenRecorder.find. With several nodes on one PostgreSQL store (issue #15): every
 * node's call records, each with its node's name — those the outboxes shipped (cs_screened) merged
 * with those this node's outbox still holds, so a call screened here a moment ago is listed too.
 * While PostgreSQL cannot be reached: this node's own records (the page says so through `site`).
 */
import type { Database } from '../store/database.js';
import type { PgStore } from '../store/pg-store.js';
import type { CallQuery, ScreenRecorder, ScreenedRow } from './screen-recorder.js';

/** At most this many rows a page (as ScreenRecorder.find). */
const MAX_PAGE = 1000;

export interface RecentCallsPage {
  readonly calls: ScreenedRow[];
  /**
   * Several nodes on one PostgreSQL only: 'site' = every node's records, 'node' = PostgreSQL away,
   * this node's own. Absent on a single-node site (its listing is what it always was).
   */
  readonly scope?: 'site' | 'node';
}

export class RecentCalls {
  constructor(
    private readonly db: Database,
    private readonly recorder: Pick<ScreenRecorder, 'find'>,
    private readonly shared: PgStore | null = null,
  ) {}

  async find(orgId: number, q: CallQuery): Promise<RecentCallsPage> {
    const shared = this.shared;
    if (!shared) return { calls: await this.recorder.find(orgId, q) };
    const limit = Math.max(1, Math.min(q.limit ?? 50, MAX_PAGE));
    const offset = Math.max(0, q.offset ?? 0);
    const own = (r: ScreenedRow): ScreenedRow => ({ ...r, node: shared.node });
    // Unshipped first: a record shipped between the two reads is then in both, and counted once.
    const mark =
      (await this.db.get<{ sid: number }>('SELECT shipped_screened_id AS sid FROM replica_state WHERE id = 1'))?.sid ??
      0;
    const { limit: _l, offset: _o, afterId: _a, ...filters } = q;
    const pending = await this.recorder.find(orgId, {
      ...filters,
      limit: Math.min(offset + limit, MAX_PAGE),
      afterId: mark,
    });
    let shipped: ScreenedRow[];
    try {
      // Any of the first offset + limit rows of the merged list is among the first offset + limit of each part.
      shipped = (await shared.recentScreened(orgId, {
        limit: offset + limit,
        offset: 0,
        ...(q.channel ? { channel: q.channel } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.number ? { digits: q.number.replace(/\D/g, '') } : {}),
      })) as unknown as ScreenedRow[];
    } catch {
      return { calls: (await this.recorder.find(orgId, { ...q, limit, offset })).map(own), scope: 'node' };
    }
    const seen = new Set(shipped.map((r) => `${r.node ?? ''}\u0000${r.id}`));
    const merged = shipped.concat(pending.map(own).filter((r) => !seen.has(`${shared.node}\u0000${r.id}`)));
    merged.sort(newestFirst);
    return { calls: merged.slice(offset, offset + limit), scope: 'site' };
  }
}

/** Newest first; ties by node name, then newest id (the order PostgreSQL pages in). */
function newestFirst(a: ScreenedRow, b: ScreenedRow): number {
  if (a.at !== b.at) return b.at - a.at;
  const na = a.node ?? '';
  const nb = b.node ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  return b.id - a.id;
}
