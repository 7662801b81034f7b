// Test helpers around scripts/pbx-sandbox: a real Asterisk 22 on loopback.
//
// The sandbox uses fixed ports (SIP 127.0.0.1:5060, HTTP/WS 127.0.0.1:8088, AMI 127.0.0.1:5038)
// and one Asterisk per machine, so test files that use it must not overlap. `start()` takes a
// machine-wide lock (a directory created with mkdir, which is atomic, holding the owner's pid)
// and `stop()` releases it; a second test file calling `start()` waits for the first to stop.
// A lock whose owner process is gone is taken over.
//
//   import * as sandbox from '../support/pbx-sandbox.js';
//   t.before(() => sandbox.start({ agi: `127.0.0.1:${port}` }));
//   t.teardown(() => sandbox.stop());
//
// `start()` is idempotent; `stop()` stops Asterisk only if this process started it (a sandbox
// someone left running stays up, with its default settings put back).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxLock } from './sandbox-lock.js';

export const SANDBOX_SCRIPT = fileURLToPath(new URL('../../scripts/pbx-sandbox', import.meta.url));
export const SANDBOX_DIR = process.env.CALLSCREEN_SANDBOX_DIR ?? '/var/tmp/callscreen-sandbox';

/** Where Asterisk listens and who is who on the loopback network. */
export const SANDBOX = {
  sip: '127.0.0.1:5060',
  websocket: 'ws://127.0.0.1:8088/ws',
  /** Requests from this IP are the `carrier` endpoint; agents' outbound calls/SMS go to carrierIp:5060. */
  carrierIp: '127.0.0.2',
  /** Suggested local IPs for SIPp playing agents' phones (agents authenticate with a password). */
  agentIps: { agent101: '127.0.0.11', agent102: '127.0.0.12' } as const,
  agents: {
    agent101: { user: 'agent101', password: 'agent101pw', extension: '101' },
    agent102: { user: 'agent102', password: 'agent102pw', extension: '102' },
  } as const,
  /** DIDs of org `demo`. +15550101 delivers SMS to agent102, the others to agent101. */
  dids: Array.from({ length: 10 }, (_, i) => `+1555010${i}`),
  ami: { host: '127.0.0.1', user: 'callscreen' },
} as const;

export interface SandboxSettings {
  /** FastAGI host:port the dialplan calls (CALLSCREEN_AGI), default 127.0.0.1:4573. */
  agi?: string;
  /** AMI port (CALLSCREEN_AMI_PORT), default 5038. */
  amiPort?: number;
  /** AMI secret of user `callscreen` (CALLSCREEN_AMI_SECRET), default callscreen-sandbox. */
  amiSecret?: string;
  /** What calls do when the daemon is unreachable (CALLSCREEN_FAIL_MODE), default open. */
  failMode?: 'open' | 'closed';
  /**
   * A directory of extra *.conf files installed next to the templates for this start only
   * (CALLSCREEN_SANDBOX_EXTRA_CONF; a bench's extconfig.conf, say). Default: none.
   */
  extraConfDir?: string;
}

const LOCK_DIR = `${SANDBOX_DIR}.tests.lock`;

const lock = new SandboxLock(LOCK_DIR, 'PBX sandbox');
let startedByUs = false;
let reconfigured = false;

function settingsEnv(settings: SandboxSettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (settings.agi !== undefined) env.CALLSCREEN_AGI = settings.agi;
  if (settings.amiPort !== undefined) env.CALLSCREEN_AMI_PORT = String(settings.amiPort);
  if (settings.amiSecret !== undefined) env.CALLSCREEN_AMI_SECRET = settings.amiSecret;
  if (settings.failMode !== undefined) env.CALLSCREEN_FAIL_MODE = settings.failMode;
  if (settings.extraConfDir !== undefined) env.CALLSCREEN_SANDBOX_EXTRA_CONF = settings.extraConfDir;
  return env;
}

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      SANDBOX_SCRIPT,
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`pbx-sandbox ${args.join(' ')}: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

async function runScriptOk(args: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<string> {
  const r = await runScript(args, env, timeoutMs);
  if (r.code !== 0) throw new Error(`pbx-sandbox ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Take the machine-wide sandbox lock (waits for another test file to release it). */
