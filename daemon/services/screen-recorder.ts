/**
 * Write-behind for the hot path: rule hit counts and the record of every screened call or message
 * are queued in memory and written in one transaction per flush, so a verdict never waits for disk.
 *
 * Bounded: at most `maxQueue` records wait (default 50,000); beyond that the oldest are dropped and
 * counted — hit counts are merged per entry and never dropped. A failed flush (database locked, disk
 * full) keeps what it could not write and is retried by the timer after a back-off; verdicts are
 * unaffected.
 */
import type { Logger } from 'pino';
import type { Clock, Scheduler } from '../core/clock.js';
import { CoalescedTask } from '../core/coalesced-task.js';
import type { Channel, Direction } from '../core/screen-request.js';
import type { VerdictAction } from '../core/verdict.js';
import type { Database } from '../store/database.js';

export interface ScreenRecord {
  readonly at: number;
  readonly orgId: number | null;
  readonly channel: Channel;
  readonly direction: Direction;
  readonly fromRaw: string;
  readonly toRaw: string;
  readonly number: string;
  readonly action: VerdictAction;
  readonly ruleKind: string | null;
  readonly ruleId: string | null;
  readonly reason: string;
  readonly adapter: string;
  readonly callId: string | null;
  readonly failMode: string | null;
  readonly latencyUs: number | null;
  /** STIR/SHAKEN as the carrier reported it (`passed-A`, `failed`…); null when it sent none. */
  readonly attestation?: string | null;
}

export interface ScreenedRow {
  id: number;
  at: number;
  org_id: number | null;
  channel: Channel;
  direction: Direction;
  from_raw: string;
  to_raw: string;
  number: string;
  action: VerdictAction;
  rule_kind: string | null;
  rule_id: string | null;
  reason: string;
  adapter: string;
  call_id: string | null;
  fail_mode: string | null;
  latency_us: number | null;
  attestation: string | null;
  /** The node that screened it: set when several nodes share one PostgreSQL store (issue #15). */
  node?: string;
}

/** Filters of the recent-calls listing. */
export interface CallQuery {
  readonly limit?: number;
  readonly offset?: number;
  readonly channel?: Channel;
  readonly action?: VerdictAction;
  /** Digits found anywhere in the normalised caller or the raw from/to (any format). */
  readonly number?: string;
  /** Only records with a larger id (those the outbox has not shipped yet). */
  readonly afterId?: number;
}

export interface ScreenRecorderOptions {
  /** Flush interval (ms, default 500). */
  readonly flushMs?: number;
  /** Records held at most while the database is unavailable (default 50,000). */
  readonly maxQueue?: number;
  /** Records kept in the table (default 1,000,000); older ones are pruned. */
  readonly keepRecords?: number;
}

/**
 * Rows per statement of a flush (records or hit counts): a flush at 500 calls/s and the default
 * 500 ms holds ~250, so one statement; 50,000 queued after an outage are 50 statements of ~200 KB.
 */
const ROWS_PER_STATEMENT = 1000;

/**
 * Longest wait (ms) between the timer's flush attempts while they keep failing. After the k-th failure
 * in a row the timer waits `flushMs × 2^k`, at most this. Behind another process's lock every attempt
 * waits `busy_timeout_ms` (default 5 s) and fails; retried every tick, flushes would run back to back
 * for the whole lock, each a writer more for the lock holder's and the panel's writes to race when it
 * ends, and a warning each. At 500 calls/s, 10 s is 5,000 records waiting in memory, well inside
 * `maxQueue`.
 */
const RETRY_MAX_MS = 10_000;

/** The columns of a record, in INSERT_RECORDS' order. */
const recordValues = (r: ScreenRecord): unknown[] => [
  r.at,
  r.orgId,
  r.channel,
  r.direction,
  r.fromRaw,
  r.toRaw,
  r.number,
  r.action,
  r.ruleKind,
  r.ruleId,
  r.reason,
  r.adapter,
  r.callId,
  r.failMode,
  r.latencyUs,
  r.attestation ?? null,
];

