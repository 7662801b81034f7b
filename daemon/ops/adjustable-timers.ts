/**
 * A scheduler whose interval period can be changed after the fact, so a reloaded config can change
 * how often the change feed polls and the recorder flushes without rebuilding either (they arm one
 * interval at start and keep it). Time and timeouts pass through to the scheduler it wraps.
 */
import type { Scheduler } from '../core/clock.js';

interface Armed {
  fn: () => void;
  inner: unknown;
}

export class AdjustableTimers implements Scheduler {
  private readonly armed = new Set<Armed>();

  constructor(
    private readonly base: Scheduler,
    private periodMs: number | null = null,
  ) {}

  now(): number {
    return this.base.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.base.setTimeout(fn, ms);
  }

  clearTimeout(handle: unknown): void {
    this.base.clearTimeout(handle);
  }

  setInterval(fn: () => void, ms: number): unknown {
    const a: Armed = { fn, inner: this.base.setInterval(fn, this.periodMs ?? ms) };
    this.armed.add(a);
    return a;
  }

  clearInterval(handle: unknown): void {
    const a = handle as Armed;
    if (!this.armed.delete(a)) return;
    this.base.clearInterval(a.inner);
  }

  /** Re-arms every live interval with the new period (ms); later ones use it too. */
  setPeriod(ms: number): void {
    if (ms === this.periodMs) return;
    this.periodMs = ms;
    for (const a of this.armed) {
      this.base.clearInterval(a.inner);
      a.inner = this.base.setInterval(a.fn, ms);
    }
  }
}
