/**
 * Event Socket framing (mod_event_socket's plain text protocol): a frame is `Name: value` header
 * lines ended by a blank line, followed by exactly `Content-Length` bytes of body when that header
 * is present. Header values of events and of the outbound `connect` reply are URL-encoded.
 *
 * Written here rather than taken from drachtio-modesl because its Parser keeps every byte it has
 * not yet parsed with no limit (a peer that never sends a blank line grows memory without bound),
 * rescans the whole buffer from the start on every chunk, and trusts any Content-Length: a daemon
 * on the call path must bound what one connection costs. Everything here is bounded and fails with
 * an `EslProtocolError` the session turns into a closed socket.
 */

export interface EslFrame {
  /** Header names as sent (case kept); values URL-decoded. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface EslFrameLimits {
  /** Largest header block (bytes; default 64 KiB: a `connect` reply with all channel variables is ~5–15 KiB). */
  readonly maxHeaderBytes?: number;
  /** Largest body (bytes; default 64 KiB). */
  readonly maxBodyBytes?: number;
  /**
   * Most frames one reader yields (default unlimited, for a connection subscribed to events). A
   * connection that expects only a few replies sets it: parsing is what a flood of tiny frames
   * costs, and that is CPU every other call on the event loop waits for.
   */
  readonly maxFrames?: number;
}

export type EslProtocolReason =
  'header-too-long' | 'body-too-long' | 'too-many-frames' | 'not-esl' | 'closed' | 'timeout';

export class EslProtocolError extends Error {
  constructor(
    message: string,
    readonly reason: EslProtocolReason,
  ) {
    super(message);
    this.name = 'EslProtocolError';
  }
}

const LF = 0x0a;

/** `%20` → space; a value that is not valid percent-encoding is kept as sent. */
export function decodeHeaderValue(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Parses a header block (without the blank line); null when a line is not `Name: value`. */
export function parseHeaderBlock(text: string): Record<string, string> | null {
  const headers: Record<string, string> = {};
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const colon = line.indexOf(':');
    // Header names are tokens: letters, digits, '-', '_' (Caller-Caller-ID-Number, variable_sip_h_X-Foo).
    if (colon <= 0 || !/^[A-Za-z0-9_\-.]+$/.test(line.slice(0, colon))) return null;
    headers[line.slice(0, colon)] = decodeHeaderValue(line.slice(colon + 1).trimStart());
  }
  return headers;
}

/** Accumulates socket chunks and yields complete frames. One reader per connection. */
export class EslFrameReader {
  private readonly maxHeader: number;
  private readonly maxBody: number;
  private readonly maxFrames: number;
  private frames = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Where the blank-line search resumes, so each byte is scanned once (not from the start per chunk). */
  private scanFrom = 0;
  private pendingHeaders: Record<string, string> | null = null;
  private bodyLength = 0;

  constructor(limits: EslFrameLimits = {}) {
    this.maxHeader = limits.maxHeaderBytes ?? 65_536;
    this.maxBody = limits.maxBodyBytes ?? 65_536;
    this.maxFrames = limits.maxFrames ?? Infinity;
  }

  /** Bytes held waiting for the rest of a frame (for tests and health). */
  get buffered(): number {
    return this.buf.length;
  }

  /** Adds a chunk; returns the frames it completed. Throws EslProtocolError on a bad or oversize frame. */
  push(chunk: Buffer): EslFrame[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: EslFrame[] = [];
    for (;;) {
      if (this.pendingHeaders !== null) {
        if (this.buf.length < this.bodyLength) return out;
        const body = this.buf.subarray(0, this.bodyLength).toString('utf8');
        this.buf = this.buf.subarray(this.bodyLength);
        out.push({ headers: this.pendingHeaders, body });
        this.pendingHeaders = null;
        continue;
      }
      // Blank lines between frames are allowed (FreeSWITCH never sends them, telnet users do).
      while (this.buf.length > 0 && this.buf[0] === LF) this.buf = this.buf.subarray(1);
      const end = this.findBlankLine();
      if (end === -1) {
        if (this.buf.length > this.maxHeader) throw new EslProtocolError('header block too long', 'header-too-long');
        return out;
      }
      if (end > this.maxHeader) throw new EslProtocolError('header block too long', 'header-too-long');
      if (++this.frames > this.maxFrames)
        throw new EslProtocolError(`more than ${this.maxFrames} frames`, 'too-many-frames');
      const headers = parseHeaderBlock(this.buf.subarray(0, end).toString('utf8'));
      if (headers === null) throw new EslProtocolError('not an Event Socket header block', 'not-esl');
      this.buf = this.buf.subarray(end + 2);
      this.scanFrom = 0;
      const lengthText = headers['Content-Length'];
      if (lengthText === undefined) {
        out.push({ headers, body: '' });
        continue;
      }
      if (!/^\d{1,9}$/.test(lengthText)) throw new EslProtocolError('bad Content-Length', 'not-esl');
      const length = Number(lengthText);
      if (length > this.maxBody) throw new EslProtocolError('body too long', 'body-too-long');
      this.pendingHeaders = headers;
      this.bodyLength = length;
    }
  }

  private findBlankLine(): number {
    for (let i = Math.max(this.scanFrom, 0); i + 1 < this.buf.length; i++) {
      if (this.buf[i] === LF && this.buf[i + 1] === LF) return i;
    }
    this.scanFrom = Math.max(0, this.buf.length - 1);
    return -1;
  }
}

/** `sendmsg` that makes the channel run one dialplan application (outbound mode: no UUID needed). */
export function executeCommand(app: string, arg: string): string {
  // One line each: a line break in an argument would end the header early.
  const clean = (s: string): string => s.replace(/[\r\n]+/g, ' ');
  return `sendmsg\ncall-command: execute\nexecute-app-name: ${clean(app)}\nexecute-app-arg: ${clean(arg)}\n\n`;
}
