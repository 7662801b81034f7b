/**
 * Flood and robocall detection (issue #16): watches the inbound calls the list let through and,
 * when one number (or its neighbours) calls too often, or one number calls many of the org's DIDs,
 * asks for a temporary automatic rule (a "hold") through `onHold`. It runs after the verdict, from
 * ScreeningService.record, and only counts in memory: it never delays a verdict and never waits on
 * anything. Writing the hold (SQLite, audit) is the FloodHolds writer's job, asynchronously.
 *
 * Signals (thresholds per org, daemon/core/flood-policy.ts):
 * - rate: one number, more than `maxCalls` calls within `windowMinutes` → hold that number;
 * - did-sweep: one number calling `didSweep` different DIDs of the org within the window → hold it;
 * - neighbours: numbers sharing all but their last `prefixDigits` digits, more than `prefixMaxCalls`
 *   calls from at least two of them within the window → hold the prefix;
 * - neighbour-spoofing (opt in): callers sharing the called DID's area code and exchange
 *   (+1 NPA NXX), more than `neighbourMaxCalls` calls from at least two of them → hold the exchange.
 *
 * Only calls allowed by default are counted (no rule matched): a caller already blocked, allowed,
 * protected or withheld is the list's business, not a flood's.
 *
 * Memory is bounded: at most `maxKeys` tracked keys (default 20,000; one per recent caller and one
 * per recent prefix), the oldest-touched dropped first, and each key keeps at most the threshold's
 * count of times (and numbers or DIDs). Measured: about 480 bytes per key with the default
 * thresholds (each caller calling twice), so about 10 MB at the default bound
 * (test/services/flood-detector.test.ts prints it when node runs with --expose-gc).
 */
import type { Clock } from '../core/clock.js';
import type { BlockMode } from '../core/entry.js';
import type { FloodPolicy } from '../core/flood-policy.js';
import type { ParsedCaller } from '../core/phone-number.js';
import type { Screened } from './screening-service.js';

export type FloodSignal = 'rate' | 'did-sweep' | 'neighbours' | 'neighbour-spoofing';

/** A temporary automatic rule the detector asks for. */
export interface FloodHold {
  readonly orgId: number;
  readonly org: string;
  /** exact: one number; prefix: its neighbours or the DID's exchange. */
  readonly kind: 'exact' | 'prefix';
  /** E.164 number, or a `+digits` prefix. */
  readonly value: string;
  readonly signal: FloodSignal;
  /** Calls (for did-sweep: different DIDs) counted within the window when it tripped. */
  readonly count: number;
  /** Distinct numbers among those calls (1 for rate and did-sweep). */
  readonly numbers: number;
  readonly windowMinutes: number;
  /** Epoch ms: when it tripped, and when the hold ends by itself. */
  readonly at: number;
  readonly expiresAt: number;
  readonly mode: BlockMode;
}

/** One call as the detector counts it. */
export interface FloodCall {
  readonly orgId: number;
  readonly org: string;
  /** The caller, E.164. */
  readonly caller: string;
  /** The DID called, E.164, or '' when it could not be read. */
  readonly did: string;
}

export interface FloodDetectorDeps {
  readonly clock: Clock;
  /** The org's effective policy: read on every call, so it must answer from memory. */
  readonly policy: (orgId: number) => FloodPolicy;
  /** Reads the DID called with the org's region (the hot path's parser: never throws). */
  readonly parseNumber: (raw: string, region: string) => ParsedCaller;
  readonly onHold: (hold: FloodHold) => void;
  /** Most keys tracked at once (default DEFAULT_MAX_KEYS). */
  readonly maxKeys?: number;
}

/** Default bound on tracked keys: about 10 MB with the default thresholds. */
export const DEFAULT_MAX_KEYS = 20_000;

/** What is kept per key: call times (oldest first) and, per call, the number or the DID. */
interface Track {
  times: number[];
  tags: string[];
}

export interface FloodDetectorStats {
  /** Keys tracked now (callers and prefixes). */
  readonly tracked: number;
  /** Holds asked for since start, by signal. */
  readonly holds: Readonly<Record<FloodSignal, number>>;
  /** Keys dropped to stay within maxKeys. */
  readonly evicted: number;
}

export class FloodDetector {
  private readonly tracks = new Map<string, Track>();
  /** Keys held (or being written) until the hold's expiry: no second hold for them meanwhile. */
  private readonly held = new Map<string, number>();
  private readonly maxKeys: number;
  private evicted = 0;
  private readonly holds: Record<FloodSignal, number> = {
    rate: 0,
    'did-sweep': 0,
    neighbours: 0,
    'neighbour-spoofing': 0,
  };

