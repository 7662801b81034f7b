/**
 * One FastAGI connection: reads the `agi_*` environment up to the blank line, then sends commands
 * one at a time and reads their replies. Everything is bounded so that a hostile or broken peer
 * (random bytes, a line that never ends, a client that says nothing) costs at most a few KiB and
 * `idleTimeoutMs`: the session fails and the socket is destroyed.
 *
 * An out-of-band `HANGUP` line (Asterisk sends it when the caller hangs up, unless AGISIGHUP=no)
 * marks the session hung up: commands after that are not sent (there is nobody to answer).
 */
import type { Socket } from 'node:net';
import { parseEnvLine, parseReply, type AgiEnv, type AgiReply } from './agi-protocol.js';

export interface AgiSessionLimits {
  /** Longest line accepted, environment or reply (bytes; default 8 KiB — Asterisk's own buffer is 2 KiB). */
  readonly maxLineBytes?: number;
  /** Environment lines accepted before the blank line (default 128; Asterisk sends ~25 plus arguments). */
  readonly maxEnvLines?: number;
  /** Continuation lines of one reply (a multi-line `520-` usage text; default 64). */
  readonly maxReplyLines?: number;
}

export class AgiProtocolError extends Error {
  constructor(
    message: string,
    readonly reason: 'line-too-long' | 'too-many-lines' | 'not-agi' | 'closed' | 'idle',
  ) {
    super(message);
    this.name = 'AgiProtocolError';
  }
}

type Waiter = { resolve: (r: AgiReply | null) => void; reject: (e: Error) => void; lines: string[] };

export class AgiSession {
  private readonly maxLine: number;
  private readonly maxEnvLines: number;
  private readonly maxReplyLines: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly env: Record<string, string> = {};
  private envLines = 0;
  private envDone = false;
  private envWaiter: { resolve: (e: AgiEnv) => void; reject: (e: Error) => void } | null = null;
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  /** The caller hung up (out-of-band HANGUP) or the socket closed. */
  hungUp = false;
  /** end() was called: the session is complete. */
  private ended = false;
  /** Commands sent on this session (for tests and counters). */
  commands = 0;

  constructor(
    private readonly sock: Socket,
    limits: AgiSessionLimits = {},
  ) {
    this.maxLine = limits.maxLineBytes ?? 8192;
    this.maxEnvLines = limits.maxEnvLines ?? 128;
    this.maxReplyLines = limits.maxReplyLines ?? 64;
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => {
      this.hungUp = true;
      // Every call ends with a close; building an Error (a stack trace) for each cost more CPU than
      // parsing the environment. The close after a failure needs nothing.
      if (!this.failure && !this.ended) this.fail(new AgiProtocolError('connection closed', 'closed'));
    });
  }

  /** The environment, once the blank line has arrived. Rejects on a protocol error or close. */
  environment(): Promise<AgiEnv> {
    if (this.envDone) return Promise.resolve(this.env);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.envWaiter = { resolve, reject };
    });
  }

  /**
   * Sends one command and resolves with its reply; null when the caller has hung up (nothing is
   * sent then). Rejects when the connection fails. One command at a time, as AGI requires.
   */
  command(line: string): Promise<AgiReply | null> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.hungUp) return Promise.resolve(null);
    if (this.waiter) return Promise.reject(new Error('AGI command sent while another is in flight'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject, lines: [] };
      this.commands++;
      this.sock.write(`${line}\n`);
    });
  }

  /**
   * The server has answered: closes our side (Asterisk then sets AGISTATUS=SUCCESS and goes on).
   * The close that follows is the normal end, not a failure.
   */
  end(): void {
    if (this.failure || this.ended) return;
    this.ended = true;
    if (!this.sock.destroyed) this.sock.end();
  }

  /** Protocol failure or close: wakes whoever waits, destroys the socket. Idempotent. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.pending = [];
    this.pendingBytes = 0;
    const ew = this.envWaiter;
    this.envWaiter = null;
    ew?.reject(err);
    const w = this.waiter;
    this.waiter = null;
    // A command in flight when the caller went away: no reply will come, treat it like a hang-up.
    if (w) {
      if (this.hungUp && err instanceof AgiProtocolError && err.reason === 'closed') w.resolve(null);
      else w.reject(err);
    }
    if (!this.sock.destroyed) this.sock.destroy();
  }

  private hasFailed(): boolean {
    return this.failure !== null;
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.pendingBytes + piece.length > this.maxLine) {
        this.fail(new AgiProtocolError('line too long', 'line-too-long'));
        return;
      }
      let line: string;
      if (this.pending.length > 0) {
        this.pending.push(piece);
        line = Buffer.concat(this.pending).toString('utf8');
        this.pending = [];
        this.pendingBytes = 0;
      } else line = piece.toString('utf8');
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.onLine(line);
      // A method call, not `this.failure`: onLine may have failed the session (TypeScript's
      // narrowing from the check at the top does not see that).
      if (this.hasFailed()) return;
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0) return;
    if (this.pendingBytes + rest.length > this.maxLine) {
      this.fail(new AgiProtocolError('line too long', 'line-too-long'));
      return;
    }
    // Copy: the socket may reuse its buffer.
    this.pending.push(Buffer.from(rest));
    this.pendingBytes += rest.length;
  }

  private onLine(line: string): void {
    if (!this.envDone) {
      if (line === '') {
        if (this.envLines === 0) {
          this.fail(new AgiProtocolError('empty environment', 'not-agi'));
          return;
        }
        this.envDone = true;
        const ew = this.envWaiter;
        this.envWaiter = null;
        ew?.resolve(this.env);
        return;
      }
      const kv = parseEnvLine(line);
      if (!kv) {
        this.fail(new AgiProtocolError('not an AGI environment line', 'not-agi'));
        return;
      }
      if (++this.envLines > this.maxEnvLines) {
        this.fail(new AgiProtocolError('too many environment lines', 'too-many-lines'));
        return;
      }
      this.env[kv.key] = kv.value;
      return;
    }
    if (line === 'HANGUP') {
      this.hungUp = true;
      return;
    }
    const w = this.waiter;
    if (!w) return; // unsolicited line after the environment: ignored
    // A reply starts with a status code; anything else (the tail of a value that held a line
    // break) must not be taken for the reply to this command.
    if (w.lines.length === 0 && !/^\d{3}[ -]/.test(line)) return;
    w.lines.push(line);
    if (w.lines.length > this.maxReplyLines) {
      this.fail(new AgiProtocolError('reply too long', 'too-many-lines'));
      return;
    }
    // "520-Invalid command syntax…" continues until "520 End of proper usage."
    if (/^\d{3}-/.test(w.lines[0] ?? '') && !/^\d{3} /.test(line)) return;
    this.waiter = null;
    w.resolve(parseReply(w.lines.join('\n')));
  }
}
