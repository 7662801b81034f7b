/**
 * The one fake of time for tests: a Clock and Scheduler that moves only when a test says so.
 * `advance(ms)` moves the clock and fires every timeout and interval due, earliest first, with
 * `now()` at each one's due time; `set(ms)` jumps the clock without firing anything.
 */
import type { Scheduler } from '../../daemon/core/clock.js';

interface Armed {
  at: number;
  readonly ms: number;
  readonly fn: () => void;
  /** Interval period (ms); null for a timeout. */
  readonly every: number | null;
}

export class ManualClock implements Scheduler {
  private seq = 0;
  private readonly active = new Map<number, Armed>();
  /** Every timeout delay ever asked for, in order (ms). */
  readonly scheduled: number[] = [];

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  set(ms: number): void {
    this.current = ms;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.active.set(id, { at: this.current + ms, ms, fn, every: null });
    this.scheduled.push(ms);
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (this.active.get(handle as number)?.every === null) this.active.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.active.set(id, { at: this.current + ms, ms, fn, every: ms });
    return id;
  }

  clearInterval(handle: unknown): void {
    if (typeof this.active.get(handle as number)?.every === 'number') this.active.delete(handle as number);
  }

  /** How many timeouts are armed now. */
  get pending(): number {
    return this.armed().length;
  }

  /** Delays (ms) of the timeouts armed now, in the order they were armed. */
  armed(): number[] {
    return [...this.active.values()].filter((x) => x.every === null).map((x) => x.ms);
  }

  /** Periods (ms) of the intervals running now, in the order they were started. */
  intervals(): number[] {
    return [...this.active.values()].filter((x) => x.every !== null).map((x) => x.ms);
  }

  /** Moves time on by `ms`, firing every timer due, earliest first (an interval as often as it is due). */
  advance(ms: number): void {
    const until = this.current + ms;
    for (;;) {
      const due = [...this.active.entries()].filter(([, x]) => x.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, x] = due;
      this.current = Math.max(this.current, x.at);
      if (x.every === null) this.active.delete(id);
      else x.at += x.every;
      x.fn();
    }
    this.current = until;
  }
}
