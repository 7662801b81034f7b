/**
 * The daemon's INBOUND Event Socket connection: it logs in to FreeSWITCH's mod_event_socket
 * (`esl_inbound.host:port`, default 127.0.0.1:8021), asks for the events it was given, and sends
 * commands (`api chat`, `sendevent`) that belong to no call. mod_sms chatplan applications have no
 * `socket`, so this is the only way to see and answer SMS from FreeSWITCH. Kept up by the shared
 * link state machine (net/reconnecting-link.ts, the AMI client's too, with the same state words):
 *
 *   stopped ─start()─▶ connecting ──auth/request──▶ authenticating ──+OK accepted──▶ subscribing ──setup +OK──▶ connected
 *                         │ (refused, no auth/request,     │ (-ERR invalid,              │ (-ERR, timeout)          │ (closed, disconnect
 *                         │  ACL rude-rejection, timeout)  │  timeout)                   │                          │  notice, timeout,
 *                         ▼                                ▼                             ▼                          ▼  bad frame)
 *                      backoff ──────────────────── delay (min·2ⁿ, equal jitter, up to max) ──────────────────▶ connecting
 *                                                                        stop() → stopped (from anywhere)
 *
 * Rules (the AMI client's, for the same reasons):
 * - commands are written only while `connected`, one at a time: ESL replies carry no id, they come in
 *   the order the commands were sent, so the next command waits for the reply to the one before.
 *   When not connected a command fails at once with CS_ERR_UNAVAILABLE and is never queued across a
 *   reconnect (a warning or an SMS minutes late is worse than a failure the caller logs);
 * - every command, and the wait for `auth/request` after connecting, is bounded by
 *   `commandTimeoutMs`. A command with no reply fails with CS_ERR_TIMEOUT and the connection is
 *   re-made: a late reply would otherwise be read as the answer to the next command;
 * - the password is written to the socket and nowhere else (no log line, error, or status field).
 *
 * Framing is EslFrameReader's (bounded header block and body); event bodies are read by
 * parseEventPlain. Timers and the clock are injected so backoff and timeouts are tested without
 * sleeping.
 */
import type { Logger } from 'pino';
import { CallscreenError } from '../../core/errors.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import { parseEventPlain, type EslEvent } from './esl-event.js';
import { EslFrameReader, type EslFrame, type EslFrameLimits } from './esl-frame.js';
import { backgroundScheduler, type Scheduler } from '../../core/clock.js';
import { ReconnectingLink, type LinkClientDeps, type LinkState, type LinkStatus } from '../../net/reconnecting-link.js';

export interface EslInboundOptions {
  readonly host: string;
  readonly port: number;
  /** Written to the socket in `auth`, never logged. */
  readonly password: string;
  /** A command, or connect-to-auth/request, with no answer by then fails (ms). */
  readonly commandTimeoutMs: number;
  /** First reconnect delay; doubles per failed attempt up to `reconnectMaxMs` (ms). */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** Command lines sent after a successful `auth`, in order, each needing `+OK` (`event plain MESSAGE`…). */
  readonly setup: readonly string[];
  /** Command lines sent by stop() while ready, before `exit`; best effort. Read at stop (config may have been reloaded). */
  readonly teardown?: () => readonly string[];
  /** Commands allowed to wait behind the one in flight (default 256); more fail at once. */
  readonly maxQueued?: number;
  /**
   * Frame bounds (bytes). Default 64 KiB of headers and 256 KiB of body: a MESSAGE event is its
   * headers (~1–2 KiB) plus the SMS text, which quarantine keeps up to 16 KiB of anyway.
   */
  readonly limits?: EslFrameLimits;
}

export type EslInboundDeps = LinkClientDeps;

/** For health, metrics and `doctor`. Never holds the password. */
export interface EslInboundStatus extends LinkStatus {
  readonly commandsOk: number;
  readonly commandsFailed: number;
  readonly authFailures: number;
  readonly events: number;
  /** Event bodies that could not be read (ignored). */
  readonly badEvents: number;
}

