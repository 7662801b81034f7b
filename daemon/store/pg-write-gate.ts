/**
 * Sends the services' write transactions to the shared PostgreSQL store (issue #15) while they keep
 * their SQLite SQL: the gate is installed on the replica's connection (Database.setWriteGate).
 *
 * One write, in order:
 *  1. BEGIN IMMEDIATE on the replica; note its applied sequence number S.
 *  2. Run the service's function; TEMP triggers capture the row images of the shared tables.
 *  3. Nothing shared captured (sessions, call records, hit counts): COMMIT locally; done.
 *  4. Otherwise commit the images to PostgreSQL as change S+1, provided its log's head is still S
 *     (the replica saw every change, so every constraint SQLite just checked holds there too).
 *     Then record S+1 as applied and COMMIT locally: the writer reads its own write at once, and
 *     the replicator never applies it a second time.
 *  5. Head moved (another node wrote first, or a primary key another node took): ROLLBACK locally,
 *     catch up, run the function again on the new state; after `maxAttempts` CS_ERR_CONFLICT.
 *     PostgreSQL unreachable: ROLLBACK locally, CS_ERR_UNAVAILABLE naming the store. Either way
 *     nothing is half-written: PostgreSQL's transaction and the local one go together or not at all
 *     (a local COMMIT that fails after PostgreSQL's leaves the change to the replicator).
 *
 * Why not the row-revision check per row the issue's lead suggested: checking only the log's head
 * makes two concurrent edits serial (one applies, the other is recomputed on top of it: the result
 * is one of the two, never a mix), keeps SQLite's unique and foreign-key checks valid for every node,
 * and turns cross-node primary-key collisions into the same retry. Writers take turns on one row
 * lock for one round trip; admin writes are far too rare for that to matter (measured in BENCHMARKS).
 */
import type { Logger } from 'pino';
import { CallscreenError } from '../core/errors.js';
import type { Database } from './database.js';
import type { PgStore } from './pg-store.js';
import type { Replicator } from './replicator.js';
import { clearCapture, installCapture, readCapture } from './row-images.js';

class Behind extends Error {
  constructor(readonly head: number) {
    super(`the shared store is at change ${head}`);
  }
}

export interface WriteGateStats {
  readonly shared: number;
  readonly local: number;
  readonly retries: number;
  readonly refused: number;
}

export class PgWriteGate {
  private ready: Promise<void> | null = null;
  private readonly stats = { shared: 0, local: 0, retries: 0, refused: 0 };

  constructor(
    private readonly db: Database,
    private readonly store: PgStore,
    private readonly replicator: Replicator,
    private readonly logger: Logger,
    private readonly maxAttempts = 5,
  ) {}

  /** Installs this gate on the replica's connection. */
  attach(): void {
    this.db.setWriteGate((fn) => this.write(fn));
  }

  getStats(): WriteGateStats {
    return { ...this.stats };
  }

  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      await installCapture(this.db, [...(await this.replicator.tableSpecs()).values()]);
    })().catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    await this.prepare();
    const specs = await this.replicator.tableSpecs();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.localTransaction(async () => {
          await clearCapture(this.db);
          const applied = (await this.db.get<{ s: number; id: string }>(
            'SELECT applied_seq AS s, store_id AS id FROM replica_state WHERE id = 1',
          )) ?? { s: 0, id: '' };
          const out = await fn();
          const images = await readCapture(this.db);
          await clearCapture(this.db);
          if (images.length === 0) {
            this.stats.local++;
            return out;
          }
          if (applied.id === '') throw new Behind(-1); // never synced: catch up (resync) first
          const r = await this.store.commit(applied.s, images, specs);
          if ('behind' in r) throw new Behind(r.behind);
          await this.db.run('UPDATE replica_state SET applied_seq = ?, applied_at = ? WHERE id = 1', [
            r.seq,
            Date.now(),
          ]);
          this.stats.shared++;
          return out;
        });
      } catch (err) {
        if (!(err instanceof Behind)) {
          if (err instanceof CallscreenError && err.code === 'CS_ERR_UNAVAILABLE') this.stats.refused++;
          throw err;
        }
        if (attempt >= this.maxAttempts) {
          throw new CallscreenError(
            'CS_ERR_CONFLICT',
            `the shared store ${this.store.where} changed under this write ${attempt} times in a row; nothing was written, try again`,
            { store: this.store.where, attempts: attempt },
          );
        }
        this.stats.retries++;
        this.logger.debug(
          { attempt, head: err.head },
          'shared store moved on; catching up and running the write again',
        );
        await this.replicator.catchUp();
      }
    }
  }
}
