// Test helpers around scripts/pg-sandbox: a real PostgreSQL cluster on loopback, one per test
// process (its own directory and a free port), so suites never share one and need no lock.
//
//   import * as pg from '../support/pg-sandbox.js';
//   const skip = await pg.skipReason();   // undefined: run; a one-line reason: t.skip it
//   const sb = await pg.PgSandbox.start(); t.teardown(() => sb.stop());
//   sb.url                                // postgres://callscreen:…@127.0.0.1:PORT/callscreen
//   await sb.pause(); await sb.resume();  // an outage: server stopped, data kept
//
// Where PostgreSQL cannot be had (not installed and no root to apt-get it) suites skip with one line,
// except with CI=true, where skipReason() throws: CI runs as root and installs it.
// CALLSCREEN_SKIP_POSTGRES=1 skips on purpose (ignored in CI).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const PG_SCRIPT = fileURLToPath(new URL('../../scripts/pg-sandbox', import.meta.url));
const EXIT_UNAVAILABLE = 4;

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs = 120_000): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(PG_SCRIPT, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`pg-sandbox ${args.join(' ')}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

async function runOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(args, timeoutMs);
  if (r.code !== 0) throw new Error(`pg-sandbox ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Undefined when a real PostgreSQL can be had here; otherwise the one line to skip with. Throws in CI. */
export async function skipReason(): Promise<string | undefined> {
  const ci = process.env.CI === 'true';
  if (!ci && process.env.CALLSCREEN_SKIP_POSTGRES === '1') return 'CALLSCREEN_SKIP_POSTGRES=1';
  const where = await run(['where']);
  let reason: string | undefined;
  if (where.code === EXIT_UNAVAILABLE) reason = where.stderr.trim().replace(/^pg-sandbox: unavailable: /, '');
  else if (where.code !== 0) reason = `pg-sandbox where failed: ${where.stderr.trim()}`;
  if (reason !== undefined && ci)
    throw new Error(`real PostgreSQL required in CI (CI=true) but unavailable: ${reason}`);
  return reason === undefined ? undefined : `no real PostgreSQL: ${reason}`;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class PgSandbox {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly url: string,
  ) {}

  /** Creates and starts a fresh cluster (about 1 s here; the first run may apt-get postgresql). */
  static async start(): Promise<PgSandbox> {
    const dir = await mkdtemp('/tmp/callscreen-pg-');
    const port = await freePort();
    const url = (await runOk(['start', dir, String(port)], 10 * 60_000)).trim();
    const sb = new PgSandbox(dir, port, url);
    // A test process that dies before its teardown still leaves no server running.
    process.once('exit', () => sb.stopSync());
    return sb;
  }

  private stopped = false;

  private stopSync(): void {
    if (this.stopped || process.env.CALLSCREEN_PG_KEEP === '1') return;
    this.stopped = true;
    try {
      execFileSync(PG_SCRIPT, ['stop', this.dir], { stdio: 'ignore', timeout: 60_000 });
    } catch {
      // best effort at exit
    }
  }

  /** Stops the server and keeps its data: PostgreSQL is unreachable until resume(). */
  async pause(): Promise<void> {
    await runOk(['pause', this.dir]);
  }

  /** Starts the paused server again on the same port. */
  async resume(): Promise<void> {
    await runOk(['start', this.dir, String(this.port)]);
  }

  /** Stops the server and removes its directory. CALLSCREEN_PG_KEEP=1 leaves it for a look. */
  async stop(): Promise<void> {
    if (this.stopped || process.env.CALLSCREEN_PG_KEEP === '1') return;
    this.stopped = true;
    await runOk(['stop', this.dir]);
  }
}
