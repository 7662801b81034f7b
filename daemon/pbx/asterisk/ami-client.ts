/**
 * The daemon's AMI connection: one TCP session to Asterisk's manager interface, kept up by the
 * shared link state machine (net/reconnecting-link.ts: the states, backoff and handshake timeout of
 * every background link), used to send `MessageSend` (agent warnings, released SMS) and to hear
 * `DialBegin` (agents dialling).
 *
 *   stopped → connecting ─banner→ authenticating ─Login ok→ subscribing ─Filters sent→ connected
 *                 │ (refused, no banner,  │ (login failed,         │ (timeout)            │ (socket closed,
 *                 ↓  timeout)             ↓  timeout)              ↓                      ↓  missed pong)
 *              backoff ──── delay (min·2ⁿ ms, equal jitter, up to max) ──▶ connecting
 *                                                       stop() → stopped (from anywhere)
 *
 * Why not the `asterisk-manager` package (the design card's first choice, no longer a dependency): it
 * holds every action sent before login or while disconnected and replays it whenever a later login
 * succeeds (a warning minutes late is worse than none); it has no action timeout, so a lost response
 * leaves a callback that never fires; `keepConnected()` only arms before the socket opens; it
 * reconnects on a fixed +10 s ramp with no jitter and prints to stdout with console.log; and its
 * socket and timers cannot be injected, so none of that could be tested without sleeping. Every one
 * of those would have to be worked around from outside; AMI itself is a small line protocol
 * (ami-protocol.ts), so this speaks it directly over `net`.
 *
 * Rules: actions are only written while `connected`, otherwise they fail at once with
 * CS_ERR_UNAVAILABLE (never queued); each action fails with CS_ERR_TIMEOUT after
 * `actionTimeoutMs`; the secret is written to the socket and nowhere else (not logs, not errors).
 */
import { StringDecoder } from 'node:string_decoder';
import { backgroundScheduler, type Scheduler } from '../../core/clock.js';
import { ReconnectingLink, type LinkClientDeps, type LinkState, type LinkStatus } from '../../net/reconnecting-link.js';
import type { Logger } from 'pino';
import { CallscreenError, toCallscreenError } from '../../core/errors.js';
import {
  AMI_MAX_LINE_BYTES,
  AmiParser,
  encodeAction,
  field,
  overlongField,
  type AmiFields,
  type AmiMessage,
} from './ami-protocol.js';

export interface AmiClientOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** Written to the socket in `Login`, never logged. */
  readonly secret: string;
  /** An action (and the connect + banner + login handshake) with no answer by then fails (ms). */
  readonly actionTimeoutMs: number;
  /** First reconnect delay; doubles per failed attempt up to `reconnectMaxMs` (ms). */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** A `Ping` is sent this long after the last one was answered; no pong → reconnect (ms). */
  readonly keepaliveMs: number;
  /** Event classes asked for at login (`Events:`); `call` carries DialBegin. Default `call`. */
  readonly events?: string;
  /**
   * Whitelist filters (AMI `Filter` action, a regex on the event text) sent right after login, before
   * `connected`: of class `call` the daemon needs DialBegin only, and Asterisk otherwise writes every
   * Newchannel, HangupRequest, SoftHangupRequest and Hangup of every call to this session (four
   * events, ~80 lines a call, parsed and dropped). A refused filter is logged and the session goes on
   * unfiltered. Default: none.
   */
  readonly eventFilters?: readonly string[];
  /**
   * While no action awaits its response, events are read at most once per this many ms (the link's
   * `readHold`): at 500 calls/s the mirror's UserEvents then wake the daemon ~50 times a second
   * instead of 500. Default 0 (read as they arrive).
   */
  readonly readHoldMs?: number;
}

export type AmiClientDeps = LinkClientDeps;

export interface AmiEvent {
  /** `Event:` value, e.g. `DialBegin`. */
  readonly name: string;
  readonly fields: AmiMessage;
}

/** The fields of `DialBegin` the daemon reads (Asterisk 12+ bridging events). */
export interface DialBeginEvent {
  /** Calling channel, e.g. `PJSIP/agent101-00000004`. */
  readonly channel: string;
  readonly uniqueId: string;
  readonly linkedId: string;
  readonly callerIdNum: string;
  /** Extension in the calling channel's dialplan: the dialled number in `from-agents`. */
  readonly exten: string;
  /** What Dial() was given after the technology: `+15559990001@carrier`, `agent102`. */
  readonly dialString: string;
  readonly destChannel: string;
  readonly destCallerIdNum: string;
}

