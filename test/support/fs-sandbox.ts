// Test helpers around scripts/fs-sandbox: a real FreeSWITCH 1.10.12 on loopback whose dialplan and
// chatplan are the snippets we ship in config/freeswitch/.
//
//   import * as fs from '../support/fs-sandbox.js';
//   const skip = await fs.skipReason();            // undefined: run; a one-line reason: t.skip it
//   await fs.start({ esl: `127.0.0.1:${port}` });  // waits for the machine-wide lock, then starts
//   t.teardown(() => fs.stop());
//
// Whether FreeSWITCH can be had is the script's answer (`where`: CALLSCREEN_FREESWITCH_BIN, the
// vendored tarball or /opt/callscreen-vendor, a `freeswitch` on PATH). Where it cannot, suites skip
// with one line, except with CI=true, where skipReason() throws: CI always has the tarball, so a
// missing FreeSWITCH there is a failure, not a skip. CALLSCREEN_SKIP_FREESWITCH=1 skips on purpose
// (ignored in CI).
//
// One sandbox per machine (fixed ports): start() takes a lock (a directory made with mkdir, which
// is atomic, holding the owner's pid; taken over when that process is gone) that stop() releases,
// so two test files that both use it run one after the other.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxLock } from './sandbox-lock.js';
import { EslFrameReader, type EslFrame } from '../../daemon/pbx/freeswitch/esl-frame.js';
import { parseEventPlain, type EslEvent } from '../../daemon/pbx/freeswitch/esl-event.js';

export const FS_SCRIPT = fileURLToPath(new URL('../../scripts/fs-sandbox', import.meta.url));
export const FS_DIR = process.env.CALLSCREEN_FS_DIR ?? '/var/tmp/callscreen-fs-sandbox';

/** Where the sandbox listens and who is who (the script's defaults). */
export const FS = {
  /** The carrier profile: no auth, context public (DIDs). */
  sip: '127.0.0.1:5080',
  /** The agents' profile: digest auth, registrations, context default. */
  internal: '127.0.0.1:5070',
  esl: { host: '127.0.0.1', port: 8021, password: 'callscreen-fs-sandbox' },
  /** SIPp plays the carrier from here; agents' SMS go to carrierIp:5060. */
  carrierIp: '127.0.0.2',
  /** Agents' phones (SIPp); not the Asterisk sandbox's 127.0.0.11/12, so both suites can run at once. */
  agentIps: { agent101: '127.0.0.21', agent102: '127.0.0.22' } as const,
  agents: {
    agent101: { user: 'agent101', password: 'agent101pw' },
    agent102: { user: 'agent102', password: 'agent102pw' },
  } as const,
  /** SIP domain of the directory (users agent101, agent102, and each DID's mailbox). */
  domain: '127.0.0.1',
  /** DIDs the sandbox routes (calls answered, SMS to agent101). */
  dids: Array.from({ length: 10 }, (_, i) => `+1555010${i}`),
} as const;

export interface FsSettings {
  /** The daemon's esl.listen, which the shipped dialplan's socket dials (CALLSCREEN_ESL). */
  esl?: string;
  /** callscreen_fail_mode in the shipped dialplan (CALLSCREEN_FAIL_MODE), default open. */
  failMode?: 'open' | 'closed';
  /** One global set at start, name=value (CALLSCREEN_FS_VARS), e.g. callscreen_sms=closed. */
  vars?: string;
  /** A file of numbers for mod_blacklist list "callscreen" (CALLSCREEN_FS_BLACKLIST). */
  blacklist?: string;
  /** The benchmark DIDs (CALLSCREEN_FS_BENCH=1): scripts/bench-freeswitch.ts. */
  bench?: boolean;
}

const EXIT_UNAVAILABLE = 4;
const LOCK_DIR = `${FS_DIR}.tests.lock`;
const lock = new SandboxLock(LOCK_DIR, 'FreeSWITCH sandbox');

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      FS_SCRIPT,
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`fs-sandbox ${args.join(' ')}: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

async function runOk(args: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<string> {
  const r = await run(args, env, timeoutMs);
  if (r.code !== 0) throw new Error(`fs-sandbox ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Undefined when the real-FreeSWITCH suites can run here; otherwise the one line they skip with.
 * Throws in CI (CI=true): there FreeSWITCH must be available and the suites must run.
 */
export async function skipReason(): Promise<string | undefined> {
  const ci = process.env.CI === 'true';
  if (!ci && process.env.CALLSCREEN_SKIP_FREESWITCH === '1') return 'CALLSCREEN_SKIP_FREESWITCH=1';
  const where = await run(['where']);
  let reason: string | undefined;
  if (where.code === EXIT_UNAVAILABLE) reason = where.stderr.trim().replace(/^fs-sandbox: unavailable: /, '');
  else if (where.code !== 0) reason = `fs-sandbox where failed: ${where.stderr.trim()}`;
  else if (where.stdout.trim().startsWith('/opt/callscreen-vendor/') && process.getuid?.() !== 0) {
    // Unpacking the vendored build to /opt and apt-get need root; a build already there does not.
    const unpacked = await readFile('/opt/callscreen-vendor/freeswitch/bin/freeswitch').then(
      () => true,
      () => false,
    );
    if (!unpacked) reason = 'the vendored FreeSWITCH is not unpacked and unpacking it to /opt needs root';
  }
  if (reason !== undefined && ci)
    throw new Error(`real FreeSWITCH required in CI (CI=true) but unavailable: ${reason}`);
  return reason === undefined ? undefined : `no real FreeSWITCH: ${reason}`;
}

