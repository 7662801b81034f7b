/**
 * The start-up every real-Asterisk suite (test/e2e/asterisk-*.test.ts) shares, in one place:
 * - the guard: whether the sandbox (scripts/pbx-sandbox: root, chroot, fixed ports) can be had,
 *   reported as one skipped test when not — and as a failure under CI=true, where it must run;
 * - the org every suite screens for: `demo`, in the US, on the sandbox's DIDs;
 * - a daemon with a FastAGI listener on a free port and the sandbox pointed at it, the sandbox's
 *   lock held (serialising the suites across processes) until the test's teardown.
 */
import type { Test } from 'tap';
import type { Logger } from 'pino';
import type { Component } from '../../daemon/component.js';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import type { Daemon } from '../../daemon/main.js';
import { buildFastAgiServer } from '../../daemon/pbx/asterisk/fastagi-component.js';
import type { FastAgiServer } from '../../daemon/pbx/asterisk/fastagi-server.js';
import { cliActor, services, startDaemon } from './harness.js';
import type { ManualClock } from './manual-clock.js';
import * as sandbox from './pbx-sandbox.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';

/** Why the sandbox cannot be had here, or null when it can. */
export const sandboxUnavailable: string | null =
  process.env.CALLSCREEN_SKIP_SANDBOX === '1'
    ? 'CALLSCREEN_SKIP_SANDBOX=1'
    : process.getuid?.() !== 0
      ? 'the PBX sandbox needs root (chroot)'
      : null;

/**
 * `t.test(name, body)` when the sandbox can be had; else that test skipped with the reason (tap's
 * skip), or under CI=true a failure (the sandbox suites must run in CI).
 */
export function sandboxTest(t: Test, name: string, body: (t: Test) => Promise<void>): Promise<void> {
  if (sandboxUnavailable !== null && CI) {
    t.fail(`${sandboxUnavailable}: the sandbox suites must run in CI`);
    return Promise.resolve();
  }
  return t.test(name, { skip: sandboxUnavailable ?? false }, body).then(() => undefined);
}

export type SuiteServices = Awaited<ReturnType<typeof services>>;

/** Services on a fresh database with org `demo` (US) on the sandbox's DIDs and `dids`. */
export async function demoServices(
  t: Test,
  options: { clock?: ManualClock; dids?: readonly string[] } = {},
): Promise<SuiteServices> {
  const s = await services(t, options.clock ? { clock: options.clock } : {});
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', [...sandbox.SANDBOX.dids, ...(options.dids ?? [])], cliActor);
  return s;
}

export interface AsteriskDaemonOptions {
  /** The daemon's clock (default: the services' ManualClock). */
  readonly clock?: ManualClock;
  readonly logger?: Logger;
  /** FastAGI answers for org `demo` by default; false leaves `default_org` unset. */
  readonly defaultOrg?: boolean;
  /** More daemon configuration (TOML), after the `[fastagi]` section. */
  readonly toml?: string;
  /**
   * Start (and lock) the sandbox before the daemon, then point it at the FastAGI port. The AstDB
   * mirror needs this: another suite's teardown drops the `callscreen` family, which would wipe a
   * mirror synced before this file held the lock.
   */
  readonly sandboxFirst?: boolean;
}

export interface AsteriskDaemon {
  readonly daemon: Daemon;
  readonly ctx: DaemonContext;
  readonly agi: FastAgiServer;
  readonly agiPort: number;
}

/**
 * Starts the daemon on `s`'s database with FastAGI on a free port, and the sandbox (fail mode open)
 * sending its calls there; both are stopped by `t`'s teardown.
 */
export async function startAsteriskDaemon(
  t: Test,
  s: SuiteServices,
  options: AsteriskDaemonOptions = {},
): Promise<AsteriskDaemon> {
  if (options.sandboxFirst === true) {
    await sandbox.start({ failMode: 'open' });
    t.teardown(() => sandbox.stop());
  }
  let server: FastAgiServer | undefined;
  const { daemon, ctx } = await startDaemon(t, s.dbPath, {
    clock: options.clock ?? s.clock,
    ...(options.logger ? { logger: options.logger } : {}),
    toml: [
      '[fastagi]',
      'listen = "127.0.0.1:0"',
      ...(options.defaultOrg === false ? [] : ['default_org = "demo"']),
      options.toml ?? '',
    ].join('\n'),
    components: (c): Component[] => [(server = buildFastAgiServer(c))],
  });
  if (!server) throw new Error('the daemon built no FastAGI server');
  const agiPort = server.address().port;
  if (options.sandboxFirst === true) {
    await sandbox.configure({ agi: `127.0.0.1:${agiPort}`, failMode: 'open' });
  } else {
    await sandbox.start({ agi: `127.0.0.1:${agiPort}`, failMode: 'open' });
    t.teardown(() => sandbox.stop());
  }
  return { daemon, ctx, agi: server, agiPort };
}
