/**
 * A daemon whose one component is a FastAGI server the test builds itself — not the daemon's own
 * (fastagi-component.ts) — so that the test chooses the server's logger, timers and any stand-in
 * dependency. The server listens on a free port on 127.0.0.1; both stop at `t`'s teardown.
 * The real-Asterisk suites use asterisk-suite.ts instead.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import { FastAgiServer, type FastAgiDeps } from '../../daemon/pbx/asterisk/fastagi-server.js';
import { startDaemon, tempDir, type TapLike } from './harness.js';
import type { ManualClock } from './manual-clock.js';

export interface FastAgiDaemonOptions {
  /** The server's log. */
  readonly logger: Logger;
  /** Daemon configuration after `[fastagi]` and its `listen`: more [fastagi] keys, then other sections. */
  readonly toml?: string;
  /** The database (default a new one in a temporary directory). */
  readonly dbPath?: string;
  /** The daemon's clock (default its own). */
  readonly clock?: ManualClock;
  /** Server dependencies over the daemon's screening, quarantine and config (no agent notifier by default). */
  readonly deps?: Partial<FastAgiDeps>;
}

export interface FastAgiDaemon {
  readonly ctx: DaemonContext;
  readonly server: FastAgiServer;
  readonly port: number;
}

export async function startFastAgiDaemon(t: TapLike, options: FastAgiDaemonOptions): Promise<FastAgiDaemon> {
  let server: FastAgiServer | undefined;
  const { ctx } = await startDaemon(t, options.dbPath ?? join(tempDir(t), 'cs.db'), {
    ...(options.clock ? { clock: options.clock } : {}),
    toml: `[fastagi]\nlisten = "127.0.0.1:0"\n${options.toml ?? ''}`,
    components: (c) => [
      (server = new FastAgiServer({
        screening: c.screening,
        quarantine: c.quarantine,
        agentNotifier: null,
        config: () => c.config,
        logger: options.logger,
        ...options.deps,
      })),
    ],
  });
  if (!server) throw new Error('the daemon built no FastAGI server');
  return { ctx, server, port: server.address().port };
}
