/**
 * The change log (`changes`, one row per committed change, `seq` from AUTOINCREMENT) read as a
 * history rather than followed: where it stands, whether a past position is still in it, and what
 * changed after it. The AstDB mirror uses it to re-sync Asterisk after a reconnect or a daemon
 * restart by replaying only the changes after the one its generation marker names
 * (daemon/pbx/asterisk/astdb-generation.ts).
 *
 * Every write to this file goes through the log's triggers — the CLI, the panel, a script with
 * sqlite3, and the replicator applying a shared PostgreSQL store's changes (its whole resyncs too) —
 * so this file's log is the history of what the daemon's index holds, in every store mode.
 *
 * Pruning (screen-recorder.ts) deletes the oldest rows only, keeping the newest 1,000,000, and
 * AUTOINCREMENT never reuses a number: when the row at `seq` is still there, every later row is.
 */
import { createHash } from 'node:crypto';
import type { Database } from './database.js';

/** What changed in one org after a position, as the AstDB mirror needs it. */
export interface OrgChanges {
  /** Settings, DIDs, prefix / pattern / unidentified rules or contacts changed: redo the whole org. */
  whole: boolean;
  /** Exact numbers (and contact numbers) whose entries changed. */
  readonly numbers: Set<string>;
}

export class ChangeLog {
  constructor(private readonly db: Database) {}

  /** This database file's identity (migration 10): '' when the table is missing (an older schema). */
  async identity(): Promise<string> {
    const row = await this.db
      .get<{ token: string }>('SELECT token FROM store_identity WHERE id = 1')
      .catch(() => undefined);
    return row?.token ?? '';
  }

  /** The newest change's sequence number (0 when the log is empty). */
  async head(): Promise<number> {
    return (await this.db.get<{ s: number | null }>('SELECT max(seq) AS s FROM changes'))?.s ?? 0;
  }

  /**
   * A short digest of the change at `seq` (its org, kind and key), or null when it is not in the log
   * (pruned, or never written here): the marker keeps it, so a log that went back to an older state
   * and grew again past the marker's position (a database file copied back by hand) shows as
   * another history at that position.
   */
  async fingerprint(seq: number): Promise<string | null> {
    const row = await this.db.get<{ org_id: number | null; what: string; key: string | null }>(
      'SELECT org_id, what, key FROM changes WHERE seq = ?',
      [seq],
    );
    if (row === undefined) return null;
    return createHash('sha256')
      .update(`${String(row.org_id)}\u0000${row.what}\u0000${row.key ?? ''}`)
      .digest('hex')
      .slice(0, 12);
  }

  /**
   * The changes after `after` up to `upTo` (inclusive), by org, read in pages of `page` rows. Kinds
   * as the change feed applies them: `exact` and `number` name a number; `org`, `prefix`, `pattern`,
   * `unidentified`, `contact` and any kind this version does not know redo the whole org.
   */
  async changesBetween(after: number, upTo: number, page = 20_000): Promise<Map<number, OrgChanges>> {
    const out = new Map<number, OrgChanges>();
    let from = after;
    for (;;) {
      const rows = await this.db.all<{ seq: number; org_id: number | null; what: string; key: string | null }>(
        'SELECT seq, org_id, what, key FROM changes WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
        [from, upTo, page],
      );
      const last = rows.at(-1);
      if (last === undefined) break;
      for (const r of rows) {
        if (r.org_id === null) continue;
        let c = out.get(r.org_id);
        if (!c) out.set(r.org_id, (c = { whole: false, numbers: new Set() }));
        if ((r.what === 'exact' || r.what === 'number') && r.key !== null) c.numbers.add(r.key);
        else c.whole = true;
      }
      from = last.seq;
      if (rows.length < page) break;
    }
    return out;
  }
}
