/**
 * Follows the `changes` table so a running daemon sees what any process committed (CLI, panel, a
 * script with sqlite3) within one poll interval, and updates only what changed.
 *
 * Cheap when idle: each tick asks `PRAGMA data_version`, which changes only when another
 * connection has committed; only then is the change table read.
 */
import type { Logger } from 'pino';
import { systemClock, systemScheduler, type Clock, type Scheduler } from '../core/clock.js';
import { CoalescedTask } from '../core/coalesced-task.js';
import type { Database, PreparedStatement } from './database.js';
import type { ScreeningIndex } from './screening-index.js';

export interface ChangeFeedOptions {
  /** Poll interval (ms, default 50). Propagation is bounded by this plus the time to apply. */
  readonly pollMs?: number;
  /** More changed numbers than this for one org in one batch → rebuild its key set (default 2000). */
  readonly bulkThreshold?: number;
  /** Rows read per batch (default 20,000). */
  readonly batchSize?: number;
}

/**
 * What the feed just applied to the index, for followers that keep their own copy (the AstDB
 * mirror): `all` after a reload of everything; `org` when an org's settings, DIDs, prefix rules,
 * contacts or (bulk import) key set changed; `numbers` for exact-number changes only.
 */
export type AppliedChange =
  | { readonly kind: 'all' }
  | { readonly kind: 'org'; readonly orgId: number }
  | { readonly kind: 'numbers'; readonly orgId: number; readonly numbers: readonly string[] };

interface ChangeRow {
  seq: number;
  org_id: number | null;
  what: string;
  key: string | null;
}

export interface ChangeFeedStatus {
  readonly lastSeq: number;
  readonly lastPollAt: number;
  readonly lastAppliedAt: number;
  readonly applied: number;
  readonly errors: number;
  readonly lastError: string | null;
}

export class ChangeFeed {
  private lastSeq = 0;
  private dataVersion = -1;
  private handle: unknown = null;
  private readonly polls = new CoalescedTask(() => this.pollOnce());
  private status = { lastPollAt: 0, lastAppliedAt: 0, applied: 0, errors: 0, lastError: null as string | null };
  private readonly pollMs: number;
  private readonly bulkThreshold: number;
  private readonly batchSize: number;
  private readonly followers = new Set<(c: AppliedChange) => void>();
  private dataVersionStmt: Promise<PreparedStatement> | null = null;

  constructor(
    private readonly db: Database,
    private readonly index: ScreeningIndex,
    private readonly logger: Logger,
    options: ChangeFeedOptions = {},
    private readonly timers: Scheduler = systemScheduler,
    private readonly clock: Clock = systemClock,
  ) {
    this.pollMs = options.pollMs ?? 50;
    this.bulkThreshold = options.bulkThreshold ?? 2000;
    this.batchSize = options.batchSize ?? 20_000;
  }

  /** Records where the log stands; call before loading the index so nothing between is missed. */
  async init(): Promise<void> {
    const row = await this.db.get<{ s: number | null }>('SELECT max(seq) AS s FROM changes');
    this.lastSeq = row?.s ?? 0;
    this.dataVersion = await this.readDataVersion();
  }

  start(): void {
    if (this.handle !== null) return;
    this.handle = this.timers.setInterval(() => void this.poll(), this.pollMs);
  }

  async stop(): Promise<void> {
    if (this.handle !== null) this.timers.clearInterval(this.handle);
    this.handle = null;
    await this.polls.settled();
  }

  getStatus(): ChangeFeedStatus {
    return { lastSeq: this.lastSeq, ...this.status };
  }

