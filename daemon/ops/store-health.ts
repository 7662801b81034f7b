/**
 * Is the database file the daemon opened still there, the same file, readable, writable and
 * whole, with room on its disk? The open connections cannot tell: a file deleted or replaced
 * under the daemon keeps answering through the old inode (and every later change made by the CLI
 * goes to the new file, which the daemon never sees), and a read-only or full disk only shows when
 * the write-behind recorder next fails. So readiness looks at the path itself:
 *
 * - identity: stat(path) against the dev/inode recorded at start (deleted, replaced);
 * - access: the file and its directory readable and writable by this user (read-only file
 *   system, permissions changed);
 * - whole: the 16-byte SQLite header as it is on disk (a fresh connection may read page 1 from the
 *   WAL and miss it), then a fresh read-only SQLite connection that reads the schema and the newest
 *   change-log row (corruption of those pages, a file emptied to nothing). Pages no query of the
 *   probe reads are checked by `callscreen doctor` (PRAGMA quick_check), too slow for a probe on a
 *   1M-entry database;
 * - disk: free space on the database's file system below MIN_FREE_BYTES.
 *
 * Never open() and close() the database file itself in this process: closing any descriptor of a
 * file drops every POSIX lock the process holds on it, the daemon's SQLite locks included. Then the
 * next other process to close a connection to the database (the `callscreen` CLI, an admin's
 * `sqlite3`) believes it was the last one, checkpoints and deletes the WAL and its index, and from
 * there on the daemon writes into an unlinked WAL no other process sees, and never sees theirs (a
 * block added from the CLI did not reach the call path). Until 2026-12 the probe read the header
 * that way every 5 s. Now the header is read through one descriptor opened by `remember()` and
 * closed by `close()` only after the daemon has closed the database. A second SQLite connection
 * is safe: SQLite keeps one descriptor per file per process and defers closing it while another
 * connection holds locks.
 *
 * Each failure carries a stable `reason` (deleted, replaced, unreadable, read-only, corrupt,
 * disk-full): the readiness monitor logs once per change of it, and `doctor` maps it to a fix.
 */
import { constants } from 'node:fs';
import { access, open, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Database } from '../store/database.js';
import type { ReadinessCheck } from './readiness-check.js';

/** Below this much free space (bytes) the disk counts as full: 8 MiB, a few WAL checkpoints. */
export const MIN_FREE_BYTES = 8 * 1024 * 1024;

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** The database file held open for reading its header; see the module comment for why it stays open. */
export interface HeaderSource {
  /** The file's first 16 bytes (fewer when it is shorter). */
  read(): Promise<Buffer>;
  close(): Promise<void>;
}

export interface StoreFs {
  stat(path: string): Promise<{ dev: number; ino: number }>;
  /** Rejects with an errno error (EACCES, EROFS…) when `mode` is not allowed. */
  access(path: string, mode: number): Promise<void>;
  /** Free bytes for unprivileged users on the file system holding `dir`. */
  freeBytes(dir: string): Promise<number>;
  /** Opens the file for `HeaderSource.read`; held until the daemon has closed the database. */
  openHeader(path: string): Promise<HeaderSource>;
  /** Opens a fresh read-only connection and reads the schema and the newest change row. */
  readProbe(path: string): Promise<void>;
}

export const realStoreFs: StoreFs = {
  stat: async (p) => {
    const s = await stat(p);
    return { dev: s.dev, ino: s.ino };
  },
  access: (p, mode) => access(p, mode),
  freeBytes: async (dir) => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  },
  openHeader: async (p) => {
    const fh = await open(p, 'r');
    return {
      read: async () => {
        const buf = Buffer.alloc(16);
        const { bytesRead } = await fh.read(buf, 0, 16, 0);
        return buf.subarray(0, bytesRead);
      },
      close: () => fh.close(),
    };
  },
  readProbe: async (p) => {
    const db = await Database.open(p, { readOnly: true, create: false, busyTimeoutMs: 1000 });
    try {
      await db.get('SELECT count(*) AS n FROM sqlite_schema');
      await db.get('SELECT max(seq) AS s FROM changes');
    } finally {
      await db.close();
    }
  },
};

export class StoreHealth {
  private identity: { dev: number; ino: number } | null = null;
  private header: HeaderSource | null = null;

  constructor(
    readonly path: string,
    private readonly fs: StoreFs = realStoreFs,
  ) {}