export function toDialBegin(e: AmiEvent): DialBeginEvent | null {
  if (e.name !== 'DialBegin') return null;
  const f = (k: string): string => field(e.fields, k) ?? '';
  return {
    channel: f('Channel'),
    uniqueId: f('Uniqueid'),
    linkedId: f('Linkedid'),
    callerIdNum: f('CallerIDNum'),
    exten: f('Exten'),
    dialString: f('DialString'),
    destChannel: f('DestChannel'),
    destCallerIdNum: f('DestCallerIDNum'),
  };
}

/** For metrics and `doctor`. */
export interface AmiStatus extends LinkStatus {
  readonly actionsOk: number;
  readonly actionsFailed: number;
  readonly loginFailures: number;
  readonly keepaliveMisses: number;
  readonly events: number;
}

/** What notifiers and deliverers need: send an action, get its response. */
export interface AmiActions {
  action(name: string, fields?: AmiFields): Promise<AmiMessage>;
}

/**
 * Actions sent many at a time whose callers need only how each ended (a mirror sync's DBPuts): the
 * same rules as `action`, told through a callback instead of a promise — one allocation fewer per
 * action, of millions in a sync.
 */
export interface AmiPipeline {
  /**
   * As `action`; `done` is called once (never synchronously), with the error or the response.
   * `bulk`: one of many whose responses nobody waits on one by one (a sync's DBPuts): while only
   * such actions await responses, reading may wait BULK_READ_HOLD_MS, as events' does.
   */
  actionThen(name: string, fields: AmiFields, done: AmiDone, bulk?: boolean): void;
}

/**
 * How long reading may wait while only bulk actions await their responses (ms): Asterisk answers each
 * action with its own write(), and read as they came, a 1,000,000-key mirror sync woke the daemon
 * once per ~10 responses — a third of its CPU per key was system time in those reads. Held 1 ms, one
 * read takes ~100; the sync's window (1024 in flight, refilled at half) keeps Asterisk busy meanwhile,
 * and a write (the refill, any other action) ends the hold at once. Measured, 1M keys: the daemon's
 * CPU per key 9.3-12 µs → 5.0-5.2 µs; the sync then waits for Asterisk (BENCHMARKS.md).
 */
export const BULK_READ_HOLD_MS = 1;

/** What the dial watcher needs: hear events. */
export interface AmiEventSource {
  onEvent(listener: (e: AmiEvent) => void): () => void;
}

interface Pending {
  readonly action: string;
  /** The actions sent in the same tick as this one: they share one timeout timer. */
  readonly batch: Batch;
  /** User actions count in actionsOk/Failed; Login and Ping do not. */
  readonly counted: boolean;
  /** Called once, with the error or the response. */
  readonly done: AmiDone;
  /** Sent with actionThen's `bulk`: its response may wait for a read hold. */
  readonly bulk: boolean;
}

/** How an action ends: `err` null and the response, or the error (CS_ERR_UNAVAILABLE, CS_ERR_TIMEOUT). */
export type AmiDone = (err: CallscreenError | null, msg: AmiMessage | null) => void;

/**
 * Actions written in one tick, which leave in one write and time out together: one timer for the
 * lot instead of one per action (a mirror sync sends millions of DBPuts, a few hundred a tick;
 * arming and clearing a timer each was a visible share of its cost). The timer is cleared once all
 * of them are answered.
 */
interface Batch {
  timer: unknown;
  readonly ids: string[];
  /** Actions of the batch not answered (nor failed) yet. */
  open: number;
}

export class AmiClient implements AmiActions, AmiPipeline, AmiEventSource {
  readonly name = 'ami';
  private readonly link: ReconnectingLink;
  private nextId = 0;
  private readonly pending = new Map<string, Pending>();
  /** How many of `pending` are bulk: when all of them are, reading may be held (BULK_READ_HOLD_MS). */
  private bulkPending = 0;
  /** The batch actions sent in this tick join; null once the tick is over. */
  private batch: Batch | null = null;
  private keepaliveTimer: unknown = null;
  private readonly eventListeners = new Set<(e: AmiEvent) => void>();
  private readonly counters = { actionsOk: 0, actionsFailed: 0, loginFailures: 0, keepaliveMisses: 0, events: 0 };
  private readonly timers: Scheduler;

