/**
 * A protocol peer that plays drachtio-server's side of its TCP control protocol towards one
 * drachtio-srf application, in the framing drachtio-srf's lib/wire-protocol.js parses:
 * `<byte length>#<msgId>|<verb>|…`, the first line ended by CRLF and followed by a SIP message
 * when there is one. What it sends is what a real drachtio-server 0.9.4 sent to drachtio-srf 5.0.29
 * (recorded through a logging TCP relay; test/e2e/sip-edge-drachtio.test.ts runs the real one):
 * - `authenticate|<secret>|<tags>` → `response|<id>|OK|<transports>|v0.9.4|<transports>` where
 *   transports is `tcp/<ip>:<port>,udp/<ip>:<port>`; a wrong secret → `response|<id>|NO|incorrect
 *   secret` and the connection closed by the server (drachtio-srf then retries every 255 ms);
 * - `route|<verb>` → `response|<id>|OK`;
 * - a network request → `sip|network|<len>|udp|<src addr>|<src port>|<time>|<txnId>||<server ip>|<server port>|`
 *   + CRLF + SIP text (the dialog id empty, then the address it arrived on);
 * - the application's `sip|<txnId>|…` response → echoed back as sent: `response|<id>|OK|application|
 *   <len>|udp|<addr>|<port>|<time>|<txnId>|<dialogId>||Msg sent:|` + CRLF + the SIP response;
 * - `proxy|<txnId>|…|<destination>` → one `response|<id>|OK|network|<len>|udp|<dest addr>|<dest port>|
 *   <time>|||continue` + CRLF + the destination's final response (`proxyStatus`, 200 by default), then
 *   `response|<id>|OK|done`.
 *
 * It is not drachtio-server: it proves our use of drachtio-srf and the messages it puts on the
 * wire, not drachtio-server's SIP behaviour.
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';

export interface AppMessage {
  readonly verb: string;
  /** Tokens after the msgId and verb. */
  readonly tokens: string[];
  /** SIP text after the first CRLF ('' when none). */
  readonly sip: string;
}

export class FakeDrachtio {
  private server: net.Server | null = null;
  private socket: net.Socket | null = null;
  private buf = Buffer.alloc(0);
  readonly received: AppMessage[] = [];
  authenticated = false;
  /** TCP connections accepted so far. */
  connections = 0;
  routes: string[] = [];
  /** Final status the proxied-to destination answers with (a `proxy` request). */
  proxyStatus = 200;
  /** The address drachtio-server's SIP stack listens on, as it reports it. */
  readonly sipAddress = { ip: '127.0.0.1', port: 5090 };
  /** Network requests sent, by transaction id (to build the proxied destination's response). */
  private readonly sent = new Map<string, string>();
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  constructor(private readonly secret: string) {}

  async listen(port = 0): Promise<number> {
    const server = net.createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    this.server = server;
    const a = server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** Stops listening and drops the application (a drachtio-server restart). */
  async close(): Promise<void> {
    this.socket?.destroy();
    this.socket = null;
    this.authenticated = false;
    this.routes = [];
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Resolves when `test` holds (checked after every message), or rejects after `ms`. */
  until(test: () => boolean, ms = 3000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error('fake drachtio: condition not met in time'));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** Sends a SIP request from "the network"; `chunkBytes` splits the frame into pieces (partial frames). */
  sendRequest(sip: string, options: { chunkBytes?: number; txnId?: string } = {}): string {
    const txnId = options.txnId ?? randomUUID();
    const time = new Date().toISOString().slice(11, 23);
    this.sent.set(txnId, sip);
    const frame = this.frame(
      `${randomUUID()}|sip|network|${Buffer.byteLength(sip)}|udp|198.51.100.7|5060|${time}|${txnId}||${this.sipAddress.ip}|${this.sipAddress.port}|\r\n${sip}`,
    );
    const size = options.chunkBytes ?? frame.length;
    for (let i = 0; i < frame.length; i += size) this.socket?.write(frame.subarray(i, i + size));
    return txnId;
  }

  /** Writes raw bytes to the application. */
  sendRaw(data: Buffer | string): void {
    this.socket?.write(data);
  }

  /** The application's messages for one transaction: its `sip|<txnId>|…` responses and `proxy|<txnId>|…`. */
  forTxn(txnId: string): AppMessage[] {
    return this.received.filter((m) => (m.verb === 'sip' || m.verb === 'proxy') && m.tokens[0] === txnId);
  }

  private frame(payload: string): Buffer {
    return Buffer.from(`${Buffer.byteLength(payload)}#${payload}`);
  }

  private reply(msgId: string, ...tokens: string[]): void {
    this.socket?.write(this.frame([randomUUID(), 'response', msgId, ...tokens].join('|')));
  }

  private replyWithSip(msgId: string, tokens: string[], sip: string): void {
    this.socket?.write(this.frame(`${[randomUUID(), 'response', msgId, ...tokens].join('|')}\r\n${sip}`));
  }

  /** The final response a proxied-to destination gives to the request of `txnId`. */
  private destinationResponse(txnId: string, status: number): string {
    const req = this.sent.get(txnId) ?? '';
    const header = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(req)?.[1]?.trim() ?? '';
    const lines = [
      `SIP/2.0 ${status} ${status === 200 ? 'OK' : 'Rejected'}`,
      `Via: SIP/2.0/UDP ${this.sipAddress.ip}:${this.sipAddress.port};rport;branch=z9hG4bK${randomUUID()}, ${header('Via')}`,
      `From: ${header('From')}`,
      `To: ${header('To')};tag=${randomUUID().slice(0, 8)}`,
      `Call-ID: ${header('Call-ID')}`,
      `CSeq: ${header('CSeq')}`,
      'Content-Length: 0',
    ];
    return `${lines.join('\r\n')}\r\n\r\n`;
  }

  private accept(sock: net.Socket): void {
    this.connections++;
    this.socket?.destroy();
    this.socket = sock;
    this.buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (let hash = this.buf.indexOf('#'); hash > 0; hash = this.buf.indexOf('#')) {
        const len = Number(this.buf.subarray(0, hash).toString());
        if (this.buf.length < hash + 1 + len) return;
        const msg = this.buf.subarray(hash + 1, hash + 1 + len).toString('utf8');
        this.buf = this.buf.subarray(hash + 1 + len);
        this.onMessage(msg);
      }
    });
    sock.on('error', () => undefined);
  }