/** What notifiers, deliverers and the SMS screener need: send a command, get its reply frame. */
export interface EslCommands {
  /**
   * `text` is written as is: a command line and its blank line (`api chat …\n\n`), or sendevent's
   * header block, blank line and body. Rejects with CS_ERR_UNAVAILABLE (not ready, queue full,
   * connection lost) or CS_ERR_TIMEOUT; a `-ERR` reply resolves (the caller reads it).
   */
  command(text: string): Promise<EslFrame>;
}

/** What the SMS screener needs: hear events. */
export interface EslEventSource {
  onEvent(listener: (e: EslEvent) => void): () => void;
}

/** The text of a reply: `Reply-Text` of a command/reply, the body of an api/response. */
export function replyText(frame: EslFrame): string {
  return frame.headers['Content-Type'] === 'api/response'
    ? frame.body.trim()
    : (frame.headers['Reply-Text'] ?? '').trim();
}

/** A short name for logs and errors: never the password, never a message body or a phone number. */
export function commandLabel(text: string): string {
  const firstLine = text.split('\n', 1)[0] ?? '';
  const words = firstLine.split(' ');
  if (words[0] === 'auth') return 'auth';
  return words.slice(0, 2).join(' ').split('|')[0]?.slice(0, 40) ?? '';
}

interface Pending {
  readonly label: string;
  readonly text: string;
  /** Callers' commands count in commandsOk/Failed; auth and setup do not. */
  readonly counted: boolean;
  timer: unknown;
  /** Called as the reply is read (for callers' commands: resolves their promise). */
  onReply(frame: EslFrame): void;
  onError(err: CallscreenError): void;
}

export class EslInboundClient implements EslCommands, EslEventSource {
  readonly name = 'esl-inbound';
  private readonly link: ReconnectingLink;
  private inflight: Pending | null = null;
  private readonly queue: Pending[] = [];
  private readonly eventListeners = new Set<(e: EslEvent) => void>();
  private readonly counters = { commandsOk: 0, commandsFailed: 0, authFailures: 0, events: 0, badEvents: 0 };
  private readonly timers: Scheduler;
  private readonly limits: EslFrameLimits;

  constructor(
    private readonly options: EslInboundOptions,
    private readonly logger: Logger,
    deps: EslInboundDeps = {},
  ) {
    this.timers = deps.timers ?? backgroundScheduler;
    this.limits = options.limits ?? { maxHeaderBytes: 65_536, maxBodyBytes: 262_144 };
    this.link = new ReconnectingLink(
      {
        label: 'ESL inbound',
        host: options.host,
        port: options.port,
        // Connecting and FreeSWITCH's `auth/request` greeting share one command timeout; every
        // command after it has its own.
        handshakeTimeoutMs: options.commandTimeoutMs,
        handshakeTimeoutText: (ms, state) => `no auth/request within ${ms} ms (state ${state})`,
        reconnectMinMs: options.reconnectMinMs,
        reconnectMaxMs: options.reconnectMaxMs,
        // A peer that never closes does not hold up shutdown.
        closeTimeoutMs: options.commandTimeoutMs,
      },
      { ...deps, logger, timers: this.timers },
      { attach: () => this.attach(), detach: (reason) => this.detach(reason) },
    );
  }

  get currentState(): LinkState {
    return this.link.state;
  }

  /** Starts connecting and returns at once: the daemon does not wait for FreeSWITCH. */
  start(): Promise<void> {
    this.link.start();
    return Promise.resolve();
  }

  /**
   * Sends the teardown commands (when connected), then `exit`, and closes; cancels every timer.
   * Commands still waiting fail with CS_ERR_UNAVAILABLE.
   */
  async stop(): Promise<void> {
    if (this.link.state === 'connected') {
      for (const line of this.options.teardown?.() ?? []) {
        try {
          await this.command(`${line}\n\n`);
        } catch (err) {
          this.logger.warn(
            { command: commandLabel(line), error: (err as Error).message },
            'ESL teardown command not answered',
          );
        }
      }
    }
    // `exit` is a courtesy: FreeSWITCH answers `+OK bye` and closes its side.
    await this.link.stop('exit\n\n');
  }

  status(): EslInboundStatus {
    return { ...this.link.status(), ...this.counters };
  }

