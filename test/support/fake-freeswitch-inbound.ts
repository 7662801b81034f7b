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
 * - `api <cmd>` → `api/response` with a Content-Length body: mod_commands' `global_setvar <v>=<x>`
 *   (`+OK`), `global_getvar <v>`, `sched_api +<secs> <group> <command>` (`+OK Added: <id>`) and
 *   `sched_del <id|group>` (`+OK Deleted: <n>`) act on the fake's global variables and scheduler;
 *   `chat` answers `Sent` (mod_sms), anything else `+OK`;
 * - `sendevent <NAME>` with its header lines and a Content-Length body → `+OK <event uuid>`;
 * - `exit` → `+OK bye`, a disconnect notice, close.
 *
 * Events go out as `text/event-plain`: the outer Content-Length frame around switch_event_serialize's
 * text (values URL-encoded, empty ones `_undef_`, the body after an inner `Content-Length`).
 *
 * Every command is recorded (with its parsed headers and body, and how many earlier commands of the
 * connection were still unanswered when it arrived), so tests assert on recorded exchanges.
 *
 * FreeSWITCH's own state that outlives a connection is modelled too, on a virtual clock the test
 * moves (`advance`): the global variables, and the core scheduler as switch_scheduler.c runs it —
 * a task's runtime is whole epoch seconds (`+N` = now truncated to the second, plus N) and the task
 * thread looks every 500 ms, running each task whose runtime has come. `restart()` loses both, as a
 * FreeSWITCH restart does. `chatplan()` plays config/freeswitch/chatplan-callscreen.xml against the
 * `<marker>_sms` variable: fired to the daemon (screen; then, as the real core does, the same message
 * again as a delivery report that the daemon must ignore), refused (closed, inbound), or delivered
 * unscreened by the rest of the site's chatplan (unset/off; agents' messages also when closed).
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
  /** The far end went silent without closing (network drop): nothing read, writes vanish. */
  dead: boolean;
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
    login: 'sip:mod_sofia@198.51.100.1:5080',
    proto: 'sip',
    to_proto: 'sip',
    from: '+15550000000@carrier.example',
    from_user: '+15550000000',
    from_host: 'carrier.example',
    to_user: '+15550100',
    to_host: 'pbx.example',
    from_sip_ip: '198.51.100.7',
    from_sip_port: '5060',
    to: '+15550100@pbx.example',
    subject: 'SIMPLE MESSAGE',
    context: 'public',
    type: 'text/plain',
    from_full: '"Some Sender" <sip:+15550000000@carrier.example>;tag=8h2Kx9',
    sip_profile: 'external',
    dest_proto: 'sip',
    max_forwards: '69',
    callscreen: 'screen',
    'Event-Name': 'MESSAGE',
    'Core-UUID': '6f1c2a7e-1d2b-4c3d-8e9f-0a1b2c3d4e5f',
    'FreeSWITCH-Hostname': 'pbx',
    'FreeSWITCH-Switchname': 'pbx',
    'FreeSWITCH-IPv4': '198.51.100.1',
    'FreeSWITCH-IPv6': '::1',
    'Event-Date-Local': '2026-11-01 12:00:00',
    'Event-Date-GMT': 'Sun, 01 Nov 2026 12:00:00 GMT',
    'Event-Date-Timestamp': '1793534400000000',
    'Event-Calling-File': 'mod_sms.c',
    'Event-Calling-Function': 'fire_function',
    'Event-Calling-Line-Number': '466',
    'Event-Sequence': String(n),
    ...over,
  };
}

export interface FakeInboundOptions {
  readonly password: string;
  /** Answer to `api <cmd>`; default: the modelled mod_commands/mod_sms answers (see above). */
  readonly apiReply?: (cmd: string) => string;
  /** Global variables set at start (vars.xml `X-PRE-PROCESS cmd="set"`). */
  readonly vars?: Readonly<Record<string, string>>;
  /** Virtual epoch ms at start; default mid-second, so whole-second truncation shows. */
  readonly clockMs?: number;
}

