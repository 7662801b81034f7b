/**
 * Bounds password hashing. scrypt runs on libuv's thread pool (4 threads by default), which
 * node-sqlite3 and file I/O share: a flood of sign-ins hashing on every thread would make every
 * database read wait behind it (issue #13). At most `maxConcurrent` hashes run at once (default 2,
 * leaving the other pool threads free), at most `maxQueued` wait (default 8: with ~50 ms a hash,
 * under 250 ms of queue); anything beyond is refused at once with 429 and Retry-After rather than
 * queued without end.
 */
import { CallscreenError } from '../core/errors.js';

export interface HashGateOptions {
  readonly maxConcurrent?: number;
  readonly maxQueued?: number;
}

export class HashGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  /** Requests refused because the gate and its queue were full. */
  refused = 0;
  /** Most hashes that ever ran at once (never above maxConcurrent). */
  peak = 0;
  /** Hashes run. */
  runs = 0;

  constructor(options: HashGateOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? 2;
    this.maxQueued = options.maxQueued ?? 8;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueued) {
        this.refused++;
        throw new CallscreenError('CS_ERR_THROTTLED', 'too many sign-ins at once; try again in 1 s', {
          retryAfterSeconds: 1,
          reason: 'busy',
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    this.runs++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter (active stays the same), else free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  stats(): { active: number; queued: number; refused: number; peak: number; runs: number } {
    return {
      active: this.active,
      queued: this.waiting.length,
      refused: this.refused,
      peak: this.peak,
      runs: this.runs,
    };
  }
}