  /** For /readyz and metrics. Not required: calls are screened without it; SMS, warnings and releases wait for it. */
  health(): ComponentHealth {
    return {
      ok: this.link.state === 'connected',
      state: this.link.state,
      required: false,
      detail: { ...this.status() },
    };
  }

  onEvent(listener: (e: EslEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onState(listener: (s: LinkState) => void): () => void {
    return this.link.onState(listener);
  }

  command(text: string): Promise<EslFrame> {
    const label = commandLabel(text);
    const state = this.link.state;
    if (state !== 'connected' || !this.link.open) {
      this.counters.commandsFailed++;
      return Promise.reject(
        new CallscreenError(
          'CS_ERR_UNAVAILABLE',
          `FreeSWITCH Event Socket is not connected (state ${state}); ${label} not sent`,
          { command: label, state },
        ),
      );
    }
    const maxQueued = this.options.maxQueued ?? 256;
    if (this.queue.length >= maxQueued) {
      this.counters.commandsFailed++;
      return Promise.reject(
        new CallscreenError(
          'CS_ERR_UNAVAILABLE',
          `${maxQueued} Event Socket commands already waiting; ${label} not sent`,
          { command: label, queued: this.queue.length },
        ),
      );
    }
    return this.enqueue(text, label, true);
  }

  /** EslChatNotifier's sender interface: the same as `command`. */
  send(text: string): Promise<EslFrame> {
    return this.command(text);
  }

  /**
   * Exponential backoff with "equal jitter": the n-th consecutive failure waits between half and all
   * of min(max, min·2ⁿ) ms, so daemons restarted together do not reconnect in step.
   */
  backoffDelay(attempt: number): number {
    return this.link.backoffDelay(attempt);
  }

  // ------------------------------------------------------------------ connection

  /** A new connection: a fresh frame reader; frames of a connection that failed mid-chunk are dropped. */
  private attach(): (chunk: Buffer) => void {
    const reader = new EslFrameReader(this.limits);
    const gen = this.link.generation;
    return (chunk) => {
      let frames: EslFrame[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        this.link.fail(`Event Socket protocol error: ${(err as Error).message}`);
        return;
      }
      for (const frame of frames) {
        // A frame may have failed the connection: the rest of the chunk belongs to a dead session.
        if (gen !== this.link.generation) return;
        this.onFrame(frame);
      }
    };
  }

  private onFrame(frame: EslFrame): void {
    const type = frame.headers['Content-Type'] ?? '';
    switch (type) {
      case 'auth/request':
        this.onAuthRequest();
        return;
      case 'command/reply':
      case 'api/response':
        this.onReply(frame);
        return;
      case 'text/event-plain':
        this.onEventFrame(frame);
        return;
      case 'text/disconnect-notice':
        this.link.fail(`FreeSWITCH closed the Event Socket: ${frame.body.trim().split('\n')[0] ?? ''}`.trim());
        return;
      case 'text/rude-rejection':
        this.logger.error(
          { host: this.options.host, port: this.options.port, reply: frame.body.trim().slice(0, 100) },
          'FreeSWITCH refused this address: allow it in event_socket.conf.xml (apply-inbound-acl)',
        );
        this.link.fail('refused by the Event Socket ACL');
        return;
      default:
        this.logger.debug({ contentType: type }, 'Event Socket frame ignored');
    }
  }

  private onAuthRequest(): void {
    if (this.link.state !== 'connecting') {
      this.link.fail(`unexpected auth/request in state ${this.link.state}`);
      return;
    }
    this.link.handshakeDone();
    this.link.advance('authenticating');
    // Handled as the reply is read, not a promise turn later: FreeSWITCH follows `-ERR invalid` with
    // a disconnect notice, often in the same packet, and the refusal must be seen (and logged) first.
    this.queueCommand(`auth ${this.options.password}\n\n`, 'auth', false, (reply) => {
      const text = replyText(reply);
      if (text.startsWith('+OK')) {
        this.link.advance('subscribing');
        this.sendSetup(0);
        return;
      }
      this.counters.authFailures++;
      // FreeSWITCH's answer (`-ERR invalid`) and where: the password is in neither.
      this.logger.error(
        { host: this.options.host, port: this.options.port, reply: text.slice(0, 100) },
        'Event Socket login refused: check esl_inbound.password against event_socket.conf.xml',
      );
      this.link.fail(`authentication failed: ${text.slice(0, 100)}`);
    });
  }

  /** Sends setup command `i`, then the next once it is answered `+OK`; after the last, connected. */
  private sendSetup(i: number): void {
    const line = this.options.setup[i];
    if (line === undefined) {
      this.link.established();
      return;
    }
    const label = commandLabel(line);
    this.queueCommand(`${line}\n\n`, label, false, (reply) => {
      const text = replyText(reply);
      if (!text.startsWith('+OK')) {
        this.logger.error(
          { command: label, reply: text.slice(0, 100) },
          'FreeSWITCH refused an Event Socket setup command',
        );
        this.link.fail(`setup command ${label} refused: ${text.slice(0, 100)}`);
        return;
      }
      this.sendSetup(i + 1);
    });
  }

  private onReply(frame: EslFrame): void {
    const p = this.inflight;
    if (p === null) {
      // Replies come in order, one per command: a reply nobody waits for means the two sides disagree.
      this.link.fail('Event Socket reply with no command in flight');
      return;
    }
    this.inflight = null;
    this.timers.clearTimeout(p.timer);
    if (p.counted) this.counters.commandsOk++;
    p.onReply(frame);
    this.pump();
  }

  private onEventFrame(frame: EslFrame): void {
    if (this.link.state !== 'subscribing' && this.link.state !== 'connected') return;
    const parsed = parseEventPlain(frame.body);
    if (!parsed.ok) {
      this.counters.badEvents++;
      this.logger.warn(
        { error: parsed.error, bytes: Buffer.byteLength(frame.body) },
        'Event Socket event not understood: ignored',
      );
      return;
    }
    this.counters.events++;
    for (const l of this.eventListeners) {
      try {
        l(parsed.event);
      } catch (err) {
        this.logger.error({ err, event: parsed.event.headers['Event-Name'] }, 'Event Socket event listener failed');
      }
    }
  }

  /** The connection is gone: fails the command in flight and those waiting. */
  private detach(reason: string): void {
    const all = [...(this.inflight ? [this.inflight] : []), ...this.queue.splice(0)];
    this.inflight = null;
    for (const p of all) {
      this.timers.clearTimeout(p.timer);
      if (p.counted) this.counters.commandsFailed++;
      p.onError(new CallscreenError('CS_ERR_UNAVAILABLE', `${reason}; ${p.label} not answered`, { command: p.label }));
    }
  }

  // ------------------------------------------------------------------ commands

  /** A caller's command: its reply (or failure) as a promise. */
  private enqueue(text: string, label: string, counted: boolean): Promise<EslFrame> {
    return new Promise<EslFrame>((resolve, reject) => this.queueCommand(text, label, counted, resolve, reject));
  }

  /** Queues a command; `onReply` runs as its reply is read. Failures (lost, timeout) go to `onError`. */
  private queueCommand(
    text: string,
    label: string,
    counted: boolean,
    onReply: (f: EslFrame) => void,
    onError: (e: CallscreenError) => void = () => undefined,
  ): void {
    if (!this.link.open) {
      onError(
        new CallscreenError('CS_ERR_UNAVAILABLE', `FreeSWITCH Event Socket is not connected; ${label} not sent`, {
          command: label,
        }),
      );
      return;
    }
    this.queue.push({ label, text, counted, timer: null, onReply, onError });
    this.pump();
  }

  /** Writes the next command when none is in flight. */
  private pump(): void {
    if (this.inflight !== null || !this.link.open) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    this.inflight = next;
    const ms = this.options.commandTimeoutMs;
    next.timer = this.timers.setTimeout(() => {
      if (this.inflight !== next) return;
      this.inflight = null;
      if (next.counted) this.counters.commandsFailed++;
      next.onError(
        new CallscreenError('CS_ERR_TIMEOUT', `FreeSWITCH did not answer ${next.label} within ${ms} ms`, {
          command: next.label,
          timeoutMs: ms,
        }),
      );
      // No reply ids in ESL: a late reply would be taken for the next command's. Start over.
      this.link.fail(`no reply to ${next.label} within ${ms} ms`);
    }, ms);
    this.link.write(next.text);
  }
}