/** A lone UTF-16 surrogate: not text, and not in any string decoded from bytes (only from a JSON body's escapes). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The JSON array INSERT_RECORDS reads. A lone surrogate becomes U+FFFD, as node-sqlite3 stored it when
 * bound: JSON.stringify escapes it (`\ud800`) and SQLite would store those escapes as invalid UTF-8. A
 * well-formed string never needs that escape (pairs are written as they are), so only a line holding
 * `\ud` (one, or a backslash and "ud" in the text) is made again with the strings mended.
 */
export function recordsJson(records: readonly ScreenRecord[]): string {
  const json = JSON.stringify(records.map(recordValues));
  if (!json.includes('\\ud')) return json;
  return JSON.stringify(records.map(recordValues), (_key, v: unknown) =>
    typeof v === 'string' ? v.replace(LONE_SURROGATE, '\uFFFD') : v,
  );
}

/** Records from one JSON array of recordValues arrays. */
const INSERT_RECORDS = `INSERT INTO screened (at, org_id, channel, direction, from_raw, to_raw, number, action, rule_kind, rule_id, reason, adapter, call_id, fail_mode, latency_us, attestation)
  SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10, value->>11, value->>12, value->>13, value->>14, value->>15
  FROM jsonb_each(?) ORDER BY key`;

/**
 * Hit counts from one JSON array of [entry id, hits, last hit (ms)]: one statement for many entries,
 * not one per entry (at 1,000 blocked calls/s from distinct numbers, per-entry UPDATEs were the
 * daemon's largest CPU cost, each a prepare, a step and a finalize through the thread pool).
 */
const UPDATE_HITS = `WITH h(id, n, last) AS (SELECT value->>0, value->>1, value->>2 FROM jsonb_each(?))
  UPDATE entries SET hit_count = entries.hit_count + h.n, last_hit_at = max(coalesce(entries.last_hit_at, 0), h.last)
  FROM h WHERE entries.id = h.id`;

