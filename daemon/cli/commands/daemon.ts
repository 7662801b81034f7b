/** `callscreen daemon`: run the screening daemon in the foreground (systemd's ExecStart). */
import { Option, type Command } from 'commander';
import { createLogger } from '../../logger.js';
import { runDaemon } from '../../run-daemon.js';
import type { CliContext } from '../cli-context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('daemon')
    .description('run the daemon in the foreground until SIGTERM/SIGINT; SIGHUP reloads the config')
    .addOption(new Option('--log-format <format>', 'override [log] format').choices(['json', 'pretty']))
    .action(async (o: { logFormat?: 'json' | 'pretty' }) => {
      const config = ctx.config();
      // Daemon logs go to stdout (journald), not through the CLI's stderr logger.
      const logger = createLogger({ level: config.log.level, format: o.logFormat ?? config.log.format });
      const dbPath = ctx.dbPath();
      await runDaemon(config, logger, { ...(dbPath !== undefined ? { dbPath } : {}), configPath: ctx.configSource() });
    });
}
