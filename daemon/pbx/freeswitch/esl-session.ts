/**
 * One outbound Event Socket connection (FreeSWITCH's `socket` application dialled us for one call),
 * as an explicit state machine:
 *
 *   connected ──send `connect`──▶ awaiting-channel-data ──reply──▶ ready ──close()──▶ closed
 *        └──────────── deadline, bad frame, peer closed ─────────────────────────────▶ closed
 *
 * Commands are sent one at a time, each answered by the next `command/reply` or `api/response`
 * frame; events (`text/event-plain`) are ignored since we never subscribe. The whole connection
 * is bounded by `deadlineMs`, including the time after `exit` until the peer closes: when it
 * passes, the socket is destroyed and the dialplan goes on (the synchronous `socket` app returns and
 * the next action runs: seen on FreeSWITCH 1.10.12), so a stuck daemon costs a call at most that
 * long, and a peer cannot hold a connection longer.
 */
import type { Socket } from 'node:net';
import type { Scheduler } from '../../core/clock.js';
import { EslFrameReader, EslProtocolError, type EslFrame, type EslFrameLimits } from './esl-frame.js';

export type EslSessionState = 'connected' | 'awaiting-channel-data' | 'ready' | 'closed';

export interface EslSessionOptions extends EslFrameLimits {
  /** Whole-connection budget (ms): connect, screening, answer. */
  readonly deadlineMs: number;
  readonly timers: Scheduler;
  /** Called on every state change (the server logs them at debug). */
  readonly onTransition?: (from: EslSessionState, to: EslSessionState, why: string) => void;
}

type Waiter = { resolve: (f: EslFrame) => void; reject: (e: Error) => void };

export class EslSession {
  private stateNow: EslSessionState = 'connected';
  private readonly reader: EslFrameReader;
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private readonly deadline: unknown;
  /** Commands sent (tests and counters). */
  commands = 0;

  constructor(
    private readonly sock: Socket,
    private readonly options: EslSessionOptions,
  ) {
    // FreeSWITCH sends a handful of frames per session (we never subscribe to events): the
    // connect reply, one reply per command, a disconnect notice. More is a peer burning our CPU.
    this.reader = new EslFrameReader({ ...options, maxFrames: options.maxFrames ?? 32 });
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (err) => this.fail(err, 'socket error'));
    sock.on('close', () => this.fail(new EslProtocolError('connection closed', 'closed'), 'peer closed'));
    this.deadline = options.timers.setTimeout(
      () => this.fail(new EslProtocolError(`no result within ${options.deadlineMs} ms`, 'timeout'), 'deadline'),
      options.deadlineMs,
    );
  }

  get state(): EslSessionState {
    return this.stateNow;
  }

  /** Sends `connect`; resolves with the channel data FreeSWITCH replies with. */
  async channelData(): Promise<Readonly<Record<string, string>>> {
    this.move('awaiting-channel-data', 'sent connect');
    const reply = await this.send('connect\n\n');
    this.move('ready', 'channel data received');
    return reply.headers;
  }

  /** Sends one raw command (ending in a blank line) and resolves with its reply frame. */
  send(text: string): Promise<EslFrame> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('ESL command sent while another is in flight'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.commands++;
      this.sock.write(text);
    });
  }

  /** Ends the session: `exit` tells FreeSWITCH to close its side; the dialplan resumes. Idempotent. */
  close(why = 'done'): void {
    if (this.stateNow === 'closed') return;
    if (!this.failure && this.sock.writable) this.sock.end('exit\n\n');
    // The deadline is not cleared here but when the socket is gone (fail on 'close'): FreeSWITCH
    // closes after `exit`, a silent peer that does not is cut off by the idle timeout below, and a
    // peer that keeps talking (which restarts an idle timeout with every byte) by the deadline.
    this.move('closed', why);
    this.sock.setTimeout(1000, () => this.sock.destroy());
  }

  /**
   * Ends the session with one last command and no `exit`: the command, then our FIN. FreeSWITCH
   * runs the command, then reads end-of-file where `exit` would be, and closes its side — the same
   * ending for 6 bytes fewer, each of which mod_event_socket reads with a recv() and a sched_yield()
   * of its own. Its reply is not awaited: a synchronous-mode `sendmsg` says `+OK` whatever the app
   * did (mod_event_socket.c parse_command), so waiting for it would cost a round trip for nothing.
   */
  closeWith(command: string, why = 'done'): void {
    if (this.stateNow === 'closed') return;
    if (!this.failure && this.sock.writable) {
      this.commands++;
      this.sock.end(command);
    }
    this.move('closed', why);
    this.sock.setTimeout(1000, () => this.sock.destroy());
  }

  /** Protocol failure, deadline or close: wakes the waiter, destroys the socket. Idempotent. */
  fail(err: Error, why: string): void {
    if (this.failure) return;
    this.failure = err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
    this.finish(why);
    if (!this.sock.destroyed) this.sock.destroy();
  }

  private finish(why: string): void {
    this.options.timers.clearTimeout(this.deadline);
    this.move('closed', why);
  }

  private move(to: EslSessionState, why: string): void {
    if (this.stateNow === to || this.stateNow === 'closed') return;
    const from = this.stateNow;
    this.stateNow = to;
    this.options.onTransition?.(from, to, why);
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    let frames: EslFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.fail(err as Error, 'bad frame');
      return;
    }
    for (const frame of frames) {
      const type = frame.headers['Content-Type'];
      if (type === 'text/disconnect-notice') {
        this.fail(new EslProtocolError('FreeSWITCH disconnected', 'closed'), 'disconnect notice');
        return;
      }
      if (type !== 'command/reply' && type !== 'api/response') continue;
      const w = this.waiter;
      this.waiter = null;
      w?.resolve(frame);
    }
  }
}
