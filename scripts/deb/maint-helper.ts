/**
 * What the Debian maintainer scripts need from the program itself, shipped compiled in the package
 * as /usr/lib/callscreen/dist/scripts/deb/maint-helper.js and run with the bundled node:
 *
 *   maint-helper.js store-path --config FILE      print the database path the config names
 *   maint-helper.js migrate --config FILE         open the database (creating it on first install),
 *                                                 apply pending schema migrations, print the schema version
 *   maint-helper.js ready --config FILE [--timeout-ms N]
 *                                                 wait for the daemon's GET /readyz to answer 200
 *
 * Errors go to stderr as `CS_ERR_…: message` with the catalogue's exit code, so postinst can show
 * the admin the real reason. The pre-upgrade backup is taken by preinst (`callscreen backup`) with
 * the old program, so `migrate` does not take a second one.
 */
import { connect } from 'node:net';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import type { Config } from '../../daemon/config/schema.js';
import { CallscreenError, toCallscreenError } from '../../daemon/core/errors.js';
import { listenAddress } from '../../daemon/net/listen.js';
import { openStore } from '../../daemon/store/store.js';

/** Default wait for readiness: generous, the admin's box may be busy (ms). */
const DEFAULT_READY_TIMEOUT_MS = 60_000;
/** Pause between readiness probes (ms). */
const READY_POLL_MS = 250;

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function loadConfig(args: readonly string[]): Config {
  const file = option(args, '--config');
  if (file === undefined) throw new CallscreenError('CS_ERR_USAGE', 'maint-helper: --config FILE is required');
  return new ConfigLoader().load(file).config;
}

/** host:port → [host, port]; the config rules already checked the shape. */
function hostPort(listen: string): [string, number] {
  const { host, port } = listenAddress(listen);
  return [host, port];
}

async function probeHttp(url: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = (await res.text()).slice(0, 2000);
    return { ok: res.status === 200, detail: `HTTP ${res.status} ${body}` };
  } catch (err) {
    return { ok: false, detail: String((err as Error).cause ?? err) };
  }
}

function probeTcp(host: string, port: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(2000);
    s.once('connect', () => {
      s.destroy();
      resolve({ ok: true, detail: `${host}:${port} accepts connections` });
    });
    s.once('timeout', () => {
      s.destroy();
      resolve({ ok: false, detail: `${host}:${port} timed out` });
    });
    s.once('error', (e) =>
      resolve({ ok: false, detail: `${host}:${port} ${(e as NodeJS.ErrnoException).code ?? e.message}` }),
    );
  });
}

async function ready(args: readonly string[]): Promise<number> {
  const config = loadConfig(args);
  const timeoutMs = Number(option(args, '--timeout-ms') ?? DEFAULT_READY_TIMEOUT_MS);
  let probe: () => Promise<{ ok: boolean; detail: string }>;
  let what: string;
  if (config.admin.enabled) {
    const [host, port] = hostPort(config.admin.listen);
    const scheme = config.admin.tls_cert && config.admin.tls_key ? 'https' : 'http';
    what = `${scheme}://${host}:${port}/readyz`;
    probe = () => probeHttp(what);
  } else if (config.fastagi.enabled) {
    // No admin listener, so no /readyz: a FastAGI listener that accepts is the best evidence left.
    const [host, port] = hostPort(config.fastagi.listen);
    what = `FastAGI ${host}:${port}`;
    probe = () => probeTcp(host, port);
  } else {
    process.stdout.write('neither [admin] nor [fastagi] is enabled: readiness not checked\n');
    return 0;
  }
  const deadline = Date.now() + timeoutMs;
  let last = { ok: false, detail: 'not probed' };
  while (Date.now() < deadline) {
    last = await probe();
    if (last.ok) {
      process.stdout.write(`ready: ${what}\n`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  process.stderr.write(`not ready after ${Math.round(timeoutMs / 1000)} s: ${what}: ${last.detail}\n`);
  return 1;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'store-path':
      process.stdout.write(`${loadConfig(args).store.path}\n`);
      return 0;
    case 'migrate': {
      const config = loadConfig(args);
      const db = await openStore(config.store.path, {
        busyTimeoutMs: config.store.busy_timeout_ms,
        backupBeforeMigrate: false,
      });
      try {
        const row = await db.get<{ user_version: number }>('PRAGMA user_version');
        process.stdout.write(`${row?.user_version ?? 0}\n`);
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'ready':
      return ready(args);
    default:
      throw new CallscreenError(
        'CS_ERR_USAGE',
        `maint-helper: unknown command ${command ?? '(none)'}; use store-path, migrate or ready`,
      );
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const e = toCallscreenError(err);
  process.stderr.write(`${e.code}: ${e.message}\n`);
  process.exitCode = e.exitCode;
}
