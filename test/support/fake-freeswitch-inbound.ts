/**
 * A protocol peer that plays FreeSWITCH's mod_event_socket for INBOUND connections (what the
 * daemon's EslInboundClient logs in to), in the wire format mod_event_socket.c writes:
 *
 * - on connect `Content-Type: auth/request` (or, for an address its ACL refuses, a
 *   `text/rude-rejection` and a close);
 * - `auth <password>` → `command/reply` `+OK accepted`, or `-ERR invalid` then a
 *   `text/disconnect-notice` and a close;
 * - `event plain <names>` → `+OK event listener enabled plain`; `filter <header> <value>` →
 *   `+OK filter added. [header]=[value]` (then only events carrying a filtered value are sent);
 * - `api <cmd>` → `api/response` with a Content-Length body (`Sent` for `chat`, `+OK` otherwise);
 * - `sendevent <NAME>` with its header lines and a Content-Length body → `+OK <event uuid>`;
 * - `exit` → `+OK bye`, a disconnect notice, close.
 *
 * Events go out as `text/event-plain`: the outer Content-Length frame around switch_event_serialize's
 * text (values URL-encoded, empty ones `_undef_`, the body after an inner `Content-Length`).
 *
 * Every command is recorded (with its parsed headers and body, and how many earlier commands of the
 * connection were still unanswered when it arrived), so tests assert on recorded exchanges.
 * It is not FreeSWITCH: it proves our side of the protocol and the commands we choose, not what
 * mod_sms and sofia then do with them.
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';

export interface ReceivedCommand {
  /** Which connection (1, 2… in connect order). */
  readonly conn: number;
  /** The command line (`auth …`, `api chat …`, `sendevent CUSTOM`). */
  readonly line: string;
  /** Header lines after the command line (sendevent), raw as FreeSWITCH reads them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Commands of this connection not yet answered when this one arrived (0 for a client that waits). */
  readonly unansweredBefore: number;
}

interface Conn {
  readonly id: number;
  readonly sock: net.Socket;
  authed: boolean;
  events: Set<string>;
  filters: Array<[string, string]>;
  buf: Buffer;
  unanswered: number;
}

const BYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

