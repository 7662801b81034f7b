/** `callscreen config check`: validate the config file and show what the daemon would run with. */
import type { Command } from 'commander';
import { stringify } from 'smol-toml';
import { redactConfig } from '../../config/load-config.js';
import type { CliContext } from '../cli-context.js';

export function register(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('the configuration file');
  config
    .command('check')
    .description('validate the config (--config, $CALLSCREEN_CONFIG or defaults) and print it with secrets redacted')
    .option('--json', 'one JSON document')
    .action((o: { json?: boolean }) => {
      const effective = redactConfig(ctx.config());
      const source = ctx.configSource();
      if (o.json) {
        ctx.json({ ok: true, file: source, config: effective });
        return;
      }
      ctx.out(`ok: ${source ?? '(embedded defaults)'}`);
      ctx.out('');
      ctx.out(stringify(effective).trimEnd());
    });
}