export interface ScheduledTask {
  readonly id: number;
  readonly group: string;
  /** Epoch seconds it runs at (or after: the task thread looks every 500 ms). */
  readonly runtime: number;
  readonly command: string;
}

/** What the chatplan snippet did with a message. */
export type ChatplanOutcome =
  | 'fired' // screen: a copy fired as a MESSAGE event to at least one subscribed connection, then stop
  | 'lost' // screen, but no connection subscribed: the copy went nowhere and the chatplan stopped
  | 'refused' // closed: not delivered (inbound)
  | 'delivered'; // unscreened: the rest of the site's chatplan sent it (recorded in `delivered`)

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
  connections = 0;
  /** FreeSWITCH's global variables (switch_core_set_variable). */
  readonly globals = new Map<string, string>();
  /** The core scheduler's pending tasks. */
  readonly tasks: ScheduledTask[] = [];
  /** Commands the scheduler ran, with the virtual epoch ms they ran at. */
  readonly ran: Array<{ readonly task: ScheduledTask; readonly atMs: number }> = [];
  /** Messages the chatplan delivered unscreened (not through the daemon). */
  readonly delivered: Array<{ readonly headers: Readonly<Record<string, string>>; readonly body: string }> = [];
  /** Virtual epoch ms (the scheduler's clock; `advance` moves it). */
  clockMs: number;
  private taskSeq = 0;
  private readonly presetVars: Readonly<Record<string, string>>;
  private server: net.Server | null = null;
  private readonly conns = new Map<number, Conn>();
  private readonly waiters: Array<{
    from: number;
    pred: (c: ReceivedCommand) => boolean;
    resolve: (c: ReceivedCommand) => void;
  }> = [];

  constructor(options: FakeInboundOptions) {
    this.password = options.password;
    this.apiReply = options.apiReply ?? ((cmd) => this.modelledApi(cmd));
    this.presetVars = options.vars ?? {};
    for (const [k, v] of Object.entries(this.presetVars)) this.globals.set(k, v);
    // 1,800,000,000.25 s: a quarter into a second.
    this.clockMs = options.clockMs ?? 1_800_000_000_250;
  }

  /**
   * Moves the virtual clock on by `ms`, running the scheduler's task thread at every 500 ms tick on
   * the way (its switch_yield(500000) loop), as switch_scheduler.c does: tasks whose runtime (epoch
   * seconds) is at or before the tick's second run, in id order, and are removed (one-shot).
   */
  advance(ms: number): void {
    const until = this.clockMs + ms;
    for (let tick = Math.floor(this.clockMs / 500) * 500 + 500; tick <= until; tick += 500) {
      this.clockMs = tick;
      const nowS = Math.floor(tick / 1000);
      for (const task of this.tasks.filter((x) => x.runtime <= nowS).sort((a, b) => a.id - b.id)) {
        this.tasks.splice(this.tasks.indexOf(task), 1);
        this.ran.push({ task, atMs: tick });
        this.modelledApi(task.command);
      }
    }
    this.clockMs = until;
  }

  /** FreeSWITCH stopped and started again on the same port: connections closed, globals back to vars.xml, no tasks. */
  async restart(): Promise<void> {
    await this.down();
    this.globals.clear();
    for (const [k, v] of Object.entries(this.presetVars)) this.globals.set(k, v);
    this.tasks.splice(0);
    this.taskSeq = 0;
    await this.listen();
  }

  /**
   * A message entering the chatplan snippet's context (inbound: carriers' messages to DIDs; outbound:
   * agents' messages), as config/freeswitch/chatplan-callscreen.xml decides on `${<marker>_sms}`.
   */
  chatplan(
    headers: Readonly<Record<string, string>>,
    body: string,
    direction: 'inbound' | 'outbound' = 'inbound',
    marker = 'callscreen',
  ): ChatplanOutcome {
    const mode = this.globals.get(`${marker}_sms`);
    if (mode === 'screen' && (headers[marker] ?? '') === '') {
      const fired = {
        ...headers,
        [marker]: 'screen',
        ...(direction === 'outbound' ? { [`${marker}_direction`]: 'outbound' } : {}),
      };
      const reached = this.sendEvent(fired, body);
      // After the chatplan the core fires the message once more as its own delivery report
      // (switch_loadable_module.c do_chat_send): same headers, the marker included, so it passes the
      // daemon's filter too, plus `final` and the report flag (recorded from 1.10.12:
      // test/pbx/freeswitch/recorded/message-event-after-chatplan.txt). A screener must ignore it.
      this.sendEvent({ ...fired, final_delivery: 'true', 'Nonblocking-Delivery': 'true' }, body);
      return reached > 0 ? 'fired' : 'lost';
    }
    if (mode === 'closed' && direction === 'inbound') return 'refused';
    this.delivered.push({ headers, body });
    return 'delivered';
  }

  /** The far end of every connection goes silent without closing (a network drop): FreeSWITCH still writes to it. */
  blackhole(): void {
    for (const c of this.conns.values()) c.dead = true;
  }

  /** mod_commands' global_setvar/global_getvar/sched_api/sched_del, mod_sms's chat; anything else `+OK`. */
  private modelledApi(cmd: string): string {
    const space = cmd.indexOf(' ');
    const name = space === -1 ? cmd : cmd.slice(0, space);
    const arg = space === -1 ? '' : cmd.slice(space + 1);
    switch (name) {
      case 'chat':
        return 'Sent';
      case 'global_setvar': {
        // switch_separate_string on '=': the name, then the value (empty: unset).
        const [v = '', value = ''] = arg.split('=');
        if (v === '') return '-USAGE: <var>=<value>\n';
        if (value === '') this.globals.delete(v);
        else this.globals.set(v, value);
        return '+OK';
      }
      case 'global_getvar':
        // An unset variable answers "-ERR no reply" (recorded from 1.10.12), not an empty body.
        return this.globals.get(arg) ?? '-ERR no reply\n';
      case 'sched_api': {
        const m = /^\+(\d+) (\S+) (.+)$/.exec(arg);
        if (!m) return '-ERR Invalid syntax. USAGE: [+@]<time> <group_name> <command_string>[&]\n';
        const task: ScheduledTask = {
          id: ++this.taskSeq,
          group: m[2] ?? '',
          runtime: Math.floor(this.clockMs / 1000) + Number(m[1]),
          command: m[3] ?? '',
        };
        this.tasks.push(task);
        return `+OK Added: ${task.id}\n`;
      }
      case 'sched_del': {
        if (arg === '') return '-ERR Invalid syntax\n';
        const gone = this.tasks.filter((x) => (/^\d+$/.test(arg) ? x.id === Number(arg) : x.group === arg));
        for (const x of gone) this.tasks.splice(this.tasks.indexOf(x), 1);
        return `+OK Deleted: ${gone.length}\n`;
      }
      default:
        return '+OK';
    }
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
    // Gone at once, not at the close event a turn later: nothing more is written to them.
    this.conns.clear();
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
    const c: Conn = {
      id: ++this.connections,
      sock,
      dead: false,
      authed: false,
      events: new Set(),
      filters: [],
      buf: Buffer.alloc(0),
      unanswered: 0,
    };
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
    if (c.dead) return;
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
      // Each command is answered after a turn of the event loop, so a client that does not wait shows it.
      setImmediate(() => {
        c.unanswered--;
        this.answer(c, line);
      });
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
    if (c.sock.writable && !c.dead) c.sock.write(data);
  }

  private async writeChunked(c: Conn, data: string, size: number): Promise<void> {
    const bytes = Buffer.from(data);
    for (let i = 0; i < bytes.length; i += size) {
      this.write(c, bytes.subarray(i, i + size));
      await new Promise((r) => setImmediate(r));
    }
  }
}
