/**
 * The FastAGI server Asterisk asks on every call and SMS (default 127.0.0.1:4573; routes in
 * fastagi-routes.ts, wire format in agi-protocol.ts, one connection in agi-session.ts).
 *
 * Bounds, so that the PBX is never held and the daemon never grows:
 * - at most `fastagi.max_connections` sockets; beyond that a connection is closed at once (Asterisk
 *   then has AGISTATUS=FAILURE and its dialplan fails open);
 * - a socket silent for `fastagi.idle_timeout_ms`, or whose environment is not complete by then, is
 *   destroyed (one sweep for every session, agi-deadlines.ts); lines over 8 KiB, more than 128
 *   environment lines or anything that is not AGI end the session;
 * - verdicts come from memory (ScreeningService): nothing on the way waits on SQLite; what the list
 *   cannot answer (no org, an error, a message that could not be held) gets the fail-mode verdict
 *   (`screening.fail_mode`), counted and logged.
 * Settings are read from `config()` per connection, so a reload (SIGHUP) applies them live, except
 * `listen`.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { VERDICT_ACTIONS, type VerdictAction } from '../../core/verdict.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import { systemScheduler, type Scheduler } from '../../core/clock.js';
import { listenAddress, listenOn } from '../../net/listen.js';
import { scriptOf } from './agi-protocol.js';
import { AgiDeadlines } from './agi-deadlines.js';
import { AgiProtocolError, AgiSession } from './agi-session.js';
import { blockCaller } from './handset-route.js';
import { ROUTES, type RouteContext, type RouteDeps, type RouteOutcome } from './fastagi-routes.js';

export interface FastAgiDeps extends RouteDeps {
  /** The current config (changes on reload). */
  readonly config: () => Config;
  readonly logger: Logger;
  /** Its deadlines: the sessions' sweep (silence, environment), the stop grace, the refused-connection log window (ms). System scheduler by default. */
  readonly timers?: Scheduler;
  /** A monotonic clock in ms with sub-ms precision (default performance.now). */
  readonly monotonicMs?: () => number;
  /**
   * How long a new connection is left unread (ms, default FIRST_READ_HOLD_MS; 0: read at once), on
   * `timers`. Asterisk writes the AGI environment one write() per line, ~25 of them; read as they
   * come, they cost the daemon several wake-ups per call, each a read and a parse of a few lines.
   */
  readonly firstReadHoldMs?: number;
}

export interface FastAgiCounters {
  /** Open connections now. */
  connections: number;
  accepted: number;
  /** Closed at once because max_connections were open. */
  refused: number;
  /** Sessions that ended in a protocol error (garbage, overlong line, idle, unknown route). */
  protocolErrors: number;
  /** Screening errors (exceptions, failed quarantine writes). */
  errors: number;
  /** Verdicts given by fail mode (unknown org, error, hold failed): open and closed. */
  failOpen: number;
  failClosed: number;
  unknownOrg: number;
  /** Callers who hung up before the answer was complete. */
  hangups: number;
  verdicts: Record<VerdictAction, number>;
}

/** Refused connections are logged at most once per this many ms, with the count since the last line. */
export const REFUSED_LOG_MS = 1000;

/**
 * A new connection is read this long after it was accepted (ms): by then Asterisk has written the
 * whole environment (its writes follow its connect within ~0.1 ms), so it arrives in one read.
 * It adds at most this much to the call's post-dial delay, against hundreds of ms of SIP signalling.
 */
export const FIRST_READ_HOLD_MS = 1;

/** How long stop() lets sessions in flight finish before it closes their sockets (ms). */
export const STOP_GRACE_MS = 2000;

export class FastAgiServer {
  readonly name = 'fastagi';
  readonly counters: FastAgiCounters = {
    connections: 0,
    accepted: 0,
    refused: 0,
    protocolErrors: 0,
    errors: 0,
    failOpen: 0,
    failClosed: 0,
    unknownOrg: 0,
    hangups: 0,
    verdicts: Object.fromEntries(VERDICT_ACTIONS.map((a) => [a, 0])) as Record<VerdictAction, number>,
  };
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly timers: Scheduler;
  private readonly deadlines: AgiDeadlines;
  private readonly monotonicMs: () => number;
  private readonly holdMs: number;
  private bound: { host: string; port: number } | null = null;
  /** Refusals not yet in a log line, and the timer that writes the next one (null: none pending). */
  private refusedUnlogged = 0;
  private refusedLogTimer: unknown = null;

