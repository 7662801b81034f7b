/**
 * The deadlines of every open FastAGI session on one periodic sweep, instead of two timers per
 * session (Node's socket idle timeout, re-armed on every read and write, and a timer for the
 * environment). A call's session lasts about a millisecond and nearly never reaches either deadline,
 * so arming and clearing timers for each call was work spent on nothing; here a session costs a Map
 * entry and a counter bumped per chunk, and the sweep runs while sessions are open, every
 * `sweepPeriodMs(idle)` (a fifth of idle_timeout_ms, 20–1,000 ms).
 *
 * What a session is held to (fastagi.idle_timeout_ms, read per connection):
 * - silence: no chunk read and no command written for `idleMs`;
 * - the environment: complete within `idleMs` of the accept (a peer dripping one byte at a time
 *   would otherwise hold a connection for hours).
 * Either fails the session (its socket is destroyed; Asterisk applies its dialplan fail mode). A
 * deadline is never enforced early, and at most two sweep periods late.
 *
 * Time is read from `now` (ms), which must be monotonic in production (a wall-clock step forward would
 * cut every open session at once); tests pass the fake clock that also fires the sweep.
 */
import type { Scheduler } from '../../core/clock.js';
import { AgiProtocolError } from './agi-session.js';

/** What the sweep needs of a session (AgiSession). */
export interface DeadlinedSession {
  /** Bumped on every chunk read and command written. */
  readonly activity: number;
  /** The blank line that ends the environment has arrived. */
  readonly environmentComplete: boolean;
  fail(err: Error): void;
}

interface Entry {
  readonly idleMs: number;
  /** When (`now()`, ms) the environment must be complete by. */
  readonly envDeadline: number;
  /** `activity` as the last sweep saw it, and since when (`now()`, ms) it has not moved. */
  seenActivity: number;
  quietSince: number;
}

/** The sweep period for an idle timeout (ms): a fifth of it, within 20–1,000 ms. */
export function sweepPeriodMs(idleMs: number): number {
  return Math.min(1000, Math.max(20, Math.floor(idleMs / 5)));
}

export class AgiDeadlines {
  private readonly sessions = new Map<DeadlinedSession, Entry>();
  private interval: unknown = null;
  private periodMs = 0;

  constructor(
    private readonly timers: Scheduler,
    private readonly now: () => number,
  ) {}

  /** Sessions held to a deadline now (for tests and health). */
  get size(): number {
    return this.sessions.size;
  }

  /** Holds a session just accepted to `idleMs` (both deadlines). */
  track(session: DeadlinedSession, idleMs: number): void {
    const now = this.now();
    this.sessions.set(session, {
      idleMs,
      envDeadline: now + idleMs,
      seenActivity: session.activity,
      quietSince: now,
    });
    const period = sweepPeriodMs(idleMs);
    if (this.interval === null || period < this.periodMs) this.arm(period);
  }

  /** The session has closed: nothing more to watch. */
  untrack(session: DeadlinedSession): void {
    this.sessions.delete(session);
  }

  /** Stops the sweep (server stopped); sessions left are cut by their owner. */
  stop(): void {
    if (this.interval !== null) this.timers.clearInterval(this.interval);
    this.interval = null;
    this.sessions.clear();
  }

  private arm(period: number): void {
    if (this.interval !== null) this.timers.clearInterval(this.interval);
    this.periodMs = period;
    this.interval = this.timers.setInterval(() => this.sweep(), period);
  }

  private sweep(): void {
    const now = this.now();
    const expired: Array<[DeadlinedSession, AgiProtocolError]> = [];
    for (const [session, e] of this.sessions) {
      if (session.activity !== e.seenActivity) {
        e.seenActivity = session.activity;
        e.quietSince = now;
      }
      if (!session.environmentComplete && now >= e.envDeadline) {
        expired.push([session, new AgiProtocolError('environment not complete within idle_timeout_ms', 'idle')]);
      } else if (now - e.quietSince >= e.idleMs) {
        expired.push([session, new AgiProtocolError('idle timeout', 'idle')]);
      }
    }
    // Failed outside the walk: a failure closes the socket, whose close handler untracks it.
    for (const [session, err] of expired) {
      this.sessions.delete(session);
      session.fail(err);
    }
    // Nothing left to watch: the sweep stops until the next session (an idle daemon wakes for nothing).
    if (this.sessions.size === 0 && this.interval !== null) {
      this.timers.clearInterval(this.interval);
      this.interval = null;
    }
  }
}
