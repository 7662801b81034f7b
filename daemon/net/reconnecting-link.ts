/**
 * One TCP link the daemon keeps up in the background (AMI, the inbound Event Socket): the state
 * machine, the socket's life, the handshake timeout and the reconnect backoff, in one place. The
 * protocol clients (ami-client.ts, esl-inbound-client.ts) only read bytes, say how far the
 * handshake got (`advance`, `established`) and fail what waits on a connection that is gone.
 *
 *   stopped ─start()─▶ connecting ──▶ authenticating ──▶ subscribing ──▶ connected
 *                        │                 │  └────────────────────────────▲   │
 *                        ▼                 ▼                  ▼               ▼
 *                     backoff ◀──────────────────────────────────────────────────  (refused, timeout,
 *                        └──── delay (min·2ⁿ ms, equal jitter, up to max) ──▶ connecting   closed, bad frame)
 *                                                    stop() → stopped (from anywhere)
 *
 * Every transition goes through `move`, which refuses one not in TRANSITIONS (a CS_ERR_INTERNAL
 * throw: a client bug, never a network event), logs it (`<label> <state>`, warn for backoff) and
 * tells the listeners. A failure drops the connection and moves to backoff at once, not on the
 * socket's close event, so nothing can find the link `connected` with no socket behind it; callbacks
 * of an old socket carry an old `generation` and are ignored.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { CallscreenError } from '../core/errors.js';
import { backgroundScheduler, systemClock, type Clock, type Scheduler } from '../core/clock.js';

/** The words both links use: `subscribing` is the wait for the setup commands after login. */
export type LinkState = 'stopped' | 'connecting' | 'authenticating' | 'subscribing' | 'connected' | 'backoff';

/** The legal moves; anything else is a bug in a client. Every state but stopped may be stopped. */
export const TRANSITIONS: Readonly<Record<LinkState, readonly LinkState[]>> = Object.freeze({
  stopped: ['connecting'],
  connecting: ['authenticating', 'backoff', 'stopped'],
  authenticating: ['subscribing', 'connected', 'backoff', 'stopped'],
  subscribing: ['connected', 'backoff', 'stopped'],
  connected: ['backoff', 'stopped'],
  backoff: ['connecting', 'stopped'],
});

/** Throws CS_ERR_INTERNAL when `from → to` is not a legal move. */
export function checkTransition(label: string, from: LinkState, to: LinkState): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw new CallscreenError('CS_ERR_INTERNAL', `${label}: illegal link transition ${from} → ${to}`, { from, to });
  }
}

/**
 * Exponential backoff with "equal jitter": the n-th consecutive failure (n from 0) waits between
 * half and all of min(maxMs, minMs·2ⁿ) ms, so daemons restarted together do not reconnect in step.
 * `random` is a [0,1) source (Math.random; tests pin it).
 */
export function equalJitterBackoff(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(base / 2 + (random() * base) / 2);
}

export interface LinkOptions {
  /** Names the link in log lines and messages: `AMI`, `ESL inbound`. */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  /** From connecting until the client calls `handshakeDone` or `established` (ms). */
  readonly handshakeTimeoutMs: number;
  /** What `lastError` says when the handshake timer fires; the default names the state. */
  readonly handshakeTimeoutText?: (timeoutMs: number, state: LinkState) => string;
  /** First reconnect delay; doubles per failed attempt up to `reconnectMaxMs` (ms). */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** How long stop() waits for the peer to close after the goodbye before destroying (ms). */
  readonly closeTimeoutMs: number;
}

/** What a link's client is given besides its logger: time and randomness, injected for tests. */
export interface LinkClientDeps {
  /** Default: unref'd real timers (a reconnect timer never keeps the process alive on its own). */
  readonly timers?: Scheduler;
  /** [0,1) source for backoff jitter; tests pin it. Default Math.random. */
  readonly random?: () => number;
  /** For `since`. Default the system clock. */
  readonly clock?: Clock;
}

export interface LinkDeps extends LinkClientDeps {
  readonly logger: Logger;
}

/** The link's part of a client's status (metrics, health, `doctor`). */
export interface LinkStatus {
  readonly state: LinkState;
  /** Epoch ms of the last state change. */
  readonly since: number;
  /** Reconnect attempts scheduled since start. */
  readonly reconnects: number;
  /** Why the last connection or attempt ended; null once connected again. */
  readonly lastError: string | null;
}

/** What the protocol client does on each connection. */
export interface LinkHooks {
  /** A new socket is opening: returns the handler of its bytes (a fresh parser per connection). */
  attach(): (chunk: Buffer) => void;
  /** The connection is gone (failed, closed or stopped): clear its timers, fail what waits on it. */
  detach(reason: string): void;
  /**
   * Once connected, after each read: how long reading may stop now (ms), so that what the peer sends
   * meanwhile (events, responses to a bulk of actions) is read in one go — one wake-up of the process
   * per hold instead of one per message. The client says 0 while it awaits a reply that must not
   * wait; a `write` resumes reading at once. Default (absent, or 0): read as data arrives.
   */
  readHold?(): number;
}