function settingsEnv(s: FsSettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (s.esl !== undefined) env.CALLSCREEN_ESL = s.esl;
  if (s.failMode !== undefined) env.CALLSCREEN_FAIL_MODE = s.failMode;
  if (s.vars !== undefined) env.CALLSCREEN_FS_VARS = s.vars;
  if (s.blacklist !== undefined) env.CALLSCREEN_FS_BLACKLIST = s.blacklist;
  if (s.bench !== undefined) env.CALLSCREEN_FS_BENCH = s.bench ? '1' : '0';
  return env;
}

/**
 * Takes the lock and (re)starts FreeSWITCH with these settings: first run installs the runtime
 * packages and unpacks the build (about a minute), then 3–12 s on this machine. Calling it again
 * with other settings restarts FreeSWITCH with them (the config is written at start).
 */
export async function start(settings: FsSettings = {}): Promise<void> {
  await lock.acquire();
  await runOk(['start'], settingsEnv(settings), 10 * 60_000);
}

/**
 * Stops FreeSWITCH (nothing left running, run directory removed) and releases the lock.
 * CALLSCREEN_FS_KEEP=1 leaves it running, log and all, for a look after a failed test.
 */
export async function stop(): Promise<void> {
  if (!lock.held) return;
  try {
    if (process.env.CALLSCREEN_FS_KEEP !== '1') await runOk(['stop'], process.env, 60_000);
  } finally {
    lock.releaseSync();
  }
}

/** One FreeSWITCH API command (fs_cli -x) and its output. */
export async function cli(command: string): Promise<string> {
  return runOk(['cli', command], process.env, 30_000);
}

/** The running FreeSWITCH's process id (for CPU accounting), or 0. */
export async function pid(): Promise<number> {
  return Number((await readFile(join(FS_DIR, 'freeswitch.pid'), 'utf8').catch(() => '0')).trim()) || 0;
}

/** Channels FreeSWITCH has now (`show channels count`); -1 when the answer cannot be read. */
export async function channels(): Promise<number> {
  return Number(/(\d+) total/.exec(await cli('show channels count'))?.[1] ?? -1);
}

/** The tail of FreeSWITCH's log, for diagnostics. */
export async function logTail(lines = 60): Promise<string> {
  const text = await readFile(join(FS_DIR, 'log/freeswitch.log'), 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * An inbound Event Socket login of the test's own that hears what FreeSWITCH really did: which
 * applications ran (CHANNEL_EXECUTE: Application, Application-Data) and how each call ended
 * (CHANNEL_HANGUP_COMPLETE: variable_callscreen_action, variable_sip_term_status…), so a test judges
 * by what ran, not by what we sent.
 */
export class FsEvents {
  readonly events: EslEvent[] = [];
  private sock: net.Socket | null = null;
  private readonly waiters = new Set<() => void>();

  static async connect(names: string[] = ['CHANNEL_EXECUTE', 'CHANNEL_HANGUP_COMPLETE']): Promise<FsEvents> {
    const e = new FsEvents();
    await e.login(names);
    return e;
  }

  private async login(names: string[]): Promise<void> {
    const sock = net.connect(FS.esl.port, FS.esl.host);
    this.sock = sock;
    const reader = new EslFrameReader({ maxBodyBytes: 4 * 1024 * 1024 });
    const replies: Array<(f: EslFrame) => void> = [];
    sock.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        const type = f.headers['Content-Type'];
        if (type === 'text/event-plain') {
          const parsed = parseEventPlain(f.body);
          if (parsed.ok) this.events.push(parsed.event);
          for (const w of [...this.waiters]) w();
        } else if (type === 'command/reply' || type === 'auth/request') {
          replies.shift()?.(f);
        }
      }
    });
    sock.on('error', () => undefined);
    const next = (): Promise<EslFrame> => new Promise((resolve) => replies.push(resolve));
    await next(); // auth/request
    for (const cmd of [`auth ${FS.esl.password}`, `event plain ${names.join(' ')}`]) {
      const reply = next();
      sock.write(`${cmd}\n\n`);
      const text = (await reply).headers['Reply-Text'] ?? '';
      if (!text.startsWith('+OK'))
        throw new Error(`FreeSWITCH refused "${cmd.startsWith('auth') ? 'auth' : cmd}": ${text}`);
    }
  }

  /** The first event (already heard or still to come) that matches, or null after timeoutMs. */
  async waitFor(pred: (e: EslEvent) => boolean, timeoutMs = 10_000): Promise<EslEvent | null> {
    const found = this.events.find(pred);
    if (found) return found;
    return new Promise((resolve) => {
      const check = (): void => {
        const e = this.events.find(pred);
        if (!e) return;
        done(e);
      };
      const done = (e: EslEvent | null): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(e);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** The applications that ran on the call with this SIP Call-ID, `app(data)` in order. */
  appsOf(sipCallId: string): string[] {
    return this.events
      .filter((e) => e.headers['Event-Name'] === 'CHANNEL_EXECUTE' && e.headers['variable_sip_call_id'] === sipCallId)
      .map((e) => `${e.headers['Application'] ?? ''}(${e.headers['Application-Data'] ?? ''})`);
  }

  /** How the call with this SIP Call-ID ended (its CHANNEL_HANGUP_COMPLETE), waiting for it. */
  hangupOf(sipCallId: string, timeoutMs = 10_000): Promise<EslEvent | null> {
    return this.waitFor(
      (e) => e.headers['Event-Name'] === 'CHANNEL_HANGUP_COMPLETE' && e.headers['variable_sip_call_id'] === sipCallId,
      timeoutMs,
    );
  }

  close(): void {
    this.sock?.end('exit\n\n');
    this.sock?.destroy();
    this.sock = null;
  }
}
