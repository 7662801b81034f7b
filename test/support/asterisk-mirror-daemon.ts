/**
 * A daemon with the AstDB mirror on (`[ami] astdb_mirror = true`) against the PBX sandbox's
 * Asterisk, as the real-Asterisk mirror suites start it: the sandbox (and its lock) first, since
 * another suite's teardown drops the `callscreen` family; AMI reconnecting within 0.1–1 s and
 * pinging every 2 s; no default org (the mirror names the org by DID). Resolves once the mirror is
 * live with every caller form written, or 5 minutes have passed (a first sync of many numbers on a loaded machine).
 */
import type { Test } from 'tap';
import { startAsteriskDaemon, type AsteriskDaemon, type SuiteServices } from './asterisk-suite.js';
import { captureLogger, until } from './harness.js';
import { must } from './must.js';

/** `[ami]` against the sandbox (its AMI user's secret): reconnecting within 0.1–1 s, pinging every 2 s. */
export const SANDBOX_AMI_TOML = [
  '[ami]',
  'enabled = true',
  'secret = "callscreen-sandbox"',
  'reconnect_min_ms = 100',
  'reconnect_max_ms = 1000',
  'keepalive_ms = 2000',
].join('\n');

/** The daemon configuration that turns the mirror on against the sandbox. */
export const SANDBOX_MIRROR_TOML = [SANDBOX_AMI_TOML, 'astdb_mirror = true'].join('\n');

/** The mirror component's health detail (astdb-mirror.ts) that the suites read. */
export interface MirrorDetail {
  fullSyncs: number;
  resyncs: number;
  puts: number;
  deletes: number;
  lastSyncMs: number;
  lastSync: { kind: string; why: string } | null;
}

export interface MirroredAsteriskDaemon extends AsteriskDaemon {
  /** The daemon's log lines (level info). */
  readonly lines: Array<Record<string, unknown>>;
  /** The mirror component's state and detail now. */
  mirror(): { state: string; detail: MirrorDetail };
  /** Whether the mirror went live. */
  readonly live: boolean;
}

/** Starts a daemon with the mirror on `s`'s database; resolves once the mirror is live (or not in time). */
export async function startMirroredAsteriskDaemon(t: Test, s: SuiteServices): Promise<MirroredAsteriskDaemon> {
  const { logger, lines } = captureLogger('info');
  const started = await startAsteriskDaemon(t, s, {
    sandboxFirst: true,
    defaultOrg: false,
    logger,
    toml: SANDBOX_MIRROR_TOML,
  });
  const mirror = (): { state: string; detail: MirrorDetail } => {
    const h = must(
      started.ctx.ops.componentHealth().find((c) => c.component === 'astdb-mirror'),
      'the mirror component',
    );
    return { state: h.state, detail: h.detail as unknown as MirrorDetail };
  };
  const live = await until(() => mirror().state === 'live', 5 * 60_000, 50);
  return { ...started, lines, mirror, live };
}
