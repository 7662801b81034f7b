/**
 * Fault-suite helpers for the outbound Event Socket server (test/faults/esl-hostile.test.ts):
 * hostile peers that play FreeSWITCH's side badly. Each one dials the server, waits for the
 * server's `connect` (as FreeSWITCH's socket application does), then runs its act — random bytes
 * instead of the channel data, an endless header line, a silly Content-Length, silence — and
 * reports how long the server kept it and what the server sent. Loopback only.
 *
 * Run as a script it is the flood (its own process and event loop, as a real peer would be):
 *   node --import tsx faults-esl.ts <port> '<json [[kind, n], …]>'
 * prints one JSON line with, for each connection, its kind, how long it lasted and who closed it.
 * Every client gives up after 20 s, so the process always ends.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { drip, isStop, type PeerActResult } from './faults-agi.js';

export interface EslPeerResult {
  /** Who ended it: the server (close or reset), or the client giving up at its cap. */
  closedBy: 'server' | 'timeout' | 'error';
  /** Connect → end (ms). */
  ms: number;
  /** What the server wrote (first 4 KiB). */
  received: string;
  /** Our local port (the server sees it as the remote port). */
  port: number;
}

/** What a hostile peer does once the server has sent `connect`; may return a stop function. */
export type EslAct = (s: net.Socket) => PeerActResult;

/**
 * `halfOpen`: keep our side open when the server ends its own (the server's FIN is then not taken
 * as the end; only a reset, or our cap, ends it) — a peer that will not hang up.
 */
export function eslPeer(
  port: number,
  act: EslAct,
  capMs = 15_000,
  options: { halfOpen?: boolean } = {},
): Promise<EslPeerResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let received = '';
    let stop: PeerActResult;
    let acted = false;
    let done = false;
    let localPort = 0;
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: options.halfOpen === true }, () => {
      localPort = s.localPort ?? 0;
    });
    const end = (closedBy: EslPeerResult['closedBy']): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (isStop(stop)) stop();
      s.destroy();
      resolve({ closedBy, ms: performance.now() - t0, received, port: localPort });
    };
    const timer = setTimeout(() => end('timeout'), capMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      if (received.length < 4096) received = (received + d).slice(0, 4096);
      if (!acted && received.includes('connect\n\n')) {
        acted = true;
        stop = act(s);
      }
    });
    // A reset (we were writing when the server destroyed the socket) is also the server closing us.
    s.on('error', (e: NodeJS.ErrnoException) =>
      end(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'server' : 'error'),
    );
    s.on('close', () => end('server'));
  });
}

const write =
  (data: Buffer | string): EslAct =>
  (s) => {
    s.write(data);
  };

/** The hostile kinds, by name: single cases and flood mixes use the same table. */
export const ESL_HOSTILE: Record<string, EslAct> = {
  silent: () => undefined,
  'random 4 KiB': (s) => {
    s.write(randomBytes(4096));
  },
  'random 1 MiB': (s) => {
    s.write(randomBytes(1024 * 1024));
  },
  '1 MiB header line': write(Buffer.alloc(1024 * 1024, 0x61)),
  '64 KiB header line': write(Buffer.alloc(64 * 1024, 0x62)),
  'never-ending header line': drip('z'.repeat(200), 20),
  'Content-Length 10^12': write('Content-Type: command/reply\nContent-Length: 1000000000000\n\n'),
  'Content-Length -1': write('Content-Type: command/reply\nContent-Length: -1\n\n'),
  'Content-Length abc': write('Content-Type: command/reply\nContent-Length: abc\n\n'),
  'Content-Length 999999999': write('Content-Type: command/reply\nContent-Length: 999999999\n\n'),
  'Content-Length 60000, body never sent': write('Content-Type: command/reply\nContent-Length: 60000\n\nonly this'),
  'slow drip': (s) => {
    s.write('Content-Type: command/reply\n');
    return drip('a', 300)(s);
  },
  'endless event frames': drip('Content-Type: text/event-plain\nContent-Length: 0\n\n'.repeat(5), 20),
  'tiny event frames as fast as TCP takes them': (s) => {
    const burst = Buffer.from('Content-Type: text/event-plain\n\n'.repeat(2048));
    let on = true;
    const go = (): void => {
      while (on && !s.destroyed && s.write(burst));
    };
    s.on('drain', go);
    go();
    return () => {
      on = false;
    };
  },
  'an HTTP request': write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
  'NUL bytes and CRs': (s) => {
    s.write(Buffer.alloc(2048, 0));
    s.write('\r\r\r\n\n');
  },
  'CRLF framing (telnet)': write('Content-Type: command/reply\r\nReply-Text: +OK\r\n\r\n'),
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2]);
  const spec = JSON.parse(process.argv[3] ?? '[]') as Array<[string, number]>;
  const jobs = spec.flatMap(([kind, n]) => {
    const act = ESL_HOSTILE[kind];
    if (!act) throw new Error(`unknown kind ${kind}`);
    return Array.from({ length: n }, () =>
      eslPeer(port, act, 20_000).then((r) => ({
        kind,
        closedBy: r.closedBy,
        ms: r.ms,
        sentMore: r.received !== 'connect\n\n',
      })),
    );
  });
  const results = await Promise.all(jobs);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