  constructor(
    private readonly options: AmiClientOptions,
    private readonly logger: Logger,
    deps: AmiClientDeps = {},
  ) {
    this.timers = deps.timers ?? backgroundScheduler;
    this.link = new ReconnectingLink(
      {
        label: 'AMI',
        host: options.host,
        port: options.port,
        // Connect, banner, login and filters must all finish in one action timeout, or the attempt failed.
        handshakeTimeoutMs: options.actionTimeoutMs,
        reconnectMinMs: options.reconnectMinMs,
        reconnectMaxMs: options.reconnectMaxMs,
        // A peer that never closes its side does not hold up shutdown.
        closeTimeoutMs: options.actionTimeoutMs,
      },
      { ...deps, logger, timers: this.timers },
      {
        attach: () => this.attach(),
        detach: (reason) => this.detach(reason),
        // Events: held `readHoldMs`. A response anyone waits on: never held. Bulk responses only: held briefly.
        readHold: () =>
          this.pending.size === 0
            ? (options.readHoldMs ?? 0)
            : this.pending.size === this.bulkPending
              ? BULK_READ_HOLD_MS
              : 0,
      },
    );
  }

  /** Starts connecting and returns at once: the daemon does not wait for the PBX (warnings are best effort). */
  start(): Promise<void> {
    this.link.start();
    return Promise.resolve();
  }

  /** Logs off, closes the socket, cancels every timer; pending actions fail with CS_ERR_UNAVAILABLE. */
  async stop(): Promise<void> {
    // Logoff is a courtesy: Asterisk logs a clean "logged off" instead of a dropped session.
    await this.link.stop(encodeAction('Logoff', `cs-${++this.nextId}`, {}));
  }

  status(): AmiStatus {
    return { ...this.link.status(), ...this.counters };
  }

  get currentState(): LinkState {
    return this.link.state;
  }

