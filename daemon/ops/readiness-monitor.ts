/**
 * Evaluates readiness on a timer (every `intervalMs`, 5 s by default) and on each /readyz, and logs
 * once per change of state — a check going bad (warn, with its reason and what to do), coming
 * back (info) — never once per probe: a scrape every second while the disk is full must not fill
 * the journal that is already out of room. Concurrent evaluations share one run.
 */
import type { Logger } from 'pino';
import type { Scheduler } from '../core/clock.js';
import { checkReadiness, readinessFix } from './readiness.js';
import type { Readiness, ReadinessSubject } from './readiness-check.js';
import type { StoreHealth } from './store-health.js';

/** Default period of the background evaluation (ms). */
export const READINESS_INTERVAL_MS = 5000;

export class ReadinessMonitor {
  /** name → reason of each failing check ('' for ok), as last logged. */
  private readonly state = new Map<string, string>();
  private running: Promise<Readiness> | null = null;
  private handle: unknown = null;
  private latest: Readiness | null = null;

  constructor(
    private readonly view: ReadinessSubject,
    private readonly storeHealth: StoreHealth | null,
    private readonly logger: Logger,
    private readonly timers: Scheduler,
    private readonly intervalMs = READINESS_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.handle !== null) return;
    this.handle = this.timers.setInterval(() => {
      this.evaluate().catch((err: unknown) => this.logger.error({ err }, 'readiness evaluation failed'));
    }, this.intervalMs);
  }

  stop(): Promise<unknown> {
    if (this.handle !== null) this.timers.clearInterval(this.handle);
    this.handle = null;
    return this.running ?? Promise.resolve();
  }

  /** The last evaluation (null before the first). */
  last(): Readiness | null {
    return this.latest;
  }

  evaluate(): Promise<Readiness> {
    this.running ??= checkReadiness(this.view, this.storeHealth)
      .then((r) => {
        this.record(r);
        this.latest = r;
        return r;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private record(r: Readiness): void {
    const wasReady = this.latest?.ready ?? true;
    for (const c of r.checks) {
      const now = c.ok ? '' : (c.reason ?? 'failing');
      const before = this.state.get(c.name) ?? '';
      if (now === before) continue;
      this.state.set(c.name, now);
      if (now !== '')
        this.logger.warn(
          { check: c.name, reason: now, detail: c.detail, fix: readinessFix(now) },
          `not ready: ${c.name} ${now}: ${c.detail}`,
        );
      else this.logger.info({ check: c.name, was: before, detail: c.detail }, `${c.name} ok again (was ${before})`);
    }
    if (wasReady !== r.ready) {
      const failing = r.checks.filter((c) => !c.ok).map((c) => `${c.name}:${c.reason ?? 'failing'}`);
      if (r.ready) this.logger.info('ready: every readiness check passes');
      else this.logger.warn({ failing }, `not ready (${failing.join(', ')}); still screening from memory`);
    }
  }
}
