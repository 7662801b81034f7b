/**
 * The operational view of a running daemon: what /readyz and /metrics read. Built by the
 * composition root once the context exists; holds no state of its own beyond what it is given.
 */
import type { Component } from '../component.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { QuarantineService } from '../services/quarantine-service.js';
import type { ScreenRecorder } from '../services/screen-recorder.js';
import type { SharedStore } from '../store/shared-store.js';
import type { ChangeFeed } from '../store/change-feed.js';
import type { Database } from '../store/database.js';
import type { ScreeningIndex } from '../store/screening-index.js';
import type { ComponentHealthReport } from './component-health.js';
import { checkReadiness } from './readiness.js';
import type { Readiness } from './readiness-check.js';
import type { ReadinessMonitor } from './readiness-monitor.js';

/**
 * The parts of the daemon's context the view, readiness and the metrics read. Not `DaemonContext`
 * itself: that holds this view (`ops`), and naming it here would tie the two modules in a cycle.
 * A `DaemonContext` is one.
 */
export interface OpsSources {
  readonly config: Config;
  readonly clock: Clock;
  readonly db: Database;
  readonly reader: Database;
  readonly feed: ChangeFeed;
  readonly index: ScreeningIndex;
  readonly recorder: ScreenRecorder;
  readonly quarantine: QuarantineService;
  /** The shared PostgreSQL store when this node is one of several (issue #15). */
  readonly shared?: SharedStore;
}

export interface ChangeLag {
  /** Changes committed (max seq in the log) and not yet applied by this daemon. */
  readonly pending: number;
  /** Seconds since the feed last applied something, while changes are pending; 0 when caught up. */
  readonly lagSeconds: number;
  /** Seconds since the feed last polled (it polls every store.change_poll_ms, 50 ms by default). */
  readonly pollAgeSeconds: number;
}

export class OpsView {
  constructor(
    /** The running daemon's context (a getter: the view is built while the context is). */
    private readonly context: () => OpsSources,
    private readonly components: () => readonly Component[],
    /** Epoch ms when the daemon became ready (0 while starting). */
    private readonly readyAt: () => number,
  ) {}

  private monitor: ReadinessMonitor | null = null;

  get ctx(): OpsSources {
    return this.context();
  }

  /** The daemon's readiness monitor: /readyz then evaluates through it (store file checks, logs once per change). */
  attachMonitor(monitor: ReadinessMonitor): void {
    this.monitor = monitor;
  }

  /** What /readyz answers. */
  readiness(): Promise<Readiness> {
    return this.monitor ? this.monitor.evaluate() : checkReadiness(this);
  }

  componentHealth(): ComponentHealthReport[] {
    const out: ComponentHealthReport[] = [];
    for (const c of this.components()) {
      if (!c.health) continue;
      try {
        out.push({ component: c.name, ...c.health() });
      } catch (err) {
        out.push({
          component: c.name,
          ok: false,
          state: 'error',
          detail: { error: err instanceof Error ? err.message : String(err) },
        });
      }
    }
    return out;
  }

  changeLagSync(): { pollAgeSeconds: number; appliedAgeSeconds: number } {
    const s = this.ctx.feed.getStatus();
    const now = this.ctx.clock.now();
    return {
      pollAgeSeconds: s.lastPollAt ? Math.max(0, (now - s.lastPollAt) / 1000) : 0,
      appliedAgeSeconds: s.lastAppliedAt ? Math.max(0, (now - s.lastAppliedAt) / 1000) : 0,
    };
  }

  async changeLag(): Promise<ChangeLag> {
    const s = this.ctx.feed.getStatus();
    const top = (await this.ctx.reader.get<{ s: number | null }>('SELECT max(seq) AS s FROM changes'))?.s ?? 0;
    const pending = Math.max(0, top - s.lastSeq);
    const sync = this.changeLagSync();
    // No timestamp is kept per change, so the lag is measured from the last time memory caught up
    // (or the last poll when nothing was ever applied).
    const since = s.lastAppliedAt ? sync.appliedAgeSeconds : sync.pollAgeSeconds;
    return { pending, lagSeconds: pending > 0 ? since : 0, pollAgeSeconds: sync.pollAgeSeconds };
  }

  uptimeSeconds(): number {
    const at = this.readyAt();
    return at === 0 ? 0 : Math.max(0, (this.ctx.clock.now() - at) / 1000);
  }
}
