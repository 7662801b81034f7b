/**
 * One FastAGI connection: reads the `agi_*` environment up to the blank line, then sends commands
 * one at a time and reads their replies. Everything is bounded so that a hostile or broken peer
 * (random bytes, a line that never ends, a client that says nothing) costs at most a few KiB and
 * `idleTimeoutMs`: the session fails and the socket is destroyed.
 *
 * An out-of-band `HANGUP` line (Asterisk sends it when the caller hangs up, unless AGISIGHUP=no)
 * marks the session hung up: commands after that are not sent (there is nobody to answer).
 *
 * The session keeps no timer of its own: its deadlines (silence, the environment) are kept by the
 * server's one sweep (agi-deadlines.ts), which reads `activity` and `environmentComplete`.
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
  /** Bumped on every chunk read and command written: the deadline sweep tells a silent session by it. */
  activity = 0;

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

  /** The blank line that ends the environment has arrived. */
  get environmentComplete(): boolean {
    return this.envDone;
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
      this.activity++;
      this.sock.write(`${line}\n`);
    });
  }

  /**
   * The server has answered: closes the connection (Asterisk then sets AGISTATUS=SUCCESS and goes
   * on). The close that follows is the normal end, not a failure.
   *
   * Every command has had its reply by now, so nothing of ours is left to send: the socket is closed
   * at once (a FIN, as `end()` sends) rather than shut down for writing and kept until Asterisk's own
   * close arrives — a syscall, a wake-up and the stream's end-of-file handling less per call (`npm run
   * bench:agi`, BENCHMARKS.md). Asterisk reads the same end of file either way; should it write once
   * more (a HANGUP racing the close), it reads a reset, which res_agi also takes for the end of the
   * script. Anything still queued to send is flushed first.
   */
  end(): void {
    if (this.failure || this.ended) return;
    this.ended = true;
    if (this.sock.destroyed) return;
    if (this.sock.writableLength === 0) this.sock.destroy();
    else this.sock.end();
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

  /**
   * Complete lines are decoded together, one UTF-8 decode per chunk instead of one per line (the
   * environment is ~25 lines in one chunk); a line's length is still checked in bytes, before it is
   * decoded. UTF-8 never uses the byte 0x0A inside a character, so splitting the decoded text at
   * "\n" gives the same lines as splitting the bytes.
   */
  private onData(chunk: Buffer): void {
    if (this.failure) return;
    this.activity++;
    const last = chunk.lastIndexOf(10);
    if (last === -1) {
      this.hold(chunk);
      return;
    }
    let text: string;
    if (this.pending.length > 0) {
      this.pending.push(chunk.subarray(0, last + 1));
      text = Buffer.concat(this.pending).toString('utf8');
    } else text = chunk.toString('utf8', 0, last + 1);
    // The first line continues what earlier chunks left pending.
    let carried = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let byteStart = 0;
    let charStart = 0;
    for (;;) {
      const nl = chunk.indexOf(10, byteStart);
      if (carried + nl - byteStart > this.maxLine) {
        this.fail(new AgiProtocolError('line too long', 'line-too-long'));
        return;
      }
      carried = 0;
      const charNl = text.indexOf('\n', charStart);
      const end = charNl > charStart && text.charCodeAt(charNl - 1) === 13 ? charNl - 1 : charNl;
      this.onLine(text.slice(charStart, end));
      // A method call, not `this.failure`: onLine may have failed the session (TypeScript's
      // narrowing from the check at the top does not see that).
      if (this.hasFailed()) return;
      byteStart = nl + 1;
      charStart = charNl + 1;
      if (nl === last) break;
    }
    if (last + 1 < chunk.length) this.hold(chunk.subarray(last + 1));
  }

  /** Keeps the start of a line that has not ended yet (bounded by maxLineBytes). */
  private hold(piece: Buffer): void {
    if (this.pendingBytes + piece.length > this.maxLine) {
      this.fail(new AgiProtocolError('line too long', 'line-too-long'));
      return;
    }
    // Copy: the socket may reuse its buffer.
    this.pending.push(Buffer.from(piece));
    this.pendingBytes += piece.length;
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
    if (w.lines.length === 0 && !isStatusLine(line)) return;
    w.lines.push(line);
    if (w.lines.length > this.maxReplyLines) {
      this.fail(new AgiProtocolError('reply too long', 'too-many-lines'));
      return;
    }
    // "520-Invalid command syntax…" continues until "520 End of proper usage."
    if ((w.lines[0] ?? '').charCodeAt(3) === 45 && !(isStatusLine(line) && line.charCodeAt(3) === 32)) return;
    this.waiter = null;
    w.resolve(parseReply(w.lines.join('\n')));
  }
}

/** `^\d{3}[ -]`: a reply's first line (`200 result=1`, `520-Invalid command syntax…`). */
function isStatusLine(line: string): boolean {
  if (line.length < 4) return false;
  for (let i = 0; i < 3; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  const sep = line.charCodeAt(3);
  return sep === 32 || sep === 45;
}
