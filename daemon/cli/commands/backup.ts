/**
 * `callscreen backup FILE` (online: safe while the daemon runs) and `callscreen restore FILE`
 * (daemon stopped; the current database is kept as <db>.bak).
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { backupDatabase, restoreDatabase } from '../../ops/backup.js';

export function register(program: Command, ctx: CliContext): void {
  const dbPath = (): string => ctx.dbPath() ?? ctx.config().store.path;
  program
    .command('backup')
    .description('copy the database to FILE while the daemon keeps running')
    .argument('<file>', 'where to write the backup')
    .option('--force', 'overwrite FILE if it exists')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { force?: boolean; json?: boolean }) => {
      const t0 = performance.now();
      const facts = await backupDatabase(dbPath(), file, { overwrite: opts.force === true });
      const ms = Math.round(performance.now() - t0);
      if (opts.json) ctx.json({ file, ms, ...facts });
      else
        ctx.out(
          `✓ backed up ${dbPath()} to ${file}: ${facts.orgs} organisations, ${facts.entries} entries, schema v${facts.schemaVersion}, ${facts.bytes} bytes in ${ms} ms`,
        );
    });
  program
    .command('restore')
    .description('replace the database with a backup (stop the daemon first)')
    .argument('<file>', 'a file written by callscreen backup')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const r = await restoreDatabase(file, dbPath());
      if (opts.json) ctx.json({ file, db: dbPath(), ...r });
      else {
        ctx.out(
          `✓ restored ${file} to ${dbPath()}: ${r.orgs} organisations, ${r.entries} entries, schema v${r.schemaVersion}`,
        );
        if (r.previous) ctx.out(`  the previous database is kept as ${r.previous}`);
        ctx.out('  start the daemon: systemctl start callscreen');
      }
    });
}
