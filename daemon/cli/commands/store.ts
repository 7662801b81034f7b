/**
 * `callscreen store migrate --to postgres://…`: a single-node site becomes the first node of a
 * shared PostgreSQL store (issue #15), with a count report per table. Exit 0 only when every count
 * matches; then set [store] backend = "postgres" and url in the config and restart.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { CallscreenError } from '../../core/errors.js';
import { migrateToPostgres } from '../../store/pg-migrate.js';
import { PgStore, pgStoreOptions } from '../../store/pg-store.js';
import { openStore } from '../../store/store.js';

export function register(program: Command, ctx: CliContext): void {
  const store = program
    .command('store')
    .description('the store itself: move a single-node site to a shared PostgreSQL store');
  store
    .command('migrate')
    .description(
      'copy every organisation, entry, contact, user and audit row of this SQLite file into an empty PostgreSQL store; prints a count report',
    )
    .requiredOption('--to <url>', 'the PostgreSQL store, postgres://user:password@host:5432/database')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { to: string; json?: boolean }) => {
      if (!/^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(opts.to)) {
        throw new CallscreenError(
          'CS_ERR_USAGE',
          '--to must be a PostgreSQL url naming a host and a database: postgres://user:password@host:5432/database',
          { key: 'to' },
        );
      }
      const config = ctx.config();
      const path = ctx.dbPath() ?? config.store.path;
      const db = await openStore(path, {
        busyTimeoutMs: config.store.busy_timeout_ms,
        backupBeforeMigrate: config.store.backup_before_migrate,
      });
      const pg = new PgStore({ ...pgStoreOptions(config), url: opts.to }, ctx.logger());
      try {
        const report = await migrateToPostgres(db, pg);
        if (opts.json) ctx.json({ db: path, ...report });
        else {
          ctx.out(`${report.ok ? '✓' : '✗'} ${path} → ${report.store} (change ${report.seq})`);
          ctx.out('  table              sqlite   postgres');
          for (const c of report.counts)
            ctx.out(
              `  ${c.table.padEnd(18)} ${String(c.sqlite).padStart(7)}  ${String(c.postgres).padStart(9)}${c.sqlite === c.postgres ? '' : '  MISMATCH'}`,
            );
          ctx.out(
            `  kept on this node: ${report.local.quarantine} quarantined messages; ${report.local.screened} call records (shipped by the outbox once the daemon runs with backend = "postgres")`,
          );
          if (report.ok)
            ctx.out(
              '  next: set [store] backend = "postgres" and url in the config, then systemctl restart callscreen',
            );
        }
        if (!report.ok)
          throw new CallscreenError('CS_ERR_INTERNAL', 'the counts differ; see the report', { counts: report.counts });
      } finally {
        await pg.close();
        await db.close();
      }
    });
}
