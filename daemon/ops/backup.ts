/**
 * `callscreen backup` and `callscreen restore`.
 *
 * Backup uses SQLite's online backup API, so it is consistent and safe while the daemon and the
 * CLI write; it is written to a temporary name, checked, then renamed, so FILE is never half a copy.
 *
 * Restore checks the file is a callscreen database (quick_check, schema version, tables), refuses
 * while another process has the database open, then swaps it in with one rename; the previous
 * database is kept as `<db>.bak`.
 *
 * Both written files take the owner, group and mode of the live database (0640 for a new one):
 * the database holds users and token hashes, so a copy must be no more readable than the original,
 * and `restore` run as root must leave a file the service user can still write. Both are left in
 * rollback-journal mode (one self-contained file; the daemon turns WAL back on when it opens it) and
 * fsynced before the rename; no `.partial-PID`, `-wal`, `-shm` or `-journal` file is left behind.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  chmodSync,
  chownSync,
  type Stats,
} from 'node:fs';
import { dirname } from 'node:path';
import { CallscreenError } from '../core/errors.js';
import { Database } from '../store/database.js';
import { SCHEMA_VERSION, schemaVersion } from '../store/migrations.js';

/** New databases and backups of a database that has gone: owner and group read-write/read only. */
const NEW_FILE_MODE = 0o640;
/** Files SQLite keeps next to a database while it is open. */
const SIDECARS = ['-wal', '-shm', '-journal'] as const;

export interface DatabaseFacts {
  readonly schemaVersion: number;
  readonly entries: number;
  readonly orgs: number;
  readonly bytes: number;
}

/** Opens `path` read-only and checks it is a sound callscreen database; throws CS_ERR_DB_OPEN/SCHEMA. */
export async function inspectDatabase(path: string): Promise<DatabaseFacts> {
  if (!existsSync(path)) throw new CallscreenError('CS_ERR_FILE_NOT_FOUND', `${path} does not exist`, { path });
  // Reading a file still in WAL mode (a copy made some other way) makes SQLite create -wal/-shm
  // next to it; remove the ones this look created, and only those.
  const before = SIDECARS.filter((side) => existsSync(`${path}${side}`));
  const db = await Database.open(path, { readOnly: true, create: false }).catch((err: unknown) => {
    cleanSidecars(path, before);
    throw notACallscreenDatabase(path, err);
  });
  try {
    const check = (await db.all<{ quick_check: string }>('PRAGMA quick_check')).map((r) => r.quick_check);
    if (check.length !== 1 || check[0] !== 'ok') {
      throw new CallscreenError('CS_ERR_DB_OPEN', `${path} fails PRAGMA quick_check: ${check.slice(0, 3).join('; ')}`, {
        path,
      });
    }
    const version = await schemaVersion(db);
    const tables = new Set(
      (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => r.name),
    );
    if (version < 1 || !tables.has('entries') || !tables.has('orgs') || !tables.has('changes')) {
      throw new CallscreenError(
        'CS_ERR_DB_OPEN',
        `${path} is not a callscreen database (schema version ${version}, tables: ${[...tables].slice(0, 5).join(', ') || 'none'})`,
        { path },
      );
    }
    if (version > SCHEMA_VERSION) {
      throw new CallscreenError(
        'CS_ERR_DB_SCHEMA',
        `${path} has schema version ${version}, newer than this program's ${SCHEMA_VERSION}; upgrade callscreen first`,
        { path, found: version },
      );
    }
    const entries = (await db.get<{ n: number }>('SELECT count(*) AS n FROM entries'))?.n ?? 0;
    const orgs = (await db.get<{ n: number }>('SELECT count(*) AS n FROM orgs'))?.n ?? 0;
    return { schemaVersion: version, entries, orgs, bytes: statSync(path).size };
  } catch (err) {
    throw notACallscreenDatabase(path, err);
  } finally {
    await db.close();
    cleanSidecars(path, before);
  }
}

/**
 * A file given to restore (or a fresh copy) that SQLite cannot read is not "the database is
 * corrupt, restore it" (the advice CS_ERR_DB_CORRUPT gives for the live file): it is the wrong file.
 */
function notACallscreenDatabase(path: string, err: unknown): unknown {
  if (err instanceof CallscreenError && (err.code === 'CS_ERR_INTERNAL' || err.code === 'CS_ERR_DB_CORRUPT')) {
    const why =
      err.code === 'CS_ERR_DB_CORRUPT' ? ((err.cause as Error | undefined)?.message ?? err.message) : err.message;
    return new CallscreenError(
      'CS_ERR_DB_OPEN',
      `${path} is not a callscreen database: ${why}`,
      { path },
      { cause: err },
    );
  }
  return err;
}

