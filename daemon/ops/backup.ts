/**
 * `callscreen backup` and `callscreen restore`.
 *
 * Backup uses SQLite's online backup API, so it is consistent and safe while the daemon and the
 * CLI write; it is written to a temporary name, checked, then renamed, so FILE is never half a copy.
 *
 * Restore checks the file is a callscreen database (quick_check, schema version, tables), refuses
 * while another process has the database open, then swaps it in with one rename; the previous
 * database is kept as `<db>.bak`.
 */
import { existsSync, linkSync, renameSync, rmSync, statSync } from 'node:fs';
import { CallscreenError } from '../core/errors.js';
import { Database } from '../store/database.js';
import { SCHEMA_VERSION, schemaVersion } from '../store/migrations.js';

export interface DatabaseFacts {
  readonly schemaVersion: number;
  readonly entries: number;
  readonly orgs: number;
  readonly bytes: number;
}

/** Opens `path` read-only and checks it is a sound callscreen database; throws CS_ERR_DB_OPEN/SCHEMA. */
export async function inspectDatabase(path: string): Promise<DatabaseFacts> {
  if (!existsSync(path)) throw new CallscreenError('CS_ERR_FILE_NOT_FOUND', `${path} does not exist`, { path });
  const db = await Database.open(path, { readOnly: true, create: false });
  try {
    const check = (await db.all<{ quick_check: string }>('PRAGMA quick_check')).map((r) => r.quick_check);
    if (check.length !== 1 || check[0] !== 'ok') {
      throw new CallscreenError('CS_ERR_DB_OPEN', `${path} fails PRAGMA quick_check: ${check.slice(0, 3).join('; ')}`, { path });
    }
    const version = await schemaVersion(db);
    const tables = new Set((await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => r.name));
    if (version < 1 || !tables.has('entries') || !tables.has('orgs') || !tables.has('changes')) {
      throw new CallscreenError('CS_ERR_DB_OPEN', `${path} is not a callscreen database (schema version ${version}, tables: ${[...tables].slice(0, 5).join(', ') || 'none'})`, { path });
    }
    if (version > SCHEMA_VERSION) {
      throw new CallscreenError('CS_ERR_DB_SCHEMA', `${path} has schema version ${version}, newer than this program's ${SCHEMA_VERSION}; upgrade callscreen first`, { path, found: version });
    }
    const entries = (await db.get<{ n: number }>('SELECT count(*) AS n FROM entries'))?.n ?? 0;
    const orgs = (await db.get<{ n: number }>('SELECT count(*) AS n FROM orgs'))?.n ?? 0;
    return { schemaVersion: version, entries, orgs, bytes: statSync(path).size };
  } catch (err) {
    if (err instanceof CallscreenError && err.code === 'CS_ERR_INTERNAL') {
      throw new CallscreenError('CS_ERR_DB_OPEN', `${path} is not a callscreen database: ${err.message}`, { path }, { cause: err });
    }
    throw err;
  } finally {
    await db.close();
  }
}

export async function backupDatabase(dbPath: string, dest: string, options: { overwrite?: boolean } = {}): Promise<DatabaseFacts> {
  if (existsSync(dest) && !options.overwrite) {
    throw new CallscreenError('CS_ERR_USAGE', `${dest} exists; choose another name or pass --force`, { path: dest });
  }
  if (!existsSync(dbPath)) throw new CallscreenError('CS_ERR_FILE_NOT_FOUND', `database ${dbPath} does not exist`, { path: dbPath });
  const tmp = `${dest}.partial-${process.pid}`;
  const db = await Database.open(dbPath, { readOnly: true, create: false });
  try {
    await db.backup(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    await db.close();
  }
  try {
    const facts = await inspectDatabase(tmp);
    renameSync(tmp, dest);
    return facts;
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface RestoreResult extends DatabaseFacts {
  /** Where the replaced database was kept, or null when there was none. */
  readonly previous: string | null;
}

export async function restoreDatabase(file: string, dbPath: string): Promise<RestoreResult> {
  const facts = await inspectDatabase(file);
  const tmp = `${dbPath}.restore-${process.pid}`;
  let previous: string | null = null;
  let guard: Database | null = null;
  try {
    if (existsSync(dbPath)) {
      // Leaving WAL mode needs the only connection: SQLITE_BUSY means a daemon (or a CLI command)
      // has the database open. It also folds the WAL into the file, so the .bak is complete.
      guard = await Database.open(dbPath, { busyTimeoutMs: 0, create: false });
      try {
        await guard.get('PRAGMA journal_mode = DELETE');
      } catch (err) {
        throw new CallscreenError('CS_ERR_DB_BUSY', `${dbPath} is in use (is the daemon running?); stop it first: systemctl stop callscreen`, { path: dbPath }, { cause: err });
      }
    }
    // Copied with the backup API (not a file copy) so a source still in WAL mode comes over whole.
    const src = await Database.open(file, { readOnly: true, create: false });
    try {
      await src.backup(tmp);
    } finally {
      await src.close();
    }
    await guard?.close();
    guard = null;
    if (existsSync(dbPath)) {
      previous = `${dbPath}.bak`;
      rmSync(previous, { force: true });
      linkSync(dbPath, previous);
    }
    for (const side of ['-wal', '-shm']) rmSync(`${dbPath}${side}`, { force: true });
    renameSync(tmp, dbPath);
    return { ...facts, previous };
  } finally {
    await guard?.close();
    rmSync(tmp, { force: true });
  }
}
