/**
 * The pieces of a node in a shared PostgreSQL store (issue #15), built together by the composition
 * root when [store] backend = "postgres": the store, the replicator that keeps the SQLite file a
 * replica, the write gate that sends the services' writes to PostgreSQL, and the outbox shipper.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Database } from './database.js';
import { PgStore, pgStoreOptions } from './pg-store.js';
import { PgWriteGate } from './pg-write-gate.js';
import { RecordShipper, type ShipperStatus } from './record-shipper.js';
import { Replicator, type ReplicatorStatus } from './replicator.js';

export interface SharedStoreStatus {
  readonly store: string;
  readonly node: string;
  readonly replica: ReplicatorStatus;
  /** Changes PostgreSQL has that this replica has not applied yet. */
  readonly lagChanges: number;
  /** How long this replica has been behind (ms; 0 when caught up). */
  readonly lagMs: number;
  readonly outbox: ShipperStatus;
}

export class SharedStore {
  readonly pg: PgStore;
  readonly replicator: Replicator;
  readonly gate: PgWriteGate;
  readonly shipper: RecordShipper;

  constructor(
    config: Config,
    db: Database,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.pg = new PgStore(pgStoreOptions(config), logger.child({ component: 'pg-store' }));
    this.replicator = new Replicator(db, this.pg, logger.child({ component: 'replicator' }), {
      pollMs: config.store.replica_poll_ms,
      now,
    });
    this.gate = new PgWriteGate(db, this.pg, this.replicator, logger.child({ component: 'write-gate' }));
    this.shipper = new RecordShipper(
      db,
      this.pg,
      logger.child({ component: 'outbox' }),
      Math.max(config.records.flush_ms, 250),
    );
    this.gate.attach();
  }

  /** One catch-up now (a CLI command reads a fresh replica); PostgreSQL away is logged, not thrown. */
  async syncOnce(): Promise<boolean> {
    try {
      await this.replicator.catchUp();
      return true;
    } catch (err) {
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err), store: this.pg.where },
        "shared store unreachable; working from this node's replica (writes are refused until it is back)",
      );
      return false;
    }
  }

  /** Follow the store and ship the outbox (the daemon). */
  start(): void {
    this.replicator.start();
    this.shipper.start();
  }

  async stop(): Promise<void> {
    await this.shipper.stop();
    await this.replicator.stop();
  }

  status(): SharedStoreStatus {
    const replica = this.replicator.status();
    return {
      store: this.pg.where,
      node: this.pg.node,
      replica,
      lagChanges: this.replicator.lag(),
      lagMs: replica.behindSince === 0 ? 0 : Math.max(0, this.now() - replica.behindSince),
      outbox: this.shipper.status(),
    };
  }

  async close(): Promise<void> {
    await this.stop();
    await this.pg.close();
  }
}
