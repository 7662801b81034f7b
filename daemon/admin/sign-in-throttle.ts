/**
 * Sign-in throttling per user name + client address. After `freeFailures` failures (default 5) the
 * pair is locked for `baseLockMs` (default 60 s), doubling with each further failure up to
 * `maxLockMs` (default 1 h). A success clears the pair. State lives in this instance (one per
 * server), keyed so one attacker cannot lock a user out from every address.
 */
import type { Clock } from '../core/clock.js';

export interface ThrottleOptions {
  readonly freeFailures?: number;
  readonly baseLockMs?: number;
  readonly maxLockMs?: number;
  /** Pairs remembered at most (default 10,000); the oldest are forgotten first. */
  readonly maxKeys?: number;
}

interface State { failures: number; lockedUntil: number }

export class SignInThrottle {
  private readonly state = new Map<string, State>();
  private readonly freeFailures: number;
  private readonly baseLockMs: number;
  private readonly maxLockMs: number;
  private readonly maxKeys: number;

  constructor(private readonly clock: Clock, options: ThrottleOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5;
    this.baseLockMs = options.baseLockMs ?? 60_000;
    this.maxLockMs = options.maxLockMs ?? 3_600_000;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  private key(user: string, ip: string): string {
    return `${user.toLowerCase()}\u0000${ip}`;
  }

  /** Milliseconds until the pair may try again; 0 when it may try now. */
  retryAfterMs(user: string, ip: string): number {
    const s = this.state.get(this.key(user, ip));
    return s ? Math.max(0, s.lockedUntil - this.clock.now()) : 0;
  }

  recordFailure(user: string, ip: string): void {
    const k = this.key(user, ip);
    const s = this.state.get(k) ?? { failures: 0, lockedUntil: 0 };
    s.failures++;
    if (s.failures >= this.freeFailures) {
      const lock = Math.min(this.maxLockMs, this.baseLockMs * 2 ** (s.failures - this.freeFailures));
      s.lockedUntil = this.clock.now() + lock;
    }
    this.state.delete(k);
    this.state.set(k, s);
    if (this.state.size > this.maxKeys) {
      const oldest = this.state.keys().next().value;
      if (oldest !== undefined) this.state.delete(oldest);
    }
  }

  recordSuccess(user: string, ip: string): void {
    this.state.delete(this.key(user, ip));
  }
}
