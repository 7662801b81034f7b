/**
 * `callscreen init`: create the database (schema, 0640 file, 0750 directory). With the daemon's
 * first start, the only way a database comes to exist: every other command refuses a missing file
 * (CS_ERR_DB_MISSING) so that a mistyped --db is an error, not a new empty database.
 */
import { existsSync, linkSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { CallscreenError } from '../../core/errors.js';
import { openServices } from '../../main.js';
import { SCHEMA_VERSION } from '../../store/migrations.js';
import type { CliContext } from '../cli-context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('create the database file (--db or [store] path) with its schema; an existing one is left as is')
    .option('--json', 'print the result as JSON')
    .action(async (o: { json?: boolean }) => {
      const path = ctx.dbPath() ?? ctx.config().store.path;
      if (path === ':memory:')
        throw new CallscreenError('CS_ERR_USAGE', 'init needs a file, not :memory:', { key: 'db' });
      let created = false;
      if (existsSync(path)) {
        // Opening migrates an older schema (after a backup, as the daemon does) and proves the file sound.
        await (await ctx.services()).db.get('SELECT 1');
      } else {
        // Built under a temporary name and linked into place, so a failure half-way leaves no
        // half-made database at `path`, and a database created meanwhile by another process is
        // never overwritten (link refuses an existing name).
        const tmp = `${path}.init-${process.pid}`;
        try {
          const s = await openServices(ctx.config(), ctx.logger(), { dbPath: tmp });
          await s.close(); // the last connection: SQLite removes the -wal and -shm files
          try {
            linkSync(tmp, path);
            created = true;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          }
        } finally {
          for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`, `${tmp}-journal`]) rmSync(f, { force: true });
        }
      }
      if (o.json) ctx.json({ db: path, created, schemaVersion: SCHEMA_VERSION });
      else
        ctx.out(
          created
            ? `created ${path} (schema v${SCHEMA_VERSION})`
            : `${path} already exists (schema v${SCHEMA_VERSION}); left as is`,
        );
    });
}
