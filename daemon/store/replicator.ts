/**
 * Keeps this node's SQLite file a replica of the shared PostgreSQL store (issue #15).
 *
 * Each change of the shared log is applied to the file in one SQLite transaction that also records
 * its sequence number (replica_state.applied_seq), so a crash leaves the file at a change boundary
 * and the next catch-up starts right after it. The daemon's change feed sees these commits as it
 * sees a CLI write (the change-log triggers fire), so the call path does not change.
 *
 * Woken by NOTIFY on a dedicated connection; polls every `pollMs` as well, so a lost notification
 * or a LISTEN connection that is down costs at most one poll interval. A replica behind a pruned
 * log, new, or made from another store resyncs whole from one snapshot.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { CoalescedTask } from '../core/coalesced-task.js';
import type { Database } from './database.js';
import { CHANGE_CHANNEL, type PgStore } from './pg-store.js';
import { applyImages, readTableSpecs, upsert, type TableSpec } from './row-images.js';

export interface ReplicatorStatus {
  /** Last change applied to this file. */
  readonly appliedSeq: number;
  /** Newest change known to exist in PostgreSQL (from NOTIFY or the last read). */
  readonly headSeq: number;
  /** Whether the last exchange with PostgreSQL worked. */
  readonly connected: boolean;
  /** Whether NOTIFY currently wakes this replica (false: polling only). */
  readonly listening: boolean;
  /** When headSeq was first seen ahead of appliedSeq (ms since epoch), 0 when caught up. */
  readonly behindSince: number;
  readonly lastAppliedAt: number;
  readonly resyncs: number;
  readonly errors: number;
  readonly lastError: string | null;
}

interface LocalState {
  store_id: string;
  applied_seq: number;
}

export interface ReplicatorOptions {
  /** Poll interval when no NOTIFY arrives (ms, default 1000). */
  readonly pollMs?: number;
  /** Changes read per round trip (default 500). */
  readonly batch?: number;
  readonly now?: () => number;
}

export class Replicator {
  private specs: Map<string, TableSpec> | null = null;
  private readonly catchUps = new CoalescedTask(() => this.catchUpOnce());
  private timer: NodeJS.Timeout | null = null;
  private listener: pg.Client | null = null;
  private stopped = true;
  private readonly pollMs: number;
  private readonly batch: number;
  private readonly now: () => number;
  private readonly appliedListeners = new Set<() => void>();
  private st = {
    appliedSeq: 0,
    headSeq: 0,
    connected: false,
    listening: false,
    behindSince: 0,
    lastAppliedAt: 0,
    resyncs: 0,
    errors: 0,
    lastError: null as string | null,
  };

  constructor(
    private readonly db: Database,
    private readonly store: PgStore,
    private readonly logger: Logger,
    options: ReplicatorOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.batch = options.batch ?? 500;
    this.now = options.now ?? Date.now;
  }