  constructor(private readonly deps: FloodDetectorDeps) {
    this.maxKeys = deps.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  stats(): FloodDetectorStats {
    return { tracked: this.tracks.size, holds: { ...this.holds }, evicted: this.evicted };
  }

  /** Fed by ScreeningService.record after every verdict; picks the calls worth counting. Never throws. */
  observeScreened(s: Screened): void {
    try {
      if (s.fallback !== null || !s.org) return;
      const { req, verdict } = s;
      if (req.channel !== 'call' || req.direction !== 'inbound') return;
      if (verdict.action !== 'allow' || verdict.rule !== null || !verdict.normalized.startsWith('+')) return;
      const did = this.deps.parseNumber(req.to, s.org.org.policy.region);
      this.observe({
        orgId: s.org.org.id,
        org: s.org.org.slug,
        caller: verdict.normalized,
        did: did.kind === 'number' ? did.value : '',
      });
    } catch {
      // Counting is best effort: a fault here must never reach the call path.
    }
  }

  /** Counts one call and asks for the holds it trips. */
  observe(call: FloodCall): void {
    const policy = this.deps.policy(call.orgId);
    if (!policy.enabled) return;
    const now = this.deps.clock.now();
    const windowMs = policy.windowMinutes * 60_000;
    const since = now - windowMs;
    const o = call.orgId;

    // rate and did-sweep share the caller's key: times of its calls, tagged with the DID called.
    const mine = this.touch(`${o}|n|${call.caller}`);
    push(mine, now, call.did, since, Math.max(policy.maxCalls + 1, policy.didSweep * 2));
    const inWindow = mine.times.length;
    if (inWindow > policy.maxCalls) {
      this.trip(call, policy, 'exact', call.caller, 'rate', inWindow, 1, now);
    } else if (call.did !== '') {
      const dids = new Set(mine.tags.filter((d) => d !== '')).size;
      if (dids >= policy.didSweep) this.trip(call, policy, 'exact', call.caller, 'did-sweep', dids, 1, now);
    }

    const digits = call.caller.length - 1;
    if (digits > policy.prefixDigits + 3) {
      const prefix = call.caller.slice(0, call.caller.length - policy.prefixDigits);
      const t = this.touch(`${o}|p|${prefix}`);
      push(t, now, call.caller, since, policy.prefixMaxCalls + 1);
      const numbers = new Set(t.tags).size;
      if (t.times.length > policy.prefixMaxCalls && numbers >= 2)
        this.trip(call, policy, 'prefix', prefix, 'neighbours', t.times.length, numbers, now);
    }

    if (policy.neighbour && isNanp(call.caller) && isNanp(call.did) && call.caller !== call.did) {
      const exchange = call.caller.slice(0, 8);
      if (call.did.startsWith(exchange)) {
        const t = this.touch(`${o}|x|${exchange}`);
        push(t, now, call.caller, since, policy.neighbourMaxCalls + 1);
        const numbers = new Set(t.tags).size;
        if (t.times.length > policy.neighbourMaxCalls && numbers >= 2) {
          this.trip(call, policy, 'prefix', exchange, 'neighbour-spoofing', t.times.length, numbers, now);
        }
      }
    }
  }

  private trip(
    call: FloodCall,
    policy: FloodPolicy,
    kind: 'exact' | 'prefix',
    value: string,
    signal: FloodSignal,
    count: number,
    numbers: number,
    now: number,
  ): void {
    const key = `${call.orgId}|${kind}|${value}`;
    const until = this.held.get(key);
    if (until !== undefined && until > now) return;
    const expiresAt = now + policy.holdMinutes * 60_000;
    this.held.delete(key);
    this.held.set(key, expiresAt);
    if (this.held.size > this.maxKeys) this.dropOldest(this.held);
    this.holds[signal]++;
    this.deps.onHold({
      orgId: call.orgId,
      org: call.org,
      kind,
      value,
      signal,
      count,
      numbers,
      windowMinutes: policy.windowMinutes,
      at: now,
      expiresAt,
      mode: policy.mode,
    });
  }

  /** The key's track, moved to the newest end (Map order is the eviction order). */
  private touch(key: string): Track {
    let t = this.tracks.get(key);
    if (t) {
      this.tracks.delete(key);
    } else {
      t = { times: [], tags: [] };
      if (this.tracks.size >= this.maxKeys) {
        this.dropOldest(this.tracks);
        this.evicted++;
      }
    }
    this.tracks.set(key, t);
    return t;
  }

  private dropOldest(map: Map<string, unknown>): void {
    const first = map.keys().next();
    if (!first.done) map.delete(first.value);
  }
}

/** Adds a call, drops those before `since`, keeps at most `max` (the newest). */
function push(t: Track, now: number, tag: string, since: number, max: number): void {
  t.times.push(now);
  t.tags.push(tag);
  let drop = 0;
  while (drop < t.times.length && (t.times[drop] ?? now) <= since) drop++;
  drop = Math.max(drop, t.times.length - max);
  if (drop > 0) {
    t.times.splice(0, drop);
    t.tags.splice(0, drop);
  }
}

/** +1 and ten digits: a North American number, whose first 8 characters are +1 NPA NXX. */
function isNanp(n: string): boolean {
  return n.length === 12 && n.startsWith('+1');
}
