/**
 * Sign-in throttling that rotating names or addresses does not defeat. Three independent budgets,
 * all on the injected clock:
 * - per account (user name, any address): after `accountFreeFailures` (default 10) failures the
 *   name is locked for `baseLockMs` (60 s), doubling per further failure up to `accountMaxLockMs`
 *   (15 min). Rotating addresses does not reset it. It lets an attacker lock a user out for a while;
 *   that is the price of stopping a distributed guess at one password (docs/admin.md threat model).
 * - per address (IPv4, or the IPv6 /64 — one host gets a whole /64): after `addressFreeFailures`
 *   (default 20) failures, the same doubling up to `maxLockMs` (1 h). Rotating names does not reset it.
 * - a global budget for names that do not exist: `unknownPerMinute` (default 30) tries a minute
 *   for all of them together (a token bucket). Random names from many addresses are refused with
 *   429 once it is spent, before any password hashing.
 * A success clears the account's failures (not the address's: one good password does not buy an
 * address fresh guesses at other names). State is bounded (`maxKeys` per map, oldest forgotten).
 */
import type { Clock } from '../core/clock.js';

export interface ThrottleOptions {
  readonly accountFreeFailures?: number;
  readonly addressFreeFailures?: number;
  readonly baseLockMs?: number;
  readonly accountMaxLockMs?: number;
  readonly maxLockMs?: number;
  readonly unknownPerMinute?: number;
  /** Keys remembered per map at most (default 10,000); the oldest are forgotten first. */
  readonly maxKeys?: number;
}

export type ThrottleReason = 'account' | 'address' | 'unknown';

interface State {
  failures: number;
  lockedUntil: number;
}

/** The address a budget is kept for: IPv4 as is, IPv6 by its /64 (a host is handed a whole /64). */
export function addressKey(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4?.[1] !== undefined) return v4[1];
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return (
    groups
      .slice(0, 4)
      .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
      .join(':') + '::/64'
  );
}

class FailureMap {
  private readonly state = new Map<string, State>();
  constructor(
    private readonly clock: Clock,
    private readonly free: number,
    private readonly base: number,
    private readonly max: number,
    private readonly maxKeys: number,
  ) {}

  retryAfterMs(key: string): number {
    const s = this.state.get(key);
    return s ? Math.max(0, s.lockedUntil - this.clock.now()) : 0;
  }

  fail(key: string): void {
    const s = this.state.get(key) ?? { failures: 0, lockedUntil: 0 };
    s.failures++;
    if (s.failures >= this.free)
      s.lockedUntil = this.clock.now() + Math.min(this.max, this.base * 2 ** (s.failures - this.free));
    this.state.delete(key);
    this.state.set(key, s);
    if (this.state.size > this.maxKeys) {
      const oldest = this.state.keys().next().value;
      if (oldest !== undefined) this.state.delete(oldest);
    }
  }

  clear(key: string): void {
    this.state.delete(key);
  }
}

export class SignInThrottle {
  private readonly accounts: FailureMap;
  private readonly addresses: FailureMap;
  private readonly unknownPerMinute: number;
  private unknownTokens: number;
  private unknownRefilledAt: number;

  constructor(
    private readonly clock: Clock,
    options: ThrottleOptions = {},
  ) {
    const base = options.baseLockMs ?? 60_000;
    const maxKeys = options.maxKeys ?? 10_000;
    this.accounts = new FailureMap(
      clock,
      options.accountFreeFailures ?? 10,
      base,
      options.accountMaxLockMs ?? 15 * 60_000,
      maxKeys,
    );
    this.addresses = new FailureMap(
      clock,
      options.addressFreeFailures ?? 20,
      base,
      options.maxLockMs ?? 3_600_000,
      maxKeys,
    );
    this.unknownPerMinute = options.unknownPerMinute ?? 30;
    this.unknownTokens = this.unknownPerMinute;
    this.unknownRefilledAt = clock.now();
  }

  /** Why and how long (ms) this name/address must wait before trying; null when it may try now. */
  check(user: string, ip: string): { reason: ThrottleReason; retryAfterMs: number } | null {
    const address = this.addresses.retryAfterMs(addressKey(ip));
    if (address > 0) return { reason: 'address', retryAfterMs: address };
    const account = this.accounts.retryAfterMs(user.toLowerCase());
    if (account > 0) return { reason: 'account', retryAfterMs: account };
    return null;
  }

  /**
   * Takes one try from the global unknown-name budget; null when there was one, else how long
   * until the next. Called only for names that do not exist.
   */
  takeUnknown(): { reason: ThrottleReason; retryAfterMs: number } | null {
    const now = this.clock.now();
    const perMs = this.unknownPerMinute / 60_000;
    this.unknownTokens = Math.min(this.unknownPerMinute, this.unknownTokens + (now - this.unknownRefilledAt) * perMs);
    this.unknownRefilledAt = now;
    if (this.unknownTokens >= 1) {
      this.unknownTokens -= 1;
      return null;
    }
    return { reason: 'unknown', retryAfterMs: Math.ceil((1 - this.unknownTokens) / perMs) };
  }

  recordFailure(user: string, ip: string): void {
    this.accounts.fail(user.toLowerCase());
    this.addresses.fail(addressKey(ip));
  }

  recordSuccess(user: string): void {
    this.accounts.clear(user.toLowerCase());
  }
}