/** switch_event_serialize(event, &str, SWITCH_TRUE). */
export function serializeEvent(headers: Readonly<Record<string, string>>, body = ''): string {
  let s = '';
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v === '' ? '_undef_' : encodeURIComponent(v)}\n`;
  return body !== '' ? `${s}Content-Length: ${Buffer.byteLength(body)}\n\n${body}` : `${s}\n`;
}

/** The outer frame mod_event_socket writes around a serialized event. */
export function eventFrame(serialized: string): string {
  return `Content-Length: ${Buffer.byteLength(serialized)}\nContent-Type: text/event-plain\n\n${serialized}`;
}

/**
 * A MESSAGE event as the chatplan snippet's `fire` sends it: sofia's headers for an inbound SIP
 * MESSAGE, the core's dest_proto, mod_sms's max_forwards, the snippet's marker, then what the core
 * stamps on every fired event.
 */
export function chatplanMessage(over: Record<string, string> = {}): Record<string, string> {
  // FreeSWITCH numbers every event it fires; any distinct number will do here.
  const n = 4000 + Math.floor(Math.random() * 1e9);
  return {
    login: 'sip:mod_sofia@198.51.100.1:5080', proto: 'sip', to_proto: 'sip',
    from: '+15550000000@carrier.example', from_user: '+15550000000', from_host: 'carrier.example',
    to_user: '+15550100', to_host: 'pbx.example', from_sip_ip: '198.51.100.7', from_sip_port: '5060',
    to: '+15550100@pbx.example', subject: 'SIMPLE MESSAGE', context: 'public', type: 'text/plain',
    from_full: '"Some Sender" <sip:+15550000000@carrier.example>;tag=8h2Kx9', sip_profile: 'external',
    dest_proto: 'sip', max_forwards: '69', callscreen: 'screen',
    'Event-Name': 'MESSAGE', 'Core-UUID': '6f1c2a7e-1d2b-4c3d-8e9f-0a1b2c3d4e5f', 'FreeSWITCH-Hostname': 'pbx',
    'FreeSWITCH-Switchname': 'pbx', 'FreeSWITCH-IPv4': '198.51.100.1', 'FreeSWITCH-IPv6': '::1',
    'Event-Date-Local': '2026-11-01 12:00:00', 'Event-Date-GMT': 'Sun, 01 Nov 2026 12:00:00 GMT',
    'Event-Date-Timestamp': '1793534400000000', 'Event-Calling-File': 'mod_sms.c', 'Event-Calling-Function': 'fire_function',
    'Event-Calling-Line-Number': '466', 'Event-Sequence': String(n),
    ...over,
  };
}

export interface FakeInboundOptions {
  readonly password: string;
  /** Answer to `api <cmd>`; default `Sent` for chat (mod_sms's answer), `+OK` otherwise. */
  readonly apiReply?: (cmd: string) => string;
}

export class FakeFreeswitchInbound {
  port = 0;
  password: string;
  readonly received: ReceivedCommand[] = [];
  /** Commands matching this are never answered (a FreeSWITCH that hangs on them). */
  silentOn: ((line: string) => boolean) | null = null;
  /** Reply text to sendevent (`+OK <uuid>` by default). */
  sendeventReply: () => string = () => `+OK ${randomUUID()}`;
  apiReply: (cmd: string) => string;
  /** Refuse every connection as an ACL would (`text/rude-rejection`). */
  rudeRejection = false;
  /** Send no auth/request (a port that accepts and stays silent). */
  greet = true;
  /** Answer each command after a turn of the event loop, so a client that does not wait shows it. */
  readonly replyLater = true;
  connections = 0;
  private server: net.Server | null = null;
  private readonly conns = new Map<number, Conn>();
  private readonly waiters: Array<{ from: number; pred: (c: ReceivedCommand) => boolean; resolve: (c: ReceivedCommand) => void }> = [];

  constructor(options: FakeInboundOptions) {
    this.password = options.password;
    this.apiReply = options.apiReply ?? ((cmd) => (cmd.startsWith('chat ') ? 'Sent' : '+OK'));
  }

  async listen(port = this.port): Promise<void> {
    const server = net.createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** FreeSWITCH going down: every connection gets a disconnect notice and is closed; nothing listens. */
  async down(notice = true): Promise<void> {
    for (const c of this.conns.values()) {
      if (notice) this.write(c, `Content-Type: text/disconnect-notice\nContent-Length: ${BYE.length}\n\n${BYE}`);
      c.sock.end();
    }
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Connections cut with no notice (a crash, a network drop). */
  kick(): void {
    for (const c of this.conns.values()) c.sock.destroy();
  }

  async close(): Promise<void> {
    this.kick();
    await this.down(false);
  }

  /** Commands whose line starts with `prefix`. */
  named(prefix: string): ReceivedCommand[] {
    return this.received.filter((c) => c.line.startsWith(prefix));
  }

  /** The first command at index `from` or later matching `pred`, now or when it arrives. */
  waitFor(pred: (c: ReceivedCommand) => boolean, from = 0): Promise<ReceivedCommand> {
    const found = this.received.slice(from).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ from, pred, resolve }));
  }

  /** Sends an event to every connection subscribed to its Event-Name whose filters let it through. */
  sendEvent(headers: Readonly<Record<string, string>>, body = '', options: { chunkBytes?: number } = {}): number {
    let n = 0;
    for (const c of this.conns.values()) {
      if (!c.authed || !(c.events.has('ALL') || c.events.has(headers['Event-Name'] ?? ''))) continue;
      if (c.filters.length > 0 && !c.filters.some(([h, v]) => headers[h]?.toLowerCase() === v.toLowerCase())) continue;
      const frame = eventFrame(serializeEvent(headers, body));
      if (options.chunkBytes) void this.writeChunked(c, frame, options.chunkBytes);
      else this.write(c, frame);
      n++;
    }
    return n;
  }

  /** Bytes written as they are to every logged-in connection (garbage, partial frames). */
  writeRaw(data: string | Buffer): void {
    for (const c of this.conns.values()) if (c.authed) this.write(c, data);
  }

  private accept(sock: net.Socket): void {
    const c: Conn = { id: ++this.connections, sock, authed: false, events: new Set(), filters: [], buf: Buffer.alloc(0), unanswered: 0 };
    sock.on('error', () => undefined);
    // Small writes (partial frames) go out as written, not coalesced by Nagle.
    sock.setNoDelay(true);
    if (this.rudeRejection) {
      const text = 'Access Denied, go away.\n';
      sock.end(`Content-Type: text/rude-rejection\nContent-Length: ${text.length}\n\n${text}`);
      return;
    }
    this.conns.set(c.id, c);
    sock.on('close', () => this.conns.delete(c.id));
    sock.on('data', (chunk: Buffer) => this.onData(c, chunk));
    if (this.greet) this.write(c, 'Content-Type: auth/request\n\n');
  }

  private onData(c: Conn, chunk: Buffer): void {
    c.buf = Buffer.concat([c.buf, chunk]);
    for (;;) {
      // mod_event_socket skips line breaks before a command.
      while (c.buf.length > 0 && (c.buf[0] === 0x0a || c.buf[0] === 0x0d)) c.buf = c.buf.subarray(1);
      const end = c.buf.indexOf('\n\n');
      if (end === -1) return;
      const [line = '', ...rest] = c.buf.subarray(0, end).toString('utf8').split('\n');
      const headers: Record<string, string> = {};
      for (const h of rest) {
        const i = h.indexOf(':');
        if (i > 0) headers[h.slice(0, i)] = h.slice(i + 1).replace(/^ +/, '');
      }
      const length = Number(headers['Content-Length'] ?? 0);
      if (c.buf.length < end + 2 + length) return;
      const body = c.buf.subarray(end + 2, end + 2 + length).toString('utf8');
      c.buf = c.buf.subarray(end + 2 + length);
      const cmd: ReceivedCommand = { conn: c.id, line, headers, body, unansweredBefore: c.unanswered };
      this.received.push(cmd);
      for (const w of [...this.waiters]) {
        if (this.received.length - 1 >= w.from && w.pred(cmd)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(cmd);
        }
      }
      if (this.silentOn?.(line)) continue;
      c.unanswered++;
      const answer = (): void => {
        c.unanswered--;
        this.answer(c, line);
      };
      if (this.replyLater) setImmediate(answer);
      else answer();
    }
  }

  private answer(c: Conn, line: string): void {
    const reply = (text: string): void => this.write(c, `Content-Type: command/reply\nReply-Text: ${text}\n\n`);
    if (line === 'exit') {
      reply('+OK bye');
      this.write(c, `Content-Type: text/disconnect-notice\nContent-Length: ${BYE.length}\n\n${BYE}`);
      c.sock.end();
      return;
    }
    if (!c.authed) {
      if (!line.startsWith('auth ')) {
        reply('-ERR command not found');
        return;
      }
      if (line.slice(5) === this.password) {
        c.authed = true;
        reply('+OK accepted');
      } else {
        reply('-ERR invalid');
        this.write(c, `Content-Type: text/disconnect-notice\nContent-Length: ${BYE.length}\n\n${BYE}`);
        c.sock.end();
      }
      return;
    }
    const [word = '', ...args] = line.split(' ');
    if (word === 'event' && args[0] === 'plain') {
      for (const name of args.slice(1)) c.events.add(name);
      reply('+OK event listener enabled plain');
    } else if (word === 'filter' && args.length >= 2) {
      c.filters.push([args[0] ?? '', args.slice(1).join(' ')]);
      reply(`+OK filter added. [${args[0] ?? ''}]=[${args.slice(1).join(' ')}]`);
    } else if (word === 'api') {
      const body = this.apiReply(args.join(' '));
      this.write(c, `Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`);
    } else if (word === 'sendevent') {
      reply(this.sendeventReply());
    } else {
      reply('-ERR command not found');
    }
  }

  private write(c: Conn, data: string | Buffer): void {
    if (c.sock.writable) c.sock.write(data);
  }

  private async writeChunked(c: Conn, data: string, size: number): Promise<void> {
    const bytes = Buffer.from(data);
    for (let i = 0; i < bytes.length; i += size) {
      this.write(c, bytes.subarray(i, i + size));
      await new Promise((r) => setImmediate(r));
    }
  }
}
