/**
 * The outbox of a node in a shared store (issue #15): call records and hit counts are written
 * locally first (the recorder, as with one node: durable, never waiting on PostgreSQL) and shipped
 * from there when PostgreSQL can be reached, with this node's name.
 *
 * - Screened calls: rows of `screened` with an id above replica_state.shipped_screened_id, in id
 *   order, `batch` at a time; the mark moves only after PostgreSQL took them, and PostgreSQL keys
 *   them by (node, id), so a batch shipped twice (a crash between the two) is stored once.
 * - Hit counts: each entry's local total (absolute, not a delta) for entries hit since the last
 *   shipment, upserted per (node, entry): repeating a shipment changes nothing, and an entry's
 *   count across the site is the sum over nodes, exact.
 * - The other nodes' hit counts come back the same way (pullPeerHits), so the hit counts a node
 *   shows are the site's.
 * A node's records that the recorder prunes (records.keep) before they were shipped are lost; at
 * the default million that is days of PostgreSQL outage.
 */
import type { Logger } from 'pino';
import type { Database } from './database.js';
import type { PgStore } from './pg-store.js';
import { CoalescedTask } from '../core/coalesced-task.js';

/**
 * Hits are stamped with the call's time but reach the file up to a recorder flush later (500 ms by
 * default, longer while SQLite is busy): entries hit this long before the last mark are shipped
 * again (5 min; harmless, the values are absolute).
 */
const HIT_MARGIN_MS = 5 * 60_000;

/**
 * Another node's hit-count upsert may have started (and taken its time from PostgreSQL's clock)
 * before a pull and commit after it: each pull reads back this far before the last one (10 s;
 * harmless, the values are absolute).
 */
const PEER_MARGIN_MS = 10_000;

export interface ShipperStatus {
  readonly shippedRecords: number;
  readonly shippedHits: number;
  /** Entries whose other nodes' hit counts were pulled into this file. */
  readonly pulledHits: number;
  readonly pendingRecords: number;
  readonly errors: number;
  readonly lastError: string | null;
}

export class RecordShipper {
  private timer: NodeJS.Timeout | null = null;
  private readonly shipRuns = new CoalescedTask(() => this.shipOnce());
  private st = {
    shippedRecords: 0,
    shippedHits: 0,
    pulledHits: 0,
    pendingRecords: 0,
    errors: 0,
    lastError: null as string | null,
  };

  constructor(
    private readonly db: Database,
    private readonly store: PgStore,
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
    private readonly batch = 1000,
  ) {}

  status(): ShipperStatus {
    return { ...this.st };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.ship().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.shipRuns.settled();
  }

  /**
   * Ships everything pending at the call: a run in progress may have read its mark before, so a
   * caller during it gets the next run, shared (CoalescedTask). Throws CS_ERR_UNAVAILABLE when
   * PostgreSQL is away.
   */
  ship(): Promise<void> {
    return this.shipRuns.run();
  }

  private async shipOnce(): Promise<void> {
    try {
      const mark = await this.db.get<{ sid: number; hat: number }>(
        'SELECT shipped_screened_id AS sid, shipped_hits_at AS hat FROM replica_state WHERE id = 1',
      );
      let sid = mark?.sid ?? 0;
      for (;;) {
        const rows = await this.db.all<{ id: number; at: number; org_id: number | null } & Record<string, unknown>>(
          'SELECT * FROM screened WHERE id > ? ORDER BY id LIMIT ?',
          [sid, this.batch],
        );
        const last = rows.at(-1);
        if (last === undefined) break;
        await this.store.shipScreened(rows);
        sid = last.id;
        await this.db.localTransaction(() =>
          this.db.run('UPDATE replica_state SET shipped_screened_id = ? WHERE id = 1', [sid]),
        );
        this.st.shippedRecords += rows.length;
        if (rows.length < this.batch) break;
      }
      const hat = mark?.hat ?? 0;
      const hits = await this.db.all<{ id: number; hit_count: number; last_hit_at: number | null }>(
        'SELECT id, hit_count, last_hit_at FROM entries WHERE last_hit_at >= ? AND hit_count > 0',
        [hat - HIT_MARGIN_MS],
      );
      if (hits.length > 0) {
        await this.store.shipHits(hits);
        const top = Math.max(...hits.map((h) => h.last_hit_at ?? 0));
        await this.db.localTransaction(() =>
          this.db.run('UPDATE replica_state SET shipped_hits_at = ? WHERE id = 1', [top]),
        );
        this.st.shippedHits += hits.length;
      }
      this.st.pendingRecords =
        (await this.db.get<{ c: number }>('SELECT count(*) AS c FROM screened WHERE id > ?', [sid]))?.c ?? 0;
      await this.pullPeerHits();
    } catch (err) {
      this.st.errors++;
      this.st.lastError = err instanceof Error ? err.message : String(err);
      this.logger.debug({ err: this.st.lastError }, 'outbox not shipped; will retry');
      throw err;
    }
  }

  /**
   * The other way: the other nodes' hit counts of the entries they shipped since the last pull,
   * into entries.peer_hits / peer_last_hit_at (local columns: no change feed, no replication), so
   * this node's panel, API, CLI and stale report count every node's hits.
   */
  private async pullPeerHits(): Promise<void> {
    const mark =
      (await this.db.get<{ at: number }>('SELECT peer_hits_at AS at FROM replica_state WHERE id = 1'))?.at ?? 0;
    const { now, hits } = await this.store.peerHits(mark === 0 ? 0 : mark - PEER_MARGIN_MS);
    await this.db.localTransaction(async () => {
      let updated = 0;
      for (let i = 0; i < hits.length; i += 300) {
        const chunk = hits.slice(i, i + 300);
        updated += (
          await this.db.run(
            `WITH p(id, n, last) AS (VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')})
           UPDATE entries SET peer_hits = p.n, peer_last_hit_at = p.last FROM p WHERE entries.id = p.id`,
            chunk.flatMap((h) => [h.entryId, h.hits, h.lastHitAt]),
          )
        ).changes;
      }
      // An entry newer than this replica's newest (it lags): keep the mark and read it again next
      // time. (One it no longer has, purged, is not waited for.)
      const newest =
        updated === hits.length
          ? 0
          : ((await this.db.get<{ m: number | null }>('SELECT max(id) AS m FROM entries'))?.m ?? 0);
      if (updated === hits.length || hits.every((h) => h.entryId <= newest))
        await this.db.run('UPDATE replica_state SET peer_hits_at = ? WHERE id = 1', [Math.max(now, 1)]);
    });
    this.st.pulledHits += hits.length;
  }
}