export async function acquireLock(timeoutMs?: number): Promise<void> {
  await lock.acquire(timeoutMs);
}

export function releaseLock(): Promise<void> {
  lock.releaseSync();
  return Promise.resolve();
}

/** True when the sandbox's Asterisk is running and answers its CLI. */
export async function isRunning(): Promise<boolean> {
  return (await runScript(['status'])).code === 0;
}

/**
 * Take the lock and make sure the sandbox runs with these settings (building the root the
 * first time: a few minutes; then about a second). Settings left out come from the
 * environment or the script's defaults. Calling it again with other settings reconfigures the
 * running Asterisk (config rewritten, `core reload`).
 */
export async function start(settings: SandboxSettings = {}): Promise<{ startedByUs: boolean }> {
  await lock.acquire();
  const wasRunning = await isRunning();
  await runScriptOk(['start'], settingsEnv(settings), 20 * 60_000);
  if (!wasRunning) startedByUs = true;
  if (Object.keys(settings).length > 0) reconfigured = true;
  return { startedByUs };
}

/** Reconfigure the running sandbox (same as start with new settings). */
export async function configure(settings: SandboxSettings): Promise<void> {
  await start(settings);
}

/**
 * Stop Asterisk if this process started it (otherwise put the default settings back and leave
 * it running), then release the lock.
 */
export async function stop(): Promise<void> {
  if (!lock.held) return;
  try {
    // A daemon's AstDB mirror must not answer the next test file's calls (docs/asterisk-contract.md).
    if (await isRunning()) await rx('database deltree callscreen').catch(() => undefined);
    if (startedByUs) {
      await runScriptOk(['stop'], process.env, 60_000);
      startedByUs = false;
    } else if (reconfigured && (await isRunning())) {
      await runScriptOk(['start'], process.env, 60_000);
    }
    reconfigured = false;
  } finally {
    lock.releaseSync();
  }
}

/** Whether callscreen's module (func_callscreen.so, CALLSCREEN_MIRROR()) is loaded in the sandbox's Asterisk. */
export async function mirrorModuleLoaded(): Promise<boolean> {
  return /\bfunc_callscreen\.so\b/.test(await rx('module show like func_callscreen'));
}

/**
 * Unloads callscreen's module for the rest of `t`: the sandbox's from-carrier then answers from the
 * AstDB mirror with the dialplan's own priorities, as a site without the module does. Loaded again
 * in `t`'s teardown (and by `scripts/pbx-sandbox start` whenever it finds it missing).
 */
export async function withoutMirrorModule(t: { teardown(fn: () => Promise<unknown>): void }): Promise<void> {
  await rx('module unload func_callscreen.so');
  if (await mirrorModuleLoaded()) throw new Error('func_callscreen.so did not unload');
  t.teardown(async () => {
    if (await isRunning()) await rx('module load func_callscreen.so');
  });
}

/** Run an Asterisk CLI command in the sandbox and return its output. */
export async function rx(command: string): Promise<string> {
  return runScriptOk(['rx', command], process.env, 30_000);
}

/** One AstDB value (`database get <family> <key>`), or null when the key is not there. */
export async function astdbGet(family: string, key: string): Promise<string | null> {
  const out = await rx(`database get ${family} ${key}`).catch(() => '');
  return /^Value: (.*)$/m.exec(out)?.[1]?.trim() ?? null;
}

/** Channels Asterisk has up now (`core show channels count`); -1 when the answer cannot be read. */
export async function activeChannels(): Promise<number> {
  const out = await rx('core show channels count');
  return Number(/(\d+) active channels?/.exec(out)?.[1] ?? -1);
}

/** The tail of the sandbox's Asterisk log (console output), for test diagnostics. */
export async function logTail(lines = 50): Promise<string> {
  const text = await readFile(join(SANDBOX_DIR, 'var/log/callscreen-sandbox.log'), 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}