  /**
   * Called after each commit of replicated changes to the file: the daemon polls its change feed
   * at once instead of up to change_poll_ms later. Returns the unsubscribe.
   */
  onApplied(listener: () => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  private emitApplied(): void {
    for (const l of this.appliedListeners) {
      try {
        l();
      } catch (err) {
        this.logger.error({ err }, 'replica listener failed');
      }
    }
  }

  status(): ReplicatorStatus {
    return { ...this.st };
  }

  /** Lag in changes (0 when caught up). */
  lag(): number {
    return Math.max(0, this.st.headSeq - this.st.appliedSeq);
  }

  async tableSpecs(): Promise<Map<string, TableSpec>> {
    this.specs ??= new Map((await readTableSpecs(this.db)).map((s) => [s.name, s]));
    return this.specs;
  }

  /**
   * The flag as it is now. Read through a method after an await: stop() changes it meanwhile, which
   * the compiler's narrowing (from the check before the await) cannot see.
   */
  private isStopped(): boolean {
    return this.stopped;
  }

  async localState(): Promise<LocalState> {
    return (
      (await this.db.get<LocalState>('SELECT store_id, applied_seq FROM replica_state WHERE id = 1')) ?? {
        store_id: '',
        applied_seq: 0,
      }
    );
  }

  /** Starts following: LISTEN (reconnected when lost) and the poll timer. Never throws. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.listen();
    const tick = (): void => {
      if (this.stopped) return;
      void this.catchUp()
        .catch(() => undefined)
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.pollMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const l = this.listener;
    this.listener = null;
    this.st.listening = false;
    if (l) await l.end().catch(() => undefined);
    await this.catchUps.settled();
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    try {
      const client = await this.store.listenClient();
      // stop() may have run while we awaited the connection.
      if (this.isStopped()) {
        await client.end().catch(() => undefined);
        return;
      }
      this.listener = client;
      const lost = (err?: Error): void => {
        if (this.listener !== client) return;
        this.listener = null;
        this.st.listening = false;
        this.logger.warn(
          { err: err?.message, store: this.store.where },
          'LISTEN connection lost; polling until it is back',
        );
        client.end().catch(() => undefined);
        this.retryListen();
      };
      client.on('error', lost);
      client.on('end', () => lost());
      client.on('notification', (n) => {
        const seq = Number(n.payload);
        if (Number.isFinite(seq) && seq > this.st.headSeq) this.noteHead(seq);
        void this.catchUp().catch(() => undefined);
      });
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      this.st.listening = true;
      // Anything committed before LISTEN took effect: one catch-up now.
      void this.catchUp().catch(() => undefined);
    } catch (err) {
      this.st.listening = false;
      this.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'LISTEN not possible now; polling');
      this.retryListen();
    }
  }

  private retryListen(): void {
    if (this.stopped) return;
    setTimeout(() => void this.listen(), Math.max(this.pollMs, 500)).unref();
  }

  private noteHead(seq: number): void {
    this.st.headSeq = Math.max(this.st.headSeq, seq);
    if (this.st.headSeq > this.st.appliedSeq && this.st.behindSince === 0) this.st.behindSince = this.now();
  }

  /**
   * Applies everything up to PostgreSQL's current head (resyncing when it must). A call while a run is
   * in progress gets the next run, shared with every caller meanwhile (CoalescedTask): the run in
   * progress may have read the head before the change the caller was told of. Throws the catalogue
   * error (CS_ERR_UNAVAILABLE) when PostgreSQL cannot be reached.
   */
  catchUp(): Promise<void> {
    return this.catchUps.run();
  }

  private async catchUpOnce(): Promise<void> {
    try {
      const storeId = await this.store.ensureSchema();
      const specs = await this.tableSpecs();
      let local = await this.localState();
      this.st.appliedSeq = local.applied_seq;
      if (local.store_id !== storeId) {
        await this.resync(
          storeId,
          specs,
          local.store_id === '' ? 'first start against this store' : 'the replica was made from another store',
        );
        local = await this.localState();
      }
      for (;;) {
        const rows = await this.store.changesAfter(local.applied_seq, this.batch);
        // The write gate (this process or another on this file) may have moved the replica on meanwhile.
        const fresh = await this.localState();
        if (fresh.applied_seq !== local.applied_seq) {
          local = fresh;
          continue;
        }
        const first = rows[0];
        const last = rows.at(-1);
        if (first === undefined || last === undefined) {
          const head = await this.store.head();
          this.noteHead(head);
          if (head > local.applied_seq) {
            if (
              (await this.localState()).applied_seq !== local.applied_seq ||
              (await this.store.changesAfter(local.applied_seq, 1)).length > 0
            ) {
              local = await this.localState();
              continue;
            }
            await this.resync(storeId, specs, `the log no longer holds change ${local.applied_seq + 1}`);
            local = await this.localState();
            continue;
          }
          break;
        }
        this.noteHead(last.seq);
        if (first.seq !== local.applied_seq + 1) {
          await this.resync(storeId, specs, `the log no longer holds change ${local.applied_seq + 1}`);
          local = await this.localState();
          continue;
        }
        const applied = await this.db.localTransaction(async () => {
          // Another process (the CLI, a second daemon on this file) may have applied some meanwhile.
          const cur =
            (await this.db.get<{ s: number }>('SELECT applied_seq AS s FROM replica_state WHERE id = 1'))?.s ?? 0;
          let last = cur;
          for (const r of rows) {
            if (r.seq <= last) continue;
            if (r.seq !== last + 1) break;
            await applyImages(this.db, specs, r.images);
            last = r.seq;
          }
          if (last !== cur)
            await this.db.run('UPDATE replica_state SET applied_seq = ?, applied_at = ? WHERE id = 1', [
              last,
              this.now(),
            ]);
          await this.db.exec('DELETE FROM temp.cs_capture').catch(() => undefined);
          return last;
        });
        local = { ...local, applied_seq: applied };
        this.markApplied(applied);
        this.emitApplied();
        if (rows.length < this.batch) break;
      }
      this.st.connected = true;
      this.markApplied(local.applied_seq);
    } catch (err) {
      this.st.errors++;
      this.st.lastError = err instanceof Error ? err.message : String(err);
      this.st.connected = false;
      throw err;
    }
  }

  private markApplied(seq: number): void {
    if (seq > this.st.appliedSeq) this.st.lastAppliedAt = this.now();
    this.st.appliedSeq = seq;
    if (this.st.headSeq <= seq) {
      this.st.headSeq = seq;
      this.st.behindSince = 0;
    }
  }

  /**
   * Makes this file equal to the store's snapshot in one transaction: every shared row upserted
   * (local hit counts kept), rows the store no longer has deleted (the append-only audit log keeps
   * its own), applied_seq set to the snapshot's.
   */
  private async resync(storeId: string, specs: ReadonlyMap<string, TableSpec>, why: string): Promise<void> {
    const t0 = this.now();
    const snap = await this.store.snapshot();
    const byTable = new Map<string, Array<Record<string, unknown>>>();
    for (const r of snap.rows) {
      let list = byTable.get(r.tbl);
      if (!list) byTable.set(r.tbl, (list = []));
      list.push(r.data);
    }
    const done = await this.db.localTransaction(async () => {
      // A write of this node committed after the snapshot was read: the snapshot is older than the
      // file, and applying it would take that write back out. The next catch-up follows the log.
      const cur = await this.db.get<LocalState>('SELECT store_id, applied_seq FROM replica_state WHERE id = 1');
      if (cur && cur.store_id === storeId && cur.applied_seq >= snap.seq) return false;
      await this.db.exec('PRAGMA defer_foreign_keys = ON');
      if (cur && cur.store_id !== storeId) {
        // Another store's (or none's): the other nodes' hit counts pulled from it do not apply; pull afresh.
        await this.db.run(
          'UPDATE entries SET peer_hits = 0, peer_last_hit_at = NULL WHERE peer_hits <> 0 OR peer_last_hit_at IS NOT NULL',
        );
        await this.db.run('UPDATE replica_state SET peer_hits_at = 0 WHERE id = 1');
      }
      await this.db.exec(
        'CREATE TEMP TABLE IF NOT EXISTS cs_keep (tbl TEXT NOT NULL, pk TEXT NOT NULL, PRIMARY KEY (tbl, pk)) WITHOUT ROWID',
      );
      await this.db.exec('DELETE FROM temp.cs_keep');
      for (const spec of specs.values()) {
        for (const row of byTable.get(spec.name) ?? []) {
          await upsert(this.db, spec, row as Record<string, string | number | null>);
          await this.db.run('INSERT OR IGNORE INTO temp.cs_keep (tbl, pk) VALUES (?, ?)', [
            spec.name,
            JSON.stringify(spec.pk.map((c) => row[c] ?? null)),
          ]);
        }
      }
      // Children first, so a cascade never meets a row this loop is about to look at.
      for (const spec of [...specs.values()].reverse()) {
        if (spec.appendOnly) continue;
        await this.db.run(
          `DELETE FROM "${spec.name}" WHERE NOT EXISTS (SELECT 1 FROM temp.cs_keep k WHERE k.tbl = ? AND k.pk = json_array(${spec.pk.map((c) => `"${spec.name}"."${c}"`).join(', ')}))`,
          [spec.name],
        );
      }
      await this.db.run(
        'UPDATE replica_state SET store_id = ?, applied_seq = ?, applied_at = ?, resynced_at = ? WHERE id = 1',
        [storeId, snap.seq, this.now(), this.now()],
      );
      await this.db.exec('DELETE FROM temp.cs_keep');
      await this.db.exec('DELETE FROM temp.cs_capture').catch(() => undefined);
      return true;
    });
    if (!done) return;
    this.emitApplied();
    this.st.resyncs++;
    this.markApplied(snap.seq);
    this.noteHead(snap.seq);
    const fields = { why, seq: snap.seq, rows: snap.rows.length, ms: this.now() - t0, store: this.store.where };
    // A new node's first copy is expected; a resync later means the log was pruned past this node.
    if (this.st.resyncs === 1 && why.startsWith('first start'))
      this.logger.info(fields, 'replica copied whole from the shared store');
    else this.logger.warn(fields, 'replica resynced whole from the shared store');
  }
}
