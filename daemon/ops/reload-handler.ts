/**
 * What SIGHUP (`systemctl reload callscreen`) does: re-read the config file, refuse it with the
 * reason logged when it is invalid (the running config keeps serving), otherwise apply what can
 * change live and log, by key, what waits for a restart.
 */
import type { Logger } from 'pino';
import { ConfigLoader } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { isCallscreenError } from '../core/errors.js';
import type { ReloadResult } from './config-reload.js';

/** What the handler needs of the daemon (main.ts `Daemon.reload`), so ops need not import the composition root. */
export interface Reloadable {
  reload(next: Config): Promise<ReloadResult>;
}

export type ReloadOutcome = ({ readonly ok: true } & ReloadResult) | { readonly ok: false; readonly reason: string };

export function createReloadHandler(
  daemon: Reloadable,
  configPath: string | null,
  logger: Logger,
  loader = new ConfigLoader(),
): () => Promise<ReloadOutcome> {
  return async () => {
    let next;
    try {
      next = loader.load(configPath).config;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      logger.error(
        {
          code: isCallscreenError(err) ? err.code : undefined,
          details: isCallscreenError(err) ? err.details : undefined,
          file: configPath,
        },
        `config reload refused, still running the previous config: ${reason}`,
      );
      return { ok: false, reason };
    }
    const result = await daemon.reload(next);
    if (result.applied.length === 0 && result.restartRequired.length === 0) {
      logger.info({ file: configPath }, 'config reloaded: nothing changed');
    } else {
      logger.info(
        { file: configPath, applied: result.applied, restartRequired: result.restartRequired },
        `config reloaded: applied ${result.applied.join(', ') || 'nothing'}`,
      );
    }
    if (result.restartRequired.length > 0) {
      logger.warn(
        { restartRequired: result.restartRequired },
        `these changes need a restart to take effect (systemctl restart callscreen): ${result.restartRequired.join(', ')}`,
      );
    }
    return { ok: true, ...result };
  };
}