export class ScreenRecorder {
  private records: ScreenRecord[] = [];
  private hits = new Map<number, { count: number; last: number }>();
  private handle: unknown = null;
  private readonly flushRuns = new CoalescedTask(() => this.flushOnce());
  private dropped = 0;
  private flushes = 0;
  private failures = 0;
  /** Failed flushes in a row, and the time (epoch ms) before which the timer does not try again. */
  private failedInRow = 0;
  private retryAt = 0;
  private readonly flushMs: number;
  private readonly maxQueue: number;
  private readonly keepRecords: number;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: ScreenRecorderOptions = {},
    private readonly timers?: Scheduler,
  ) {
    this.flushMs = options.flushMs ?? 500;
    this.maxQueue = options.maxQueue ?? 50_000;
    this.keepRecords = options.keepRecords ?? 1_000_000;
  }

  recordHit(entryId: number, at: number): void {
    const h = this.hits.get(entryId);
    if (h) {
      h.count++;
      if (at > h.last) h.last = at;
    } else this.hits.set(entryId, { count: 1, last: at });
  }

  record(rec: ScreenRecord): void {
    if (this.records.length >= this.maxQueue) {
      this.records.shift();
      this.dropped++;
    }
    this.records.push(rec);
  }

  start(): void {
    if (this.handle !== null || !this.timers) return;
    this.handle = this.timers.setInterval(() => {
      if (this.clock.now() >= this.retryAt) void this.flush();
    }, this.flushMs);
  }

  async stop(): Promise<void> {
    if (this.handle !== null) this.timers?.clearInterval(this.handle);
    this.handle = null;
    await this.flush();
  }

  stats(): { queued: number; pendingHits: number; dropped: number; flushes: number; failures: number } {
    return {
      queued: this.records.length,
      pendingHits: this.hits.size,
      dropped: this.dropped,
      flushes: this.flushes,
      failures: this.failures,
    };
  }

  /**
   * Writes everything queued before the call. A flush in progress took the queue as it was when it
   * began, so a caller during it gets the next flush (CoalescedTask); `stop()` relies on this to
   * leave nothing queued behind.
   */
  flush(): Promise<void> {
    return this.flushRuns.run();
  }

  private async flushOnce(): Promise<void> {
    if (this.records.length === 0 && this.hits.size === 0) return;
    const records = this.records;
    const hits = this.hits;
    this.records = [];
    this.hits = new Map();
    try {
      await this.db.transaction(async () => {
        // Each statement takes its rows as one JSON parameter, not as ? per value: node-sqlite3 converts
        // every bound value on the main thread, and 100 records × 16 values cost ~500–800 µs of it per
        // statement. One JSON string is made by V8 in ~1 µs per record; SQLite parses it once
        // (jsonb_each: binary JSON, so the 16 `->>` of a row do not parse its text again, as with
        // json_each). All threads: 10–12 µs of CPU per record bound, 7 with json_each, 3.5 with
        // jsonb_each (250-record flushes, no index; BENCHMARKS.md issue #20). The values and their types
        // are the same (JSON integers, strings and null read back as INTEGER, TEXT and NULL), in the same
        // order (ORDER BY key: the array's order, so ids follow it).
        const all = [...hits];
        for (let i = 0; i < all.length; i += ROWS_PER_STATEMENT) {
          const chunk = all.slice(i, i + ROWS_PER_STATEMENT);
          await this.db.run(UPDATE_HITS, [JSON.stringify(chunk.map(([id, h]) => [id, h.count, h.last]))]);
        }
        for (let i = 0; i < records.length; i += ROWS_PER_STATEMENT) {
          const chunk = records.slice(i, i + ROWS_PER_STATEMENT);
          await this.db.run(INSERT_RECORDS, [recordsJson(chunk)]);
        }
      });
      this.failedInRow = 0;
      this.retryAt = 0;
      if (++this.flushes % 200 === 0) await this.prune();
    } catch (err) {
      this.failures++;
      this.failedInRow++;
      this.retryAt = this.clock.now() + Math.min(this.flushMs * 2 ** this.failedInRow, RETRY_MAX_MS);
      // Put back what was not written: hits merged, records in front, still bounded.
      for (const [id, h] of hits) {
        const cur = this.hits.get(id);
        if (cur) {
          cur.count += h.count;
          cur.last = Math.max(cur.last, h.last);
        } else this.hits.set(id, h);
      }
      const merged = records.concat(this.records);
      const over = merged.length - this.maxQueue;
      if (over > 0) {
        merged.splice(0, over);
        this.dropped += over;
      }
      this.records = merged;
      this.logger.warn(
        { err, queued: this.records.length, retryInMs: this.retryAt - this.clock.now() },
        'could not write call records; will retry',
      );
    }
  }

  private async prune(): Promise<void> {
    await this.db
      .run('DELETE FROM screened WHERE id <= (SELECT max(id) FROM screened) - ?', [this.keepRecords])
      .catch(() => undefined);
    await this.db
      .run('DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - 1000000')
      .catch(() => undefined);
  }

  /** Recent screened calls/messages of an org, newest first. */
  async recent(orgId: number, limit = 50, offset = 0, channel?: Channel): Promise<ScreenedRow[]> {
    return this.find(orgId, { limit, offset, ...(channel ? { channel } : {}) });
  }

  /**
   * Recent screened calls/messages of an org, newest first, filtered: by channel, by verdict
   * (`action`), and by `number` — its digits found anywhere in the normalised caller or in the raw
   * from/to (so "555 12" finds +15551234567). At most 1,000 rows a page.
   */
  async find(orgId: number, q: CallQuery): Promise<ScreenedRow[]> {
    const where = ['org_id = ?'];
    const params: Array<string | number> = [orgId];
    if (q.afterId !== undefined) {
      where.push('id > ?');
      params.push(q.afterId);
    }
    if (q.channel) {
      where.push('channel = ?');
      params.push(q.channel);
    }
    if (q.action) {
      where.push('action = ?');
      params.push(q.action);
    }
    const digits = (q.number ?? '').replace(/\D/g, '');
    if (digits) {
      where.push("(instr(replace(number, '+', ''), ?) > 0 OR instr(from_raw, ?) > 0 OR instr(to_raw, ?) > 0)");
      params.push(digits, digits, digits);
    }
    return this.db.all<ScreenedRow>(
      `SELECT * FROM screened WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ? OFFSET ?`,
      [...params, Math.max(1, Math.min(q.limit ?? 50, 1000)), Math.max(0, q.offset ?? 0)],
    );
  }

  now(): number {
    return this.clock.now();
  }
}