  private onMessage(msg: string): void {
    const crlf = msg.indexOf('\r\n');
    const leader = crlf === -1 ? msg : msg.slice(0, crlf);
    const [msgId = '', verb = '', ...tokens] = leader.split('|');
    this.received.push({ verb, tokens, sip: crlf === -1 ? '' : msg.slice(crlf + 2) });
    if (verb === 'authenticate') {
      this.authenticated = tokens[0] === this.secret;
      const transports = `tcp/${this.sipAddress.ip}:${this.sipAddress.port},udp/${this.sipAddress.ip}:${this.sipAddress.port}`;
      if (this.authenticated) this.reply(msgId, 'OK', transports, 'v0.9.4', transports);
      else {
        this.reply(msgId, 'NO', 'incorrect secret');
        this.socket?.end();
      }
    } else if (verb === 'route') {
      this.routes.push(tokens[0] ?? '');
      this.reply(msgId, 'OK');
    } else if (verb === 'sip' && crlf !== -1) {
      const sip = msg.slice(crlf + 2);
      const time = new Date().toISOString().slice(11, 23);
      this.replyWithSip(
        msgId,
        [
          'OK',
          'application',
          String(Buffer.byteLength(sip)),
          'udp',
          '198.51.100.7',
          '5060',
          time,
          tokens[0] ?? '',
          tokens[1] ?? '',
          '',
          'Msg sent:',
          '',
        ],
        sip,
      );
    } else if (verb === 'proxy') {
      const txnId = tokens[0] ?? '';
      const dest = /@?([\d.]+)(?::(\d+))?/.exec(tokens.at(-1)?.replace(/^sips?:(?:[^@]*@)?/, '') ?? '');
      const final = this.destinationResponse(txnId, this.proxyStatus);
      const time = new Date().toISOString().slice(11, 23);
      this.replyWithSip(
        msgId,
        [
          'OK',
          'network',
          String(Buffer.byteLength(final)),
          'udp',
          dest?.[1] ?? '',
          dest?.[2] ?? '5060',
          time,
          '',
          '',
          'continue',
        ],
        final,
      );
      this.reply(msgId, 'OK', 'done');
    } else if (verb === 'ping') {
      this.reply(msgId, 'OK');
    }
    for (const w of [...this.waiters]) {
      if (w.test()) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }
}

/** A SIP request as drachtio-server passes it on (headers the parser needs, CRLF line ends). */
export function sipRequest(
  method: 'INVITE' | 'MESSAGE',
  opts: { from: string; to: string; headers?: Record<string, string>; body?: string },
): string {
  const callId = `${randomUUID()}@198.51.100.7`;
  const body = opts.body ?? '';
  const lines = [
    `${method} sip:${opts.to}@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK${randomUUID().slice(0, 8)}`,
    'Max-Forwards: 70',
    `From: "Caller" <sip:${opts.from}@198.51.100.7>;tag=${randomUUID().slice(0, 8)}`,
    `To: <sip:${opts.to}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:${opts.from}@198.51.100.7:5060>`,
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    ...(method === 'MESSAGE' ? ['Content-Type: text/plain'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