  onEvent(listener: (e: AmiEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onState(listener: (s: LinkState) => void): () => void {
    return this.link.onState(listener);
  }

  /** Resolves once connected (at once if already), rejects with CS_ERR_TIMEOUT after `timeoutMs`. */
  whenConnected(timeoutMs: number): Promise<void> {
    if (this.link.state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        off();
        reject(
          new CallscreenError('CS_ERR_TIMEOUT', `AMI not connected within ${timeoutMs} ms`, { state: this.link.state }),
        );
      }, timeoutMs);
      const off = this.onState((s) => {
        if (s !== 'connected') return;
        this.timers.clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /**
   * Sends an action and resolves with its response. Fails at once with CS_ERR_UNAVAILABLE when not
   * connected (never queued: a late warning or SMS is worse than a failed one, which the caller
   * logs or retries itself), with CS_ERR_TIMEOUT when no response comes in `actionTimeoutMs`, and
   * with CS_ERR_UNAVAILABLE when Asterisk answers `Response: Error`.
   */
  action(name: string, fields: AmiFields = {}): Promise<AmiMessage> {
    return new Promise((resolve, reject) => {
      this.actionThen(name, fields, (err, msg) => {
        if (err !== null) reject(err);
        else resolve(msg ?? {});
      });
    });
  }

  actionThen(name: string, fields: AmiFields, done: AmiDone, bulk = false): void {
    const state = this.link.state;
    if (state !== 'connected' || !this.link.open) {
      this.counters.actionsFailed++;
      const err = new CallscreenError('CS_ERR_UNAVAILABLE', `AMI is not connected (state ${state}); ${name} not sent`, {
        action: name,
        state,
      });
      queueMicrotask(() => {
        done(err, null);
      });
      return;
    }
    this.sendThen(name, fields, true, done, bulk);
  }

  /**
   * Exponential backoff with "equal jitter": the n-th consecutive failure waits between half and all
   * of min(max, min·2ⁿ) ms, so many daemons restarted together do not reconnect in step.
   */
  backoffDelay(attempt: number): number {
    return this.link.backoffDelay(attempt);
  }

  // ------------------------------------------------------------------ connection

  /** A new connection: AMI is text, decoded per connection so a character split across reads survives. */
  private attach(): (chunk: Buffer) => void {
    const decoder = new StringDecoder('utf8');
    const parser = new AmiParser();
    return (chunk) => {
      try {
        for (const frame of parser.push(decoder.write(chunk))) {
          if (frame.kind === 'banner') this.onBanner(frame.text);
          else this.onMessage(frame.fields);
        }
      } catch (err) {
        this.link.fail(`AMI protocol error: ${(err as Error).message}`);
      }
    };
  }

  private onBanner(text: string): void {
    if (this.link.state !== 'connecting') return;
    const gen = this.link.generation;
    this.link.advance('authenticating', { banner: text });
    const login: Record<string, string> = {
      Username: this.options.username,
      Secret: this.options.secret,
      Events: this.options.events ?? 'call',
    };
    this.send('Login', login, false).then(
      () => {
        if (gen !== this.link.generation) return;
        this.link.advance('subscribing');
        return this.applyFilters(gen).then(() => this.onSubscribed(gen));
      },
      (reason: unknown) => {
        const err = toCallscreenError(reason);
        // Lost with its connection: that failure is already reported.
        if (gen !== this.link.generation) return;
        this.counters.loginFailures++;
        // The username and Asterisk's message only: the secret is in neither.
        this.logger.error(
          { host: this.options.host, port: this.options.port, username: this.options.username, error: err.message },
          'AMI login failed',
        );
        this.link.fail(`login failed: ${err.message}`);
      },
    );
  }

  private async applyFilters(gen: number): Promise<void> {
    for (const filter of this.options.eventFilters ?? []) {
      if (gen !== this.link.generation) return;
      try {
        await this.send('Filter', { Operation: 'Add', Filter: filter }, false);
      } catch (err) {
        if (gen !== this.link.generation) return;
        this.logger.warn(
          { filter, error: (err as Error).message },
          'AMI event filter refused; events of the subscribed classes all come through',
        );
      }
    }
  }

  private onSubscribed(gen: number): void {
    if (gen !== this.link.generation || this.link.state !== 'subscribing') return;
    this.link.established();
    this.armKeepalive();
  }

  private armKeepalive(): void {
    const gen = this.link.generation;
    this.keepaliveTimer = this.timers.setTimeout(() => {
      this.keepaliveTimer = null;
      if (gen !== this.link.generation || this.link.state !== 'connected') return;
      this.send('Ping', {}, false).then(
        () => {
          if (gen === this.link.generation && this.link.state === 'connected') this.armKeepalive();
        },
        (reason: unknown) => {
          const err = toCallscreenError(reason);
          if (gen !== this.link.generation) return;
          this.counters.keepaliveMisses++;
          this.logger.warn({ error: err.message }, 'AMI keep-alive missed: reconnecting');
          this.link.fail(`keep-alive missed: ${err.message}`);
        },
      );
    }, this.options.keepaliveMs);
  }

  /** The connection is gone: clears its keep-alive and fails its pending actions. */
  private detach(reason: string): void {
    if (this.keepaliveTimer !== null) this.timers.clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = null;
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.bulkPending = 0;
    this.batch = null;
    for (const p of pending) {
      this.settle(p);
      if (p.counted) this.counters.actionsFailed++;
      this.finish(
        p,
        new CallscreenError('CS_ERR_UNAVAILABLE', `${reason}; ${p.action} not answered`, { action: p.action }),
        null,
      );
    }
  }

  // ------------------------------------------------------------------ messages

  private send(name: string, fields: AmiFields, counted: boolean): Promise<AmiMessage> {
    return new Promise<AmiMessage>((resolve, reject) => {
      this.sendThen(name, fields, counted, (err, msg) => {
        if (err !== null) reject(err);
        else resolve(msg ?? {});
      });
    });
  }

  private sendThen(name: string, fields: AmiFields, counted: boolean, done: AmiDone, bulk = false): void {
    if (!this.link.open) {
      const err = new CallscreenError('CS_ERR_UNAVAILABLE', `AMI is not connected; ${name} not sent`, { action: name });
      queueMicrotask(() => {
        done(err, null);
      });
      return;
    }
    const overlong = overlongField(fields);
    if (overlong !== null) {
      // Asterisk would refuse the line and, in the same breath, lose the rest of the action.
      const err = new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `AMI ${name} not sent: its ${overlong} line is longer than the ${AMI_MAX_LINE_BYTES} bytes Asterisk reads`,
        { action: name, field: overlong },
      );
      queueMicrotask(() => {
        done(err, null);
      });
      return;
    }
    const id = `cs-${++this.nextId}`;
    const batch = this.currentBatch();
    batch.ids.push(id);
    batch.open++;
    this.pending.set(id, { action: name, batch, counted, done, bulk });
    if (bulk) this.bulkPending++;
    this.link.write(encodeAction(name, id, fields));
  }

  /**
   * The batch of this tick, opened (and its timer armed) by the tick's first action. Every action of
   * a batch is given `actionTimeoutMs` from that first one: they are sent together, at the end of
   * the tick (ReconnectingLink.write).
   */
  private currentBatch(): Batch {
    if (this.batch !== null) return this.batch;
    const batch: Batch = { timer: null, ids: [], open: 0 };
    batch.timer = this.timers.setTimeout(() => {
      batch.timer = null;
      this.expire(batch);
    }, this.options.actionTimeoutMs);
    this.batch = batch;
    process.nextTick(() => {
      if (this.batch === batch) this.batch = null;
    });
    return batch;
  }

  /** The batch's timeout: every action of it still waiting fails with CS_ERR_TIMEOUT. */
  private expire(batch: Batch): void {
    for (const id of batch.ids) {
      const p = this.pending.get(id);
      if (p?.batch !== batch) continue; // answered, or failed with its connection
      this.pending.delete(id);
      if (p.bulk) this.bulkPending--;
      batch.open--;
      if (p.counted) this.counters.actionsFailed++;
      this.finish(
        p,
        new CallscreenError(
          'CS_ERR_TIMEOUT',
          `AMI ${p.action} got no response within ${this.options.actionTimeoutMs} ms`,
          { action: p.action, timeoutMs: this.options.actionTimeoutMs },
        ),
        null,
      );
    }
  }

  /**
   * Tells an action's caller how it ended. Called from the socket's data handler: a callback that
   * throws is logged, and must not be taken for a protocol error that drops the connection.
   */
  private finish(p: Pending, err: CallscreenError | null, msg: AmiMessage | null): void {
    try {
      p.done(err, msg);
    } catch (e) {
      this.logger.error({ err: e, action: p.action }, 'AMI action callback failed');
    }
  }

  /** An action is answered or failed: its batch's timer goes once no action of it waits. */
  private settle(p: Pending): void {
    const batch = p.batch;
    if (--batch.open > 0 || batch.timer === null) return;
    this.timers.clearTimeout(batch.timer);
    batch.timer = null;
    if (this.batch === batch) this.batch = null;
  }

  private onMessage(msg: AmiMessage): void {
    const event = field(msg, 'Event');
    if (event !== undefined) {
      this.counters.events++;
      for (const l of this.eventListeners) {
        try {
          l({ name: event, fields: msg });
        } catch (err) {
          this.logger.error({ err, event }, 'AMI event listener failed');
        }
      }
      return;
    }
    const id = field(msg, 'ActionID');
    const response = field(msg, 'Response');
    if (id === undefined || response === undefined) return;
    const p = this.pending.get(id);
    if (!p) return; // answered after its timeout: already failed, nothing to do
    this.pending.delete(id);
    if (p.bulk) this.bulkPending--;
    this.settle(p);
    if (response.toLowerCase() === 'error') {
      if (p.counted) this.counters.actionsFailed++;
      const message = field(msg, 'Message') ?? 'error';
      // `reply`, not `message`: pino's err serializer takes any object with a string `message` for an
      // error and tags it, which throws on the frozen details (a crash inside a log call).
      this.finish(
        p,
        new CallscreenError('CS_ERR_UNAVAILABLE', `AMI ${p.action} failed: ${message}`, {
          action: p.action,
          reply: message,
        }),
        null,
      );
      return;
    }
    if (p.counted) this.counters.actionsOk++;
    this.finish(p, null, msg);
  }
}