function cleanSidecars(path: string, keep: readonly string[]): void {
  for (const side of SIDECARS) if (!keep.includes(side)) rmSync(`${path}${side}`, { force: true });
}

export async function backupDatabase(
  dbPath: string,
  dest: string,
  options: { overwrite?: boolean } = {},
): Promise<DatabaseFacts> {
  if (existsSync(dest) && !options.overwrite) {
    throw new CallscreenError('CS_ERR_USAGE', `${dest} exists; choose another name or pass --force`, { path: dest });
  }
  if (!existsSync(dbPath)) {
    throw new CallscreenError(
      'CS_ERR_DB_MISSING',
      `database ${dbPath} does not exist; check --db / [store] path (callscreen init creates a new one)`,
      { path: dbPath },
    );
  }
  const live = statSync(dbPath);
  const tmp = `${dest}.partial-${process.pid}`;
  try {
    const db = await Database.open(dbPath, { readOnly: true, create: false });
    try {
      await db.backup(tmp);
    } finally {
      await db.close();
    }
    await standAlone(tmp);
    const facts = await inspectDatabase(tmp);
    takeOwnership(tmp, live);
    commitFile(tmp, dest);
    return facts;
  } finally {
    removeWithSidecars(tmp);
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
    const live = existsSync(dbPath) ? statSync(dbPath) : null;
    if (live !== null) {
      // Leaving WAL mode needs the only connection: SQLITE_BUSY means a daemon (or a CLI command)
      // has the database open. It also folds the WAL into the file, so the .bak is complete.
      guard = await Database.open(dbPath, { busyTimeoutMs: 0, create: false });
      try {
        await guard.get('PRAGMA journal_mode = DELETE');
      } catch (err) {
        throw new CallscreenError(
          'CS_ERR_DB_BUSY',
          `${dbPath} is in use (is the daemon running?); stop it first: systemctl stop callscreen`,
          { path: dbPath },
          { cause: err },
        );
      }
    }
    // Copied with the backup API (not a file copy) so a source still in WAL mode comes over whole.
    const src = await Database.open(file, { readOnly: true, create: false });
    try {
      await src.backup(tmp);
    } finally {
      await src.close();
    }
    await standAlone(tmp);
    await newStoreIdentity(tmp);
    takeOwnership(tmp, live);
    await guard?.close();
    guard = null;
    if (live !== null) {
      previous = `${dbPath}.bak`;
      rmSync(previous, { force: true });
      linkSync(dbPath, previous);
    }
    for (const side of SIDECARS) rmSync(`${dbPath}${side}`, { force: true });
    commitFile(tmp, dbPath);
    return { ...facts, previous };
  } finally {
    await guard?.close();
    removeWithSidecars(tmp);
  }
}

/**
 * A restored file is an older state of the store whose change log goes on from an older sequence
 * number: a new store identity (migration 10) makes the AstDB mirror sync it whole instead of
 * replaying "later" changes of another history. A backup older than migration 10 gets one when the
 * daemon migrates it.
 */
async function newStoreIdentity(path: string): Promise<void> {
  const db = await Database.open(path, { create: false });
  try {
    const table = await db.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_identity'");
    if (table !== undefined) await db.run('UPDATE store_identity SET token = lower(hex(randomblob(16)))');
  } finally {
    await db.close();
  }
}

/**
 * Puts a fresh copy in rollback-journal mode: the backup API copies the source's WAL flag, and a
 * WAL-mode file grows -wal/-shm files next to it whenever anything opens it (inspecting it included).
 */
async function standAlone(path: string): Promise<void> {
  const db = await Database.open(path, { create: false });
  try {
    await db.get('PRAGMA journal_mode = DELETE');
  } finally {
    await db.close();
  }
}

/**
 * The owner, group and permission bits of `like` (the live database), or 0640 and the caller's
 * owner when there is none. As root the owner is always set (restore as root over the service
 * user's database); otherwise a chown we may not make (another user's file) is left as it is.
 */
function takeOwnership(path: string, like: Stats | null): void {
  chmodSync(path, like === null ? NEW_FILE_MODE : like.mode & 0o7777);
  if (like === null) return;
  try {
    chownSync(path, like.uid, like.gid);
  } catch (err) {
    if (process.getuid?.() === 0 || (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}

/** fsync the file, rename it over `dest`, fsync the directory: after a crash, old file or new, whole. */
function commitFile(tmp: string, dest: string): void {
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, dest);
  const dir = openSync(dirname(dest), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function removeWithSidecars(path: string): void {
  rmSync(path, { force: true });
  for (const side of SIDECARS) rmSync(`${path}${side}`, { force: true });
}