/**
 * Bytes one read hands the client at most. One buffer per link, reused by every read (`onread`):
 * the clients decode or copy a chunk before returning, and a held socket stops reading from the
 * kernel only in this mode (a paused stream with its own buffers reads on until 16 KiB are queued).
 */
const READ_BUFFER_BYTES = 64 * 1024;

export class ReconnectingLink {
  private current: LinkState = 'stopped';
  private sinceMs: number;
  private socket: net.Socket | null = null;
  /** The socket `write` gathers text for until the end of the tick, and that text. */
  private outSocket: net.Socket | null = null;
  private outText = '';
  /** Bumped per connection and per teardown so late callbacks of an old socket are ignored. */
  private gen = 0;
  /** Consecutive failed attempts: the exponent of the backoff. */
  private attempt = 0;
  private reconnectCount = 0;
  private lastErrorText: string | null = null;
  private retryTimer: unknown = null;
  private handshakeTimer: unknown = null;
  /** Set while reading of the current socket is held (`LinkHooks.readHold`): resumes it when it fires. */
  private holdTimer: unknown = null;
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private readonly listeners = new Set<(s: LinkState) => void>();
  private readonly timers: Scheduler;
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(
    private readonly options: LinkOptions,
    deps: LinkDeps,
    private readonly hooks: LinkHooks,
  ) {
    this.logger = deps.logger;
    this.timers = deps.timers ?? backgroundScheduler;
    this.random = deps.random ?? Math.random;
    this.clock = deps.clock ?? systemClock;
    this.sinceMs = this.clock.now();
  }

  get state(): LinkState {
    return this.current;
  }

  /** Epoch ms of the last state change. */
  get since(): number {
    return this.sinceMs;
  }

  /** Reconnect attempts scheduled since start. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Why the last connection or attempt ended; null once connected again. */
  get lastError(): string | null {
    return this.lastErrorText;
  }

  status(): LinkStatus {
    return { state: this.current, since: this.sinceMs, reconnects: this.reconnectCount, lastError: this.lastErrorText };
  }

  /** The current connection's number: a callback holding an older one belongs to a dead socket. */
  get generation(): number {
    return this.gen;
  }

  /** A socket is open to write to (it may still be handshaking). */
  get open(): boolean {
    return this.socket !== null;
  }

