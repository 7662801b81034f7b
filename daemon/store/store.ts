/**
 * Opens the database file the way the daemon and the CLI both need it: the directory created with
 * a restrictive mode, the file private to its owner's group, WAL, the schema migrated (after a backup
 * when an existing database is upgraded).
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { Database } from './database.js';
import { migrate } from './migrations.js';

export interface OpenStoreOptions {
  readonly busyTimeoutMs?: number;
  readonly backupBeforeMigrate?: boolean;
  /** Called with the backup file's path when one was taken. */
  readonly onBackup?: (path: string) => void;
  /** For the backup file's timestamp; the system clock by default. */
  readonly clock?: Clock;
}

export async function openStore(path: string, options: OpenStoreOptions = {}): Promise<Database> {
  const fresh = path === ':memory:' || !existsSync(path);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  const db = await Database.open(path, { busyTimeoutMs: options.busyTimeoutMs ?? 5000 });
  if (fresh && path !== ':memory:') {
    try {
      chmodSync(path, 0o640);
    } catch {
      // not ours to change (another owner); the database still works
    }
  }
  await migrate(db, async (from, to) => {
    if (options.backupBeforeMigrate === false || path === ':memory:' || statSync(path).size === 0) return;
    const stamp = new Date((options.clock ?? systemClock).now()).toISOString().replace(/[:.]/g, '-');
    const dest = `${path}.before-v${to}-from-v${from}.${stamp}.bak`;
    await db.backup(dest);
    options.onBackup?.(dest);
  });
  return db;
}

/** A second connection for reads (lookups, change feed), so they never queue behind a write. */
export function openReader(path: string, busyTimeoutMs = 5000): Promise<Database> {
  return Database.open(path, { busyTimeoutMs, create: false });
}

/**
 * The call recorder's own connection for its write-behind flushes. While another process holds the
 * write lock, a flush's BEGIN IMMEDIATE waits up to `busyTimeoutMs` inside SQLite, holding its
 * connection's mutex all that time. On the services' connection every panel, API or CLI statement
 * would wait behind it, flush after flush, and a write could wait out the whole lock instead of
 * failing with CS_ERR_DB_BUSY after its own busy timeout. On its own connection a flush waits alone.
 */
export function openRecordsWriter(path: string, busyTimeoutMs = 5000): Promise<Database> {
  return Database.open(path, { busyTimeoutMs, create: false });
}