  constructor(private readonly deps: FastAgiDeps) {
    this.timers = deps.timers ?? systemScheduler;
    this.monotonicMs = deps.monotonicMs ?? (() => performance.now());
    this.holdMs = deps.firstReadHoldMs ?? FIRST_READ_HOLD_MS;
    // The sessions' deadlines on a monotonic clock, as Node's own timers were (not the system
    // scheduler's epoch ms, which a clock step would move); a test that injects the scheduler moves
    // their time with it. Not `monotonicMs`: that one times the histogram, and tests move it alone.
    const timers = this.timers;
    this.deadlines = new AgiDeadlines(timers, deps.timers ? () => timers.now() : () => performance.now());
  }

  /** Where it listens (after start); port 0 in the config picks a free one (tests). */
  address(): { host: string; port: number } {
    if (!this.bound) throw new Error('FastAGI server not started');
    return this.bound;
  }

  async start(): Promise<void> {
    // pauseOnConnect: nothing is read from a new connection until accept() resumes it (holdMs).
    const server = net.createServer({ noDelay: true, pauseOnConnect: this.holdMs > 0 }, (sock) => this.accept(sock));
    // A deep accept queue (LISTEN_BACKLOG): a burst of calls must not have its SYNs dropped.
    const a = await listenOn(server, listenAddress(this.deps.config().fastagi.listen));
    server.on('error', (err) => this.deps.logger.error({ err }, 'FastAGI server error'));
    this.bound = { host: a.address, port: a.port };
    this.server = server;
    this.deps.logger.info({ listen: `${a.address}:${a.port}` }, 'FastAGI listening');
  }

  /** Stops accepting, lets sessions in flight finish (bounded by their own timeouts), then closes the rest. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (this.refusedLogTimer !== null) this.timers.clearTimeout(this.refusedLogTimer);
    this.refusedLogTimer = null;
    this.logRefused();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Sessions in flight get up to 2 s (STOP_GRACE_MS) to answer before their sockets are cut.
    let grace: unknown = null;
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise<void>((r) => {
        grace = this.timers.setTimeout(r, STOP_GRACE_MS);
      }),
    ]);
    this.timers.clearTimeout(grace);
    for (const s of this.sockets) s.destroy();
    this.deadlines.stop();
    await closed;
  }

  health(): ComponentHealth {
    const c = this.counters;
    return {
      ok: this.server !== null,
      state: this.server ? 'listening' : 'stopped',
      detail: {
        connections: c.connections,
        accepted: c.accepted,
        refused: c.refused,
        failOpen: c.failOpen,
        failClosed: c.failClosed,
        unknownOrg: c.unknownOrg,
        errors: c.errors,
        protocolErrors: c.protocolErrors,
      },
    };
  }

  /** Read per connection from config(): nothing to do but say so. `listen` needs a restart. */
  reload(_config: Config, changed: readonly string[]): readonly string[] {
    return changed.filter((k) => k.startsWith('fastagi.') && k !== 'fastagi.listen' && k !== 'fastagi.enabled');
  }