  onState(listener: (s: LinkState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts connecting (from stopped only); returns at once. */
  start(): void {
    if (this.current === 'stopped') this.connect();
  }

  /**
   * Writes to the open socket; false when there is none. Writes made in the same tick leave in one
   * system call: they are joined into one string and written when the tick's callbacks and promise
   * jobs are done (order is kept; nothing waits longer than the current tick). A mirror sync sends a
   * few hundred DBPut actions for each chunk of responses: one write() each was the daemon's largest
   * cost in a 1M-number sync, and corking the socket instead still cost a write request and a buffer
   * per action (`writev` of hundreds of small chunks).
   */
  write(text: string): boolean {
    const socket = this.socket;
    if (socket === null) return false;
    if (this.holdTimer !== null) this.release();
    if (this.outSocket !== socket) {
      this.flush();
      this.outSocket = socket;
      process.nextTick(() => {
        this.flush();
      });
    }
    this.outText += text;
    return true;
  }

  /**
   * Resumes reading the current socket now if it is held (a write expects a reply; a teardown,
   * before it drops the socket). Only the current socket is ever held: a teardown releases it first.
   */
  private release(): void {
    if (this.holdTimer === null) return;
    this.timers.clearTimeout(this.holdTimer);
    this.holdTimer = null;
    const socket = this.socket;
    if (socket !== null && !socket.destroyed) socket.resume();
  }

  /** After a read: false (stop reading) when the client says reading may wait (LinkHooks.readHold). */
  private afterRead(): boolean {
    if (this.current !== 'connected') return true;
    const holdMs = this.hooks.readHold?.() ?? 0;
    if (holdMs <= 0) return true;
    this.holdTimer = this.timers.setTimeout(() => {
      this.release();
    }, holdMs);
    return false;
  }

  /** Writes what `write` gathered this tick; a socket torn down meanwhile loses it, as unsent bytes. */
  private flush(): void {
    const socket = this.outSocket;
    const text = this.outText;
    this.outSocket = null;
    this.outText = '';
    if (socket !== null && text !== '' && !socket.destroyed) socket.write(text);
  }

  /** Text gathered for `socket` and not written yet ('' when none), taken out of the tick's batch. */
  private takeOut(socket: net.Socket): string {
    if (this.outSocket !== socket) return '';
    const text = this.outText;
    this.outSocket = null;
    this.outText = '';
    return text;
  }

  /** A handshake step done (`authenticating`, `subscribing`); `extra` goes in the log line. */
  advance(next: 'authenticating' | 'subscribing', extra: Record<string, unknown> = {}): void {
    this.move(next, extra);
  }

  /** The part of the handshake the link times is over (the client times the rest itself). */
  handshakeDone(): void {
    if (this.handshakeTimer !== null) this.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  /** Logged in and set up: connected, backoff back to its minimum. */
  established(): void {
    this.handshakeDone();
    this.attempt = 0;
    this.lastErrorText = null;
    this.move('connected');
  }

  /** Remembers why the link is failing without failing it (the close event that follows reports it). */
  noteError(reason: string): void {
    this.lastErrorText = reason;
  }

  /**
   * Drops the current connection and moves to backoff at once. Nothing to drop (stopped, or already
   * in backoff) is a no-op: a second report of one failure does not schedule a second reconnect.
   */
  fail(reason: string): void {
    if (this.current === 'stopped' || this.current === 'backoff') return;
    this.lastErrorText = reason;
    const socket = this.socket;
    this.teardown(`${this.options.label} connection lost: ${reason}`);
    this.scheduleReconnect(reason);
    if (socket !== null && !socket.destroyed) socket.destroy();
  }

  /**
   * Stops: cancels every timer, fails what waits (CS_ERR_UNAVAILABLE via `detach`), writes `goodbye`
   * (a courtesy: the peer logs a clean log-off) and waits for the peer to close, at most
   * `closeTimeoutMs`, then destroys the socket.
   */
  async stop(goodbye: string): Promise<void> {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.current === 'stopped') return;
    const socket = this.socket;
    this.move('stopped');
    this.teardown(`${this.options.label} client stopped`);
    if (socket === null || socket.destroyed) return;
    // Written earlier in this tick: still goes out, before the goodbye.
    const unsent = this.takeOut(socket);
    await new Promise<void>((resolve) => {
      // Real time, not the injected timers: a fake clock that is never advanced must not hold up
      // shutdown, and this bound only matters against a peer that never closes its side.
      const t = setTimeout(() => socket.destroy(), this.options.closeTimeoutMs);
      t.unref();
      socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      socket.end(unsent + goodbye);
    });
  }

  backoffDelay(attempt: number): number {
    return equalJitterBackoff(attempt, this.options.reconnectMinMs, this.options.reconnectMaxMs, this.random);
  }

  private connect(): void {
    this.retryTimer = null;
    const gen = ++this.gen;
    this.move('connecting');
    const onData = this.hooks.attach();
    const socket: net.Socket = net.createConnection({
      host: this.options.host,
      port: this.options.port,
      onread: {
        buffer: this.readBuffer,
        callback: (bytes: number): boolean => {
          if (gen !== this.gen || this.socket !== socket) return true;
          onData(this.readBuffer.subarray(0, bytes));
          return gen === this.gen && this.socket === socket ? this.afterRead() : true;
        },
      },
    });
    this.socket = socket;
    socket.setNoDelay(true);
    const ms = this.options.handshakeTimeoutMs;
    this.handshakeTimer = this.timers.setTimeout(() => {
      this.handshakeTimer = null;
      if (gen !== this.gen) return;
      const text =
        this.options.handshakeTimeoutText?.(ms, this.current) ??
        `${this.options.label} handshake not done within ${ms} ms (state ${this.current})`;
      this.fail(text);
    }, ms);
    socket.on('error', (err) => {
      if (gen === this.gen) this.lastErrorText = err.message;
    });
    socket.on('close', () => {
      if (gen === this.gen) this.fail(this.lastErrorText ?? 'connection closed');
    });
  }

  private teardown(reason: string): void {
    this.gen++;
    // A held socket reads again: stop() waits for the peer's close, which must be read to be seen.
    this.release();
    this.socket = null;
    this.handshakeDone();
    this.hooks.detach(reason);
  }

  private scheduleReconnect(reason: string): void {
    const delayMs = this.backoffDelay(this.attempt);
    this.attempt++;
    this.reconnectCount++;
    this.move('backoff', { delayMs, attempt: this.attempt, reason });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (this.current === 'backoff') this.connect();
    }, delayMs);
  }

  /** The one place the state changes: checked, timestamped, logged, emitted. */
  private move(next: LinkState, extra: Record<string, unknown> = {}): void {
    const prev = this.current;
    checkTransition(this.options.label, prev, next);
    this.current = next;
    this.sinceMs = this.clock.now();
    const level = next === 'backoff' ? 'warn' : 'info';
    this.logger[level](
      { from: prev, to: next, host: this.options.host, port: this.options.port, ...extra },
      `${this.options.label} ${next}`,
    );
    for (const l of this.listeners) l(next);
  }
}
