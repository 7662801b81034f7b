/**
 * Runs the daemon in the foreground until SIGTERM/SIGINT: what `callscreen daemon` and `npm start`
 * do. Signal handling lives here, not in the composition root, so tests can start a Daemon without
 * touching process-wide handlers.
 */
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { Daemon } from './main.js';

export interface RunOptions {
  readonly dbPath?: string;
}

export async function runDaemon(config: Config, logger: Logger, options: RunOptions = {}): Promise<void> {
  const daemon = new Daemon(config, logger, options.dbPath ? { dbPath: options.dbPath } : {});
  await daemon.start();
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      // Bounded: if something hangs, exit anyway within 5 s (systemd's TimeoutStopSec is longer).
      const guard = setTimeout(() => {
        logger.error('stop took longer than 5 s; exiting');
        process.exit(1);
      }, 5000);
      guard.unref();
      daemon.stop().then(resolve, (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