  /** Records which file the daemon opened (call right after opening it). */
  async remember(): Promise<void> {
    this.identity = await this.fs.stat(this.path);
    await this.header?.close();
    this.header = await this.fs.openHeader(this.path);
  }

  /** Lets go of the file. Call only after every connection to the database has closed (module comment). */
  async close(): Promise<void> {
    const h = this.header;
    this.header = null;
    await h?.close();
  }

  async check(): Promise<ReadinessCheck[]> {
    return [await this.database(), await this.disk()];
  }

  private async database(): Promise<ReadinessCheck> {
    const name = 'database';
    const path = this.path;
    let now: { dev: number; ino: number };
    try {
      now = await this.fs.stat(path);
    } catch (err) {
      if (errno(err) === 'ENOENT')
        return {
          name,
          ok: false,
          reason: 'deleted',
          detail: `${path} was deleted under the running daemon: it screens from memory and the file it still holds open, and sees no later change`,
        };
      return { name, ok: false, reason: 'unreadable', detail: `${path}: ${errno(err) ?? String(err)}` };
    }
    if (this.identity && (now.dev !== this.identity.dev || now.ino !== this.identity.ino)) {
      return {
        name,
        ok: false,
        reason: 'replaced',
        detail: `${path} was replaced under the running daemon (inode ${this.identity.ino} → ${now.ino}): changes written to the new file are not seen until a restart`,
      };
    }
    for (const [target, what] of [
      [path, 'file'],
      [dirname(path), 'directory'],
    ] as const) {
      try {
        await this.fs.access(target, constants.R_OK | constants.W_OK);
      } catch (err) {
        const code = errno(err);
        if (code === 'EROFS')
          return {
            name,
            ok: false,
            reason: 'read-only',
            detail: `${path}: the file system is read-only: call records, hit counts and every write fail`,
          };
        return {
          name,
          ok: false,
          reason: 'unreadable',
          detail: `the database ${what} ${target} is not readable and writable by this user (${code ?? String(err)})`,
        };
      }
    }
    if (this.header) {
      let header: Buffer;
      try {
        header = await this.header.read();
      } catch (err) {
        return { name, ok: false, reason: 'unreadable', detail: `${path}: ${errno(err) ?? String(err)}` };
      }
      if (!header.equals(SQLITE_HEADER))
        return {
          name,
          ok: false,
          reason: 'corrupt',
          detail: `${path} does not start with the SQLite header (overwritten or truncated, ${header.length} bytes read)`,
        };
    }
    try {
      await this.fs.readProbe(path);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const msg = err instanceof Error ? err.message : String(err);
      if (/not a database|SQLITE_NOTADB/i.test(msg))
        return {
          name,
          ok: false,
          reason: 'corrupt',
          detail: `${path} is not an SQLite database any more (its header overwritten): ${msg}`,
        };
      if (code === 'CS_ERR_DB_CORRUPT' || /malformed|SQLITE_CORRUPT/i.test(msg))
        return { name, ok: false, reason: 'corrupt', detail: `${path} is corrupt: ${msg}` };
      // An emptied file opens as an empty database: the probe finds no change log in it.
      if (/no such table/i.test(msg))
        return {
          name,
          ok: false,
          reason: 'corrupt',
          detail: `${path} has lost its tables (emptied or truncated): ${msg}`,
        };
      if (code === 'CS_ERR_DB_BUSY') return { name, ok: true, detail: `${path} (busy: another process holds a lock)` };
      return { name, ok: false, reason: 'unreadable', detail: `${path} cannot be read: ${msg}` };
    }
    return { name, ok: true, detail: path };
  }

  private async disk(): Promise<ReadinessCheck> {
    const dir = dirname(this.path);
    try {
      const free = await this.fs.freeBytes(dir);
      if (free < MIN_FREE_BYTES)
        return {
          name: 'disk',
          ok: false,
          reason: 'disk-full',
          detail: `${free} bytes free on the file system of ${dir} (needs ${MIN_FREE_BYTES}): call records and list changes cannot be written`,
        };
      return { name: 'disk', ok: true, detail: `${Math.floor(free / (1024 * 1024))} MiB free in ${dir}` };
    } catch (err) {
      // The directory vanished with the file: the database check says so.
      return { name: 'disk', ok: true, detail: `free space of ${dir} unknown: ${errno(err) ?? String(err)}` };
    }
  }
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
