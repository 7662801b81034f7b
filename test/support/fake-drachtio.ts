/**
 * A protocol peer that plays drachtio-server's side of its TCP control protocol towards one
 * drachtio-srf application, in the framing drachtio-srf's lib/wire-protocol.js parses:
 * `<byte length>#<msgId>|<verb>|…`, the first line ended by CRLF and followed by a SIP message
 * when there is one. It answers `authenticate|<secret>|<tags>` with `response|<id>|OK|<hostport>|…`
 * (or NOK for a wrong secret), `route|<verb>` with OK, records the application's `sip|…` responses
 * and `proxy|…` requests (answering a proxy with `OK|done`), and sends network requests as
 * `sip|network|<len>|udp|<addr>|<port>|<time>|<txnId>|<dialogId>` + CRLF + SIP text.
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
  routes: string[] = [];
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
      const w = { test, resolve: () => { clearTimeout(timer); resolve(); } };
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
    const frame = this.frame(`${randomUUID()}|sip|network|${Buffer.byteLength(sip)}|udp|198.51.100.7|5060|${time}|${txnId}|\r\n${sip}`);
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

  private accept(sock: net.Socket): void {
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
      if (this.authenticated) this.reply(msgId, 'OK', '127.0.0.1:5060', 'v0.8.26', 'udp/127.0.0.1:5060');
      else this.reply(msgId, 'NOK', 'incorrect secret');
    } else if (verb === 'route') {
      this.routes.push(tokens[0] ?? '');
      this.reply(msgId, 'OK');
    } else if (verb === 'proxy') {
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
export function sipRequest(method: 'INVITE' | 'MESSAGE', opts: { from: string; to: string; headers?: Record<string, string>; body?: string }): string {
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
