/**
 * Runs the daemon in the foreground: what `callscreen daemon` and `npm start` do. Signal handling
 * lives here, not in the composition root, so tests can start a Daemon without touching
 * process-wide handlers.
 *
 * - SIGHUP (`systemctl reload`, ExecReload=kill -HUP): re-read the config, apply what can change live.
 * - SIGTERM/SIGINT: stop accepting, finish in-flight verdicts, flush records and logs, exit; bounded
 *   at 5 s (systemd's TimeoutStopSec is longer, so we exit on our own terms).
 */
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { Daemon } from './main.js';
import { createReloadHandler } from './ops/reload-handler.js';

export interface RunOptions {
  readonly dbPath?: string;
  /** The config file to re-read on SIGHUP (null: the embedded defaults; SIGHUP then changes nothing). */
  readonly configPath?: string | null;
}

/** The longest a stop may take before the process exits anyway (ms). */
export const STOP_DEADLINE_MS = 5000;

export async function runDaemon(config: Config, logger: Logger, options: RunOptions = {}): Promise<void> {
  const daemon = new Daemon(config, logger, options.dbPath ? { dbPath: options.dbPath } : {});
  const reload = createReloadHandler(daemon, options.configPath ?? null, logger);
  // SIGHUPs that arrive during a reload collapse into one more reload after it.
  let reloading: Promise<unknown> | null = null;
  let again = false;
  const onHup = (): void => {
    if (reloading) {
      again = true;
      return;
    }
    logger.info({ signal: 'SIGHUP', file: options.configPath ?? null }, 'reloading config');
    reloading = reload()
      .catch((err: unknown) => logger.error({ err }, 'config reload failed'))
      .finally(() => {
        reloading = null;
        if (again) {
          again = false;
          onHup();
        }
      });
  };
  // Before start: a SIGHUP with no handler ends the process, and `systemctl reload` (or a test)
  // may send one the moment "callscreen ready" is logged, before start() has returned here.
  process.on('SIGHUP', onHup);
  try {
    await daemon.start();
  } catch (err) {
    process.off('SIGHUP', onHup);
    throw err;
  }
  // The daemon's own timers are unref'd; with every listener disabled nothing else would keep the
  // process alive, and it must run until told to stop.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGHUP', onHup);
      clearInterval(keepAlive);
      logger.info({ signal }, 'stopping');
      const guard = setTimeout(() => {
        logger.error(`stop took longer than ${STOP_DEADLINE_MS / 1000} s; exiting`);
        logger.flush();
        process.exit(1);
      }, STOP_DEADLINE_MS);
      guard.unref();
      daemon
        .stop()
        .catch((err: unknown) => logger.error({ err }, 'error while stopping'))
        .finally(() => {
          // pino writes asynchronously to some destinations: flush before the process ends.
          logger.flush(() => resolve());
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