  private accept(sock: net.Socket): void {
    const cfg = this.deps.config().fastagi;
    if (this.sockets.size >= cfg.max_connections) {
      this.counters.refused++;
      sock.destroy();
      this.noteRefused();
      return;
    }
    this.counters.accepted++;
    this.counters.connections++;
    this.sockets.add(sock);
    // The session's clock starts here, not at the environment: callscreen_verdict_duration_seconds
    // times what Asterisk waits for (environment sent, verdict computed, its commands answered).
    const acceptedAt = this.monotonicMs();
    const session = new AgiSession(sock);
    // Silence and the environment are held to idle_timeout_ms by the one sweep, not timers per call.
    // The idle timeout restarts with every byte, so a peer dripping one byte at a time would hold
    // the connection for hours: the whole environment must also arrive within idle_timeout_ms.
    this.deadlines.track(session, cfg.idle_timeout_ms);
    if (this.holdMs > 0)
      this.timers.setTimeout(() => {
        if (!sock.destroyed) sock.resume();
      }, this.holdMs);
    sock.on('close', () => {
      this.sockets.delete(sock);
      this.deadlines.untrack(session);
      this.counters.connections--;
    });
    const p = this.serve(session, sock, acceptedAt).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async serve(session: AgiSession, sock: net.Socket, acceptedAt: number): Promise<void> {
    let env;
    try {
      env = await session.environment();
    } catch (err) {
      this.protocolError(err, sock);
      return;
    }
    const t0 = this.monotonicMs();
    const config = this.deps.config();
    const script = scriptOf(env);
    if (!script) {
      this.counters.protocolErrors++;
      this.deps.logger.warn(
        { request: (env.agi_request ?? '').slice(0, 200) },
        'FastAGI request for an unknown script',
      );
      session.fail(new AgiProtocolError('unknown script', 'not-agi'));
      return;
    }
    const ctx: RouteContext = {
      env,
      session,
      config,
      deps: this.deps,
      elapsedUs: () => (this.monotonicMs() - t0) * 1000,
    };
    if (script === 'block-caller') {
      // A feature code, not a screening: no verdict to count or record (the block is audited).
      try {
        await blockCaller(ctx, this.deps.logger);
      } catch (err) {
        this.counters.errors++;
        this.deps.logger.warn(
          { err, script, callId: env.agi_uniqueid },
          'FastAGI session failed before the answer was complete',
        );
      }
      session.end();
      return;
    }
    let outcome: RouteOutcome | undefined;
    try {
      outcome = await ROUTES[script](ctx);
    } catch (err) {
      // The connection broke while answering: the dialplan applies its own fail mode.
      this.counters.errors++;
      this.deps.logger.warn(
        { err, script, callId: env.agi_uniqueid },
        'FastAGI session failed before the answer was complete',
      );
    }
    if (outcome) this.finish(script, outcome, session, (this.monotonicMs() - acceptedAt) * 1000);
    if (session.hungUp) this.counters.hangups++;
    // AGI ends when the server closes: Asterisk then sets AGISTATUS=SUCCESS and goes on.
    session.end();
  }

  private finish(script: string, o: RouteOutcome, session: AgiSession, sessionUs: number): void {
    const s = o.screened;
    const v = s.verdict;
    const c = this.counters;
    c.verdicts[v.action]++;
    if (v.failMode === 'open' && s.fallback !== null) c.failOpen++;
    if (v.failMode === 'closed') c.failClosed++;
    if (s.fallback === 'unknown-org') c.unknownOrg++;
    if (s.fallback === 'error' || s.fallback === 'hold-failed') c.errors++;
    // Records (latency_us: environment → verdict), counts by fail mode and logs every fail-mode
    // answer at warn (with why); the histogram observes the whole session (accept → last answer).
    this.deps.screening.record(s, 'fastagi', o.latencyUs, this.deps.logger, sessionUs);
    // One line, no child logger: a child per call (its bindings serialised each time) cost more than
    // the line itself; a busy site that sets log.level = "warn" builds nothing at all.
    if (s.fallback !== null || !this.deps.logger.isLevelEnabled('info')) return;
    this.deps.logger.info(
      {
        org: s.req.org || null,
        callId: s.req.callId ?? null,
        from: s.req.from,
        to: s.req.to,
        script,
        action: v.action,
        rule: v.rule ? `${v.rule.kind}:${v.rule.id}` : null,
        reason: v.reason,
        latencyUs: Math.round(o.latencyUs),
        sessionUs: Math.round(sessionUs),
        commands: session.commands,
        ...(session.hungUp ? { hungUp: true } : {}),
      },
      'screened',
    );
  }

  /**
   * A refused connection is a call Asterisk's dialplan lets through unscreened (fail open), so it
   * must be seen, but a flood of them must not flood the log: the first is logged at once, the
   * rest counted and logged once per REFUSED_LOG_MS while they keep coming. The running total is
   * `callscreen_fastagi_refused_total` (metrics.ts, from health()).
   */
  private noteRefused(): void {
    this.refusedUnlogged++;
    if (this.refusedLogTimer !== null) return;
    this.logRefused();
    this.armRefusedLog();
  }

  private armRefusedLog(): void {
    this.refusedLogTimer = this.timers.setTimeout(() => {
      this.refusedLogTimer = null;
      // Nothing refused in the last window: stop; the next refusal is logged at once again.
      if (this.refusedUnlogged === 0) return;
      this.logRefused();
      this.armRefusedLog();
    }, REFUSED_LOG_MS);
  }

  private logRefused(): void {
    const n = this.refusedUnlogged;
    if (n === 0) return;
    this.refusedUnlogged = 0;
    const max = this.deps.config().fastagi.max_connections;
    this.deps.logger.warn(
      { refused: n, refusedTotal: this.counters.refused, open: this.sockets.size, maxConnections: max },
      `FastAGI refused ${n} connection${n === 1 ? '' : 's'}: ${max} open (fastagi.max_connections); Asterisk applies its dialplan fail mode to those calls`,
    );
  }

  private protocolError(err: unknown, sock: net.Socket): void {
    const reason = err instanceof AgiProtocolError ? err.reason : 'error';
    // A peer that connected and left (a port probe, Asterisk giving up) is not worth a warning.
    if (reason === 'closed') return;
    this.counters.protocolErrors++;
    this.deps.logger.warn(
      { reason, remote: sock.remoteAddress },
      'FastAGI connection dropped: not a valid AGI session',
    );
  }
}
