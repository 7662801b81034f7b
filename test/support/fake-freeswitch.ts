/**
 * A protocol peer that plays FreeSWITCH's side of an outbound Event Socket connection (the
 * `socket` dialplan application): it dials our server, waits for `connect`, replies with the
 * channel data as a `command/reply` header block (values URL-encoded, as mod_event_socket sends
 * them), answers each `sendmsg` with `+OK`, each `api` with an `api/response` body (only with
 * `Control: full` in the channel data, as FreeSWITCH: else `-ERR command not found`), and `exit` with
 * `+OK bye` and a `text/disconnect-notice`. It records every command it was sent, in order.
 *
 * It is not FreeSWITCH: it proves our side of the framing and the commands we choose, not what
 * FreeSWITCH does with them.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { parseHeaderBlock } from '../../daemon/pbx/freeswitch/esl-frame.js';

export interface FakeFreeswitchCall {
  /** Commands received, each without its terminating blank line (`connect`, `sendmsg\ncall-command: …`). */
  readonly commands: string[];
  /** Who ended it: the server (`exit` or close), or our own timeout. */
  readonly endedBy: 'server' | 'timeout';
  readonly ms: number;
}

export interface FakeFreeswitchOptions {
  /** Answer to `api <cmd>` (default `Sent`, what mod_sms's chat says). */
  readonly apiBody?: (command: string) => string;
  /** Write the connect reply in pieces of this many bytes, each after a tick (partial frames). */
  readonly chunkBytes?: number;
  /** Bytes sent instead of the connect reply (garbage frames). */
  readonly rawReply?: string | Buffer;
  /** Never answer `connect` (a FreeSWITCH that hangs). */
  readonly silent?: boolean;
  /** Give up after this long (ms, default 5000). */
  readonly timeoutMs?: number;
}

/**
 * Channel data of an inbound SIP call, as FreeSWITCH puts it in the `connect` reply (the shape of
 * test/pbx/freeswitch/recorded/, trimmed: a real reply has ~170 headers).
 */
export function channelData(over: Record<string, string> = {}): Record<string, string> {
  const uuid = `4b5c${Math.floor(Math.random() * 1e9)}-0000-4000-8000-000000000000`;
  return {
    'Event-Name': 'CHANNEL_DATA',
    'Content-Type': 'command/reply',
    // As recorded from 1.10.12: "+OK" and a line feed, and single-channel for `socket host:port`.
    'Reply-Text': '+OK\n',
    'Socket-Mode': 'static',
    Control: 'single-channel',
    'Channel-State': 'CS_EXECUTE',
    'Channel-Name': 'sofia/external/+15550000000@198.51.100.7',
    'Unique-ID': uuid,
    'Call-Direction': 'inbound',
    'Answer-State': 'ringing',
    'Caller-Caller-ID-Name': 'Some Caller',
    'Caller-Caller-ID-Number': '+15550000000',
    'Caller-Destination-Number': '+15550100',
    'Caller-Context': 'public',
    'Caller-Unique-ID': uuid,
    variable_sip_from_user: '+15550000000',
    variable_domain_name: 'pbx.example',
    ...over,
  };
}

/**
 * A `connect` reply recorded from a real FreeSWITCH 1.10.12 (test/pbx/freeswitch/recorded/
 * connect-reply-<name>.txt, the bytes as they arrived), decoded; dialOut() sends it again encoded.
 */
export function recordedConnectReply(name: 'plain' | 'withheld' | 'withheld-pai'): Record<string, string> {
  const raw = readFileSync(new URL(`../pbx/freeswitch/recorded/connect-reply-${name}.txt`, import.meta.url), 'utf8');
  const headers = parseHeaderBlock(raw.replace(/\n\n$/, ''));
  if (!headers) throw new Error(`recorded connect reply ${name} does not parse`);
  return headers;
}

const encode = (headers: Record<string, string>): string =>
  Object.entries(headers)
    .map(([k, v]) => `${k}: ${encodeURIComponent(v)}\n`)
    .join('') + '\n';

export function dialOut(
  port: number,
  data: Record<string, string>,
  options: FakeFreeswitchOptions = {},
): Promise<FakeFreeswitchCall> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const commands: string[] = [];
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    let done = false;
    const finish = (endedBy: 'server' | 'timeout'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ commands, endedBy, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 5000);
    const write = (text: string | Buffer): void => {
      if (!sock.writable) return;
      sock.write(text);
    };
    const writeChunked = async (text: string, size: number): Promise<void> => {
      for (let i = 0; i < text.length; i += size) {
        write(text.slice(i, i + size));
        await new Promise((r) => setImmediate(r));
      }
    };
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const cmd = buf.slice(0, end);
        buf = buf.slice(end + 2);
        commands.push(cmd);
        if (cmd === 'connect') {
          if (options.silent) continue;
          if (options.rawReply !== undefined) write(options.rawReply);
          else if (options.chunkBytes) void writeChunked(encode(data), options.chunkBytes);
          else write(encode(data));
        } else if (cmd.startsWith('sendmsg')) {
          write('Content-Type: command/reply\nReply-Text: +OK\n\n');
        } else if (cmd.startsWith('api ') && data['Control'] !== 'full') {
          // mod_event_socket refuses api (and everything but sendmsg/getvar/event…) on a socket the
          // dialplan opened without `full` (recorded from 1.10.12).
          write('Content-Type: command/reply\nReply-Text: -ERR command not found\n\n');
        } else if (cmd.startsWith('api ')) {
          const body = options.apiBody?.(cmd.slice(4)) ?? 'Sent';
          write(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`);
        } else if (cmd === 'exit') {
          const bye = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';
          write('Content-Type: command/reply\nReply-Text: +OK bye\n\n');
          write(`Content-Type: text/disconnect-notice\nContent-Length: ${bye.length}\n\n${bye}`);
          sock.end();
        } else {
          write('Content-Type: command/reply\nReply-Text: -ERR command not found\n\n');
        }
      }
    });
    // The server's FIN where `exit` would be (the one-command exchange): FreeSWITCH's read_packet
    // sees end-of-file, ends the listener and says goodbye as it does after `exit`, minus the reply.
    sock.on('end', () => {
      if (commands.at(-1) === 'exit') return;
      const bye = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';
      write(`Content-Type: text/disconnect-notice\nContent-Length: ${bye.length}\n\n${bye}`);
    });
    sock.on('error', (err) => (done ? undefined : commands.length === 0 ? reject(err) : finish('server')));
    sock.on('close', () => finish('server'));
  });
}

/** The `execute-app-name execute-app-arg` pairs of the sendmsg commands in a recorded call. */
export function executed(call: FakeFreeswitchCall): string[] {
  return call.commands
    .filter((c) => c.startsWith('sendmsg'))
    .map((c) => {
      const app = /execute-app-name: (.*)/.exec(c)?.[1] ?? '';
      const arg = /execute-app-arg: (.*)/.exec(c)?.[1] ?? '';
      return `${app} ${arg}`;
    });
}
