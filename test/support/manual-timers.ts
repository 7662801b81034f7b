/**
 * One-shot timers that fire only when a test advances time, so backoff, handshake and command
 * timeouts are tested without sleeping. `scheduled` keeps every delay ever asked for, in order.
 */
import type { OneShotTimers } from '../../daemon/pbx/one-shot-timers.js';

export class ManualOneShotTimers implements OneShotTimers {
  private now = 0;
  private seq = 0;
  private readonly active = new Map<number, { at: number; ms: number; fn: () => void }>();
  readonly scheduled: number[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.active.set(id, { at: this.now + ms, ms, fn });
    this.scheduled.push(ms);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.active.delete(handle as number);
  }

  /** How many timers are armed now. */
  get pending(): number {
    return this.active.size;
  }

  /** Delays (ms) of the timers armed now, in the order they were armed. */
  armed(): number[] {
    return [...this.active.values()].map((x) => x.ms);
  }

  /** Moves time on by `ms`, firing every timer due, earliest first. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.active.entries()].filter(([, x]) => x.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.active.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
}
