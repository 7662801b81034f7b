// Test helpers around scripts/drachtio-sandbox: a real drachtio-server 0.9.4 on loopback.
//
//   import * as drachtio from '../support/drachtio-sandbox.js';
//   const why = await drachtio.unavailable();      // null, or one line saying why it cannot run
//   t.before(() => drachtio.start());
//   t.teardown(() => drachtio.stop());
//
// Where the binary comes from (CALLSCREEN_DRACHTIO_BIN, `drachtio` on PATH, or the vendor tarball in
// ../shared/vendor unpacked to /opt/callscreen-vendor) is the script's business; `unavailable()` asks
// it (`find`). Without CI, a missing server makes the suite skip with that line; with CI=true the
// caller must fail instead (`mustRun`). Ports are fixed (admin 127.0.0.1:9023, SIP 127.0.0.2:5090):
// one drachtio sandbox per machine; start/stop are serialised by the script's flock, and the suites
// that use it also hold the PBX sandbox lock (test/support/pbx-sandbox.ts) for their whole run.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DRACHTIO_SCRIPT = fileURLToPath(new URL('../../scripts/drachtio-sandbox', import.meta.url));
export const DRACHTIO_DIR = process.env.CALLSCREEN_DRACHTIO_DIR ?? '/var/tmp/callscreen-drachtio';

/** Where the sandbox's drachtio-server listens (the script's defaults; the env can override them). */
export const DRACHTIO = {
  adminHost: (process.env.CALLSCREEN_DRACHTIO_ADMIN ?? '127.0.0.1:9023').split(':')[0] ?? '127.0.0.1',
  adminPort: Number((process.env.CALLSCREEN_DRACHTIO_ADMIN ?? '127.0.0.1:9023').split(':')[1] ?? 9023),
  secret: process.env.CALLSCREEN_DRACHTIO_SECRET ?? 'callscreen-edge',
  /** SIP host:port (UDP and TCP) the network sends to; on 127.0.0.2, Asterisk's carrier address. */
  sip: process.env.CALLSCREEN_DRACHTIO_SIP ?? '127.0.0.2:5090',
} as const;

/** CI runs every real-server suite: there a missing server is a failure, not a skip. */
export const mustRun = process.env.CI === 'true' || process.env.CI === '1';

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(args: string[], timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      DRACHTIO_SCRIPT,
      args,
      { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new Error(`drachtio-sandbox ${args.join(' ')}: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

async function runScriptOk(args: string[], timeoutMs: number): Promise<string> {
  const r = await runScript(args, timeoutMs);
  if (r.code !== 0) throw new Error(`drachtio-sandbox ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stderr + r.stdout;
}

/** Null when the sandbox can run here; otherwise one line saying why not (not root, no binary). */
export async function unavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'the drachtio sandbox needs root (apt-get, /opt/callscreen-vendor)';
  if (process.env.CALLSCREEN_SKIP_SANDBOX === '1') return 'CALLSCREEN_SKIP_SANDBOX=1';
  const r = await runScript(['find'], 30_000);
  return r.code === 0 ? null : `no drachtio-server: ${r.stdout.trim() || r.stderr.trim()}`;
}

/** Starts drachtio-server (installs packages and unpacks the tarball the first time). Returns the script's log line. */
export async function start(): Promise<string> {
  return runScriptOk(['start'], 10 * 60_000);
}

/** Stops drachtio-server and removes its run directory. */
export async function stop(): Promise<void> {
  await runScriptOk(['stop'], 60_000);
}

/** True while drachtio-server runs and its admin port takes connections. */
export async function isRunning(): Promise<boolean> {
  return (await runScript(['status'], 30_000)).code === 0;
}

/** The tail of drachtio-server's console log, for test diagnostics. */
export async function logTail(lines = 40): Promise<string> {
  const text = await readFile(join(DRACHTIO_DIR, 'drachtio.log'), 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}
