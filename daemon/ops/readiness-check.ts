/**
 * The words of readiness: one check's result, the whole answer, and what the checks read. Types
 * only, in their own module so that readiness.ts, store-health.ts, the readiness monitor and the
 * ops view can share them without importing each other in a cycle.
 */
import type { Config } from '../config/schema.js';
import type { SharedStoreStatus } from '../store/shared-store.js';
import type { ChangeFeed } from '../store/change-feed.js';
import type { Database } from '../store/database.js';
import type { ComponentHealthReport } from './component-health.js';

export interface ReadinessCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** A stable word for why it is not ok (deleted, replaced, disk-full, link-down…): logs, doctor. */
  readonly reason?: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: readonly ReadinessCheck[];
}

/** What `checkReadiness` reads of a running daemon: the ops view (ops-view.ts) gives it. */
export interface ReadinessSubject {
  readonly ctx: {
    readonly config: Config;
    readonly db: Database;
    readonly reader: Database;
    readonly feed: Pick<ChangeFeed, 'getStatus'>;
    /** The shared PostgreSQL store, when this node is one of several (issue #15). */
    readonly shared?: { status(): SharedStoreStatus };
  };
  componentHealth(): ComponentHealthReport[];
  /** Seconds since the change feed last polled and last applied a change (0 when never). */
  changeLagSync(): { pollAgeSeconds: number; appliedAgeSeconds: number };
}