  /** Called after each change is in the index (never during); returns the unsubscribe. */
  onApplied(listener: (c: AppliedChange) => void): () => void {
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  private emit(c: AppliedChange): void {
    for (const f of this.followers) {
      try {
        f(c);
      } catch (err) {
        this.logger.error({ err }, 'change follower failed');
      }
    }
  }

  /**
   * Resolves once everything committed before the call is in the index. A poll in progress may have
   * read `data_version` before the caller's commit, so the caller gets the next one (CoalescedTask).
   */
  poll(): Promise<void> {
    return this.polls.run();
  }

  private async pollOnce(): Promise<void> {
    this.status.lastPollAt = this.clock.now();
    try {
      const version = await this.readDataVersion();
      if (version === this.dataVersion) return;
      this.dataVersion = version;
      const top = (await this.db.get<{ s: number | null }>('SELECT max(seq) AS s FROM changes'))?.s ?? 0;
      if (top <= this.lastSeq) return;
      if (this.lastSeq > 0 && (await this.gapIsReal())) {
        this.logger.warn({ from: this.lastSeq }, 'change log was pruned past this daemon; reloading everything');
        await this.index.reloadAll();
        this.emit({ kind: 'all' });
      } else {
        // A bulk change (an import of thousands of rows) rebuilds that org's key set once instead
        // of refreshing numbers one by one.
        const bulk = await this.db.all<{ org_id: number; c: number }>(
          'SELECT org_id, count(*) AS c FROM changes WHERE seq > ? AND seq <= ? AND org_id IS NOT NULL GROUP BY org_id HAVING count(*) > ?',
          [this.lastSeq, top, this.bulkThreshold],
        );
        const bulkOrgs = new Set(bulk.map((b) => b.org_id));
        for (const orgId of bulkOrgs) {
          await this.index.reloadOrg(orgId);
          await this.index.reloadRules(orgId);
          await this.index.reloadKeys(orgId);
          this.logger.info({ orgId }, 'bulk change: key set rebuilt');
          this.emit({ kind: 'org', orgId });
        }
        let from = this.lastSeq;
        for (;;) {
          const rows = await this.db.all<ChangeRow>(
            'SELECT seq, org_id, what, key FROM changes WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
            [from, top, this.batchSize],
          );
          const last = rows.at(-1);
          if (last === undefined) break;
          await this.apply(rows.filter((r) => r.org_id === null || !bulkOrgs.has(r.org_id)));
          from = last.seq;
          if (rows.length < this.batchSize) break;
        }
      }
      this.status.applied += top - this.lastSeq;
      this.lastSeq = top;
      this.status.lastAppliedAt = this.clock.now();
    } catch (err) {
      // Verdicts go on from memory; the next tick retries from the same sequence number.
      this.status.errors++;
      this.status.lastError = err instanceof Error ? err.message : String(err);
      this.dataVersion = -1;
      this.logger.warn({ err }, 'change feed poll failed; retrying on the next tick');
    }
  }

  /** True when rows after our position were pruned before we read them. */
  private async gapIsReal(): Promise<boolean> {
    // AUTOINCREMENT never reuses numbers and rollbacks leave no holes, so a missing next row means pruning.
    const row = await this.db.get<{ s: number | null }>('SELECT min(seq) AS s FROM changes WHERE seq > ?', [
      this.lastSeq,
    ]);
    return (
      row?.s !== null &&
      row?.s !== undefined &&
      row.s > this.lastSeq + 1 &&
      (await this.db.get('SELECT 1 FROM changes WHERE seq = ?', [this.lastSeq])) === undefined
    );
  }

  private async apply(rows: readonly ChangeRow[]): Promise<void> {
    interface Pending {
      org: boolean;
      rules: boolean;
      numbers: Set<string>;
      contacts: Set<number>;
    }
    const byOrg = new Map<number, Pending>();
    for (const r of rows) {
      if (r.org_id === null) continue;
      let p = byOrg.get(r.org_id);
      if (!p) byOrg.set(r.org_id, (p = { org: false, rules: false, numbers: new Set(), contacts: new Set() }));
      switch (r.what) {
        case 'org':
          p.org = true;
          break;
        case 'prefix':
        case 'unidentified':
        case 'pattern':
          p.rules = true;
          break;
        case 'exact':
        case 'number':
          if (r.key) p.numbers.add(r.key);
          break;
        case 'contact':
          if (r.key) p.contacts.add(Number(r.key));
          break;
        default:
          this.logger.warn({ what: r.what, seq: r.seq }, 'unknown change kind ignored');
      }
    }
    for (const [orgId, p] of byOrg) {
      if (p.org) await this.index.reloadOrg(orgId);
      if (p.rules) await this.index.reloadRules(orgId);
      for (const n of p.numbers) await this.index.refreshNumber(orgId, n);
      for (const c of p.contacts) await this.index.refreshContact(orgId, c);
      // Prefix rules and contacts can change the verdict of many numbers: followers redo the org.
      if (p.org || p.rules || p.contacts.size > 0) this.emit({ kind: 'org', orgId });
      else if (p.numbers.size > 0) this.emit({ kind: 'numbers', orgId, numbers: [...p.numbers] });
    }
  }

  /**
   * Compiled once: `db.get` would prepare, step and finalize a statement on every tick — three trips
   * through the sqlite3 thread pool, 20 times a second, most of an idle daemon's CPU (BENCHMARKS.md,
   * "The daemon's CPU per mirror-answered call"). A failed prepare is not kept: the next tick retries.
   */
  private async readDataVersion(): Promise<number> {
    const stmt = (this.dataVersionStmt ??= this.db.prepare('PRAGMA data_version').catch((err: unknown) => {
      this.dataVersionStmt = null;
      throw err;
    }));
    const rows = await (await stmt).all<{ data_version: number }>([]);
    return rows[0]?.data_version ?? 0;
  }
}
