/**
 * Fault-suite helpers for FastAGI: a minimal fake Asterisk that runs one AGI session and returns
 * the commands it was sent, and raw hostile clients that report how long the server kept them.
 * Loopback only.
 */
import net from 'node:net';

export interface AgiCallResult {
  commands: string[];
  ms: number;
  closedBy: 'server' | 'timeout' | 'error';
}

export const callEnv = (over: Record<string, string> = {}): Record<string, string> => ({
  agi_network: 'yes',
  agi_network_script: 'call-inbound',
  agi_request: 'agi://127.0.0.1:4573/call-inbound',
  agi_channel: 'PJSIP/carrier-00000001',
  agi_type: 'PJSIP',
  agi_uniqueid: `1700000000.${Math.floor(Math.random() * 1e6)}`,
  agi_callerid: '+15550000000',
  agi_calleridname: 'unknown',
  agi_context: 'from-carrier',
  agi_extension: '+15550100',
  agi_dnid: '+15550100',
  agi_arg_1: '',
  agi_arg_2: '',
  ...over,
});

/**
 * Plays Asterisk for one call: sends the environment, answers each command `200 result=1`; a
 * `GET FULL VARIABLE X` gets `vars[X]` (`200 result=1 (value)`), or `200 result=0` when unset.
 */
export function agiCall(
  port: number,
  env: Record<string, string>,
  timeoutMs = 5000,
  vars: Readonly<Record<string, string>> = {},
): Promise<AgiCallResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const commands: string[] = [];
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    let done = false;
    const end = (closedBy: AgiCallResult['closedBy']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ commands, ms: performance.now() - t0, closedBy });
    };
    const timer = setTimeout(() => end('timeout'), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () =>
      sock.write(
        Object.entries(env)
          .map(([k, v]) => `${k}: ${v}\n`)
          .join('') + '\n',
      ),
    );
    sock.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const cmd = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        commands.push(cmd);
        const v = /^GET FULL VARIABLE (.*)$/.exec(cmd)?.[1];
        sock.write(
          v === undefined ? '200 result=1\n' : vars[v] === undefined ? '200 result=0\n' : `200 result=1 (${vars[v]})\n`,
        );
      }
    });
    sock.on('error', () => end('error'));
    sock.on('close', () => end('server'));
  });
}

/**
 * What a hostile peer's act returns: a function (called at the end to stop what it started, such as
 * a write loop) or anything else (nothing to stop) — so a plain `(s) => void` act fits as is.
 */
export type PeerActResult = unknown;

/** Whether an act returned a stop function. */
export function isStop(x: PeerActResult): x is () => void {
  return typeof x === 'function';
}

/**
 * A hostile client: connects, runs `act` (which may write forever), and resolves with the time
 * until the server closed it (or `capMs`, then it gives up and reports `closedBy: 'timeout'`).
 */
export function rawClient(
  port: number,
  act: (s: net.Socket) => PeerActResult,
  capMs = 15_000,
): Promise<{ ms: number; closedBy: 'server' | 'timeout' | 'error' }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let stop: PeerActResult;
    let done = false;
    const s = net.connect(port, '127.0.0.1', () => {
      stop = act(s);
    });
    const end = (closedBy: 'server' | 'timeout' | 'error') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (isStop(stop)) stop();
      s.destroy();
      resolve({ ms: performance.now() - t0, closedBy });
    };
    const timer = setTimeout(() => end('timeout'), capMs);
    // A reset (we were writing when the server destroyed the socket) is also the server closing us.
    s.on('error', (e: NodeJS.ErrnoException) =>
      end(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'server' : 'error'),
    );
    s.on('close', () => end('server'));
    s.resume();
  });
}

/** Writes `chunk` every `everyMs` until stopped: a line that never ends. */
export function drip(chunk: Buffer | string, everyMs: number): (s: net.Socket) => () => void {
  return (s) => {
    const h = setInterval(() => {
      if (!s.destroyed) s.write(chunk);
    }, everyMs);
    return () => clearInterval(h);
  };
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0;
}
