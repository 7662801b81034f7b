/**
 * A small promise wrapper over one `sqlite3` connection. SQLite errors are turned into catalogue
 * errors (busy → CS_ERR_DB_BUSY, full → CS_ERR_DB_FULL…) so callers and users see one vocabulary.
 *
 * Writes that must be atomic go through `transaction()`, which serialises on this connection:
 * node-sqlite3 shares one connection between all callers, so two interleaved BEGINs would collide.
 */
import { existsSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import { CallscreenError } from '../core/errors.js';

export type SqlParam = string | number | bigint | null | Buffer;
export type SqlParams = readonly SqlParam[] | Readonly<Record<string, SqlParam>>;

export interface RunResult {
  readonly lastID: number;
  readonly changes: number;
}

export interface DatabaseOptions {
  /** How long a statement waits for another process's lock before CS_ERR_DB_BUSY (ms, default 5000). */
  readonly busyTimeoutMs?: number;
  readonly readOnly?: boolean;
  /** Create the file when missing (default true). */
  readonly create?: boolean;
}

/**
 * A statement compiled once and run many times. For the hot path's one read (a listed number's
 * entries): `db.all(sql)` prepares, steps and finalizes a new statement each time — three trips
 * through the sqlite3 thread pool instead of one. node-sqlite3 queues runs of one statement, so
 * concurrent callers are safe.
 */
export interface PreparedStatement {
  all<T>(params: SqlParams): Promise<T[]>;
}

/**
 * Where a write transaction really goes when this file is a replica of a shared store (issue #15,
 * pg-write-gate.ts): the gate runs `fn` through `localTransaction` and commits it elsewhere first.
 */
export type WriteGate = <T>(fn: () => Promise<T>) => Promise<T>;

const WRITE_STATEMENT = /^\s*(insert|update|delete|replace)\b/i;

export class Database {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private gate: WriteGate | null = null;
  /** True while a transaction's function runs on this connection (its statements join it). */
  private inTransaction = false;
  /** Finalized by close(): SQLite will not close a connection with live statements. */
  private readonly statements = new Set<sqlite3.Statement>();
  /**
   * Prepares SQLite has not answered yet. close() waits for them: one compiled while close() ran
   * (a background read of the screening index, gathered for 25 ms, racing a daemon's stop) was
   * otherwise added after the finalizing and left SQLite refusing to close (SQLITE_BUSY).
   */
  private readonly preparing = new Set<Promise<unknown>>();

  private constructor(
    private readonly db: sqlite3.Database,
    readonly path: string,
  ) {}

  static async open(path: string, options: DatabaseOptions = {}): Promise<Database> {
    const mode = options.readOnly
      ? sqlite3.OPEN_READONLY
      : sqlite3.OPEN_READWRITE | (options.create === false ? 0 : sqlite3.OPEN_CREATE);
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d: sqlite3.Database = new sqlite3.Database(path, mode, (err) => (err ? reject(err) : resolve(d)));
    }).catch((err: unknown) => {
      if (options.create === false && path !== ':memory:' && !existsSync(path)) {
        throw new CallscreenError(
          'CS_ERR_DB_MISSING',
          `database ${path} does not exist; check --db / [store] path, or create it with: callscreen init --db ${path}`,
          { path },
          { cause: err },
        );
      }
      const translated = translate(err, 'open', path);
      if (translated.code !== 'CS_ERR_INTERNAL') throw translated;
      throw new CallscreenError(
        'CS_ERR_DB_OPEN',
        `cannot open database ${path}: ${messageOf(err)}`,
        { path },
        { cause: err },
      );
    });
    const db = new Database(raw, path);
    raw.configure('busyTimeout', options.busyTimeoutMs ?? 5000);
    if (!options.readOnly) {
      await db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    }
    await db.exec('PRAGMA foreign_keys = ON;');
    return db;
  }

  /**
   * Sends every later `transaction()` — and every lone write statement, as a one-statement
   * transaction — through `gate` (null: back to plain local transactions).
   */
  setWriteGate(gate: WriteGate | null): void {
    this.gate = gate;
  }

  run(sql: string, params: SqlParams = []): Promise<RunResult> {
    if (this.gate !== null && !this.inTransaction && WRITE_STATEMENT.test(sql))
      return this.transaction(() => this.runHere(sql, params));
    return this.runHere(sql, params);
  }

  private runHere(sql: string, params: SqlParams): Promise<RunResult> {
    const path = this.path; // `this` inside the callback is node-sqlite3's statement, not us
    return new Promise((resolve, reject) => {
      this.db.run(sql, params as unknown[], function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(translate(err, sql, path));
        else resolve({ lastID: this.lastID, changes: this.changes });
      });
    });
  }

  get<T>(sql: string, params: SqlParams = []): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      this.db.get(sql, params as unknown[], (err: Error | null, row: T | undefined) =>
        err ? reject(translate(err, sql, this.path)) : resolve(row),
      );
    });
  }

  all<T>(sql: string, params: SqlParams = []): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.db.all(sql, params as unknown[], (err: Error | null, rows: T[]) =>
        err ? reject(translate(err, sql, this.path)) : resolve(rows),
      );
    });
  }

  /**
   * Compiles `sql` once; see PreparedStatement. Finalized when the database is closed. Once close()
   * has begun, rejects with CS_ERR_UNAVAILABLE (and a statement compiled meanwhile is finalized).
   */
  prepare(sql: string): Promise<PreparedStatement> {
    if (this.closed) return Promise.reject(this.closedError());
    const compiling = new Promise<PreparedStatement>((resolve, reject) => {
      const stmt: sqlite3.Statement = this.db.prepare(sql, (err: Error | null) => {
        if (err) {
          reject(translate(err, sql, this.path));
          return;
        }
        if (this.closed) {
          // close() waits for this promise, so the statement is gone before the connection closes.
          stmt.finalize(() => {
            reject(this.closedError());
          });
          return;
        }
        this.statements.add(stmt);
        resolve({
          all: <T>(params: SqlParams) =>
            new Promise<T[]>((res, rej) => {
              stmt.all(params as unknown[], (e: Error | null, rows: T[]) =>
                e ? rej(translate(e, sql, this.path)) : res(rows),
              );
            }),
        });
      });
    });
    const settled = compiling.then(
      () => undefined,
      () => undefined,
    );
    this.preparing.add(settled);
    void settled.finally(() => this.preparing.delete(settled));
    return compiling;
  }

  private closedError(): CallscreenError {
    return new CallscreenError('CS_ERR_UNAVAILABLE', `database ${this.path} is closed (the daemon is stopping)`, {
      path: this.path,
    });
  }

  /** Streams rows one at a time (large result sets without holding them all); the caller knows their shape. */
  each(sql: string, params: SqlParams, onRow: (row: unknown) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.db.each(
        sql,
        params as unknown[],
        (err: Error | null, row: unknown) => {
          if (!err) onRow(row);
        },
        (err: Error | null, count: number) => (err ? reject(translate(err, sql, this.path)) : resolve(count)),
      );
    });
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.db.exec(sql, (err: Error | null) => (err ? reject(translate(err, sql, this.path)) : resolve()));
    });
  }

  /**
   * Runs `fn` inside BEGIN IMMEDIATE … COMMIT (ROLLBACK on any error). IMMEDIATE takes the write
   * lock up front so a busy database fails at BEGIN, before any work, with CS_ERR_DB_BUSY.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.gate !== null ? this.gate(fn) : this.localTransaction(fn);
  }

  /** `transaction()` on this file alone, never through the write gate (the gate and the replicator use it). */
  localTransaction<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      await this.exec('BEGIN IMMEDIATE');
      this.inTransaction = true;
      try {
        const out = await fn();
        await this.exec('COMMIT');
        return out;
      } catch (err) {
        await this.exec('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        this.inTransaction = false;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Runs `fn` inside a plain (deferred) BEGIN … COMMIT that only reads: every statement in it sees
   * one snapshot of the database (WAL: writers of other connections are not blocked meanwhile), so
   * a long paged read — an export — is consistent. Queued with `transaction()` on this connection.
   */
  readTransaction<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      await this.exec('BEGIN');
      try {
        return await fn();
      } finally {
        await this.exec('COMMIT').catch(() => this.exec('ROLLBACK').catch(() => undefined));
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Online backup into `dest` (safe while other connections write). */
  backup(dest: string): Promise<void> {
    return new Promise((resolve, reject) => {
      interface Backup {
        step(pages: number, cb: (e: Error | null) => void): void;
        finish(cb: (e: Error | null) => void): void;
      }
      const b: Backup = (this.db as unknown as { backup(f: string, cb: (e: Error | null) => void): Backup }).backup(
        dest,
        (err) => {
          if (err) {
            reject(translate(err, 'backup', this.path));
            return;
          }
          b.step(-1, (stepErr: Error | null) => {
            if (stepErr) {
              reject(translate(stepErr, 'backup', this.path));
              return;
            }
            b.finish((finErr: Error | null) => (finErr ? reject(translate(finErr, 'backup', this.path)) : resolve()));
          });
        },
      );
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    // Prepares already sent finalize their own statement (they see `closed`); none starts from now.
    return Promise.all([...this.preparing]).then(() => {
      // With a callback: node-sqlite3 reports a failure without one as an 'error' event, which
      // nobody listens to on a statement and would throw inside a native callback (a process abort).
      const finalized = [...this.statements].map((stmt) => new Promise<void>((res) => stmt.finalize(() => res())));
      this.statements.clear();
      return Promise.all(finalized).then(
        () =>
          new Promise<void>((resolve, reject) =>
            this.db.close((err) => (err ? reject(translate(err, 'close', this.path)) : resolve())),
          ),
      );
    });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Maps SQLite result codes to catalogue errors; keeps the original as `cause`. This is the one
 * place a SQLite code becomes a catalogue code: every statement, open and backup comes through it.
 * `path` is the database file, named in errors the user must act on (corrupt, missing).
 */
export function translate(err: unknown, sql: string, path?: string): CallscreenError {
  if (err instanceof CallscreenError) return err;
  const code = (err as { code?: string }).code ?? '';
  const msg = messageOf(err);
  const details: Record<string, unknown> = { sqliteCode: code, ...(path !== undefined ? { path } : {}) };
  // SQLITE_NOTADB: the header is not SQLite's (overwritten, truncated, another file); SQLITE_CORRUPT:
  // a damaged page. Either way retrying cannot help and writing on would spread the damage.
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    const file = path ?? 'the database';
    return new CallscreenError(
      'CS_ERR_DB_CORRUPT',
      `${file} is corrupt (${msg}); nothing was written. Stop the daemon and run: callscreen restore BACKUP_FILE${path !== undefined ? ` --db ${path}` : ''}`,
      details,
      { cause: err },
    );
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new CallscreenError('CS_ERR_DB_BUSY', `database is locked by another process; try again (${msg})`, details, {
      cause: err,
    });
  }
  if (code === 'SQLITE_FULL' || /ENOSPC|disk is full|database or disk is full/i.test(msg)) {
    return new CallscreenError(
      'CS_ERR_DB_FULL',
      `the disk holding the database is full; nothing was written (${msg})`,
      details,
      { cause: err },
    );
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') {
    return new CallscreenError(
      'CS_ERR_DB_OPEN',
      `cannot use database${path !== undefined ? ` ${path}` : ''}: ${msg}`,
      details,
      { cause: err },
    );
  }
  if (code === 'SQLITE_IOERR') {
    return new CallscreenError(
      'CS_ERR_DB_FULL',
      `database I/O error, often a full disk; nothing was written (${msg})`,
      details,
      { cause: err },
    );
  }
  return new CallscreenError(
    'CS_ERR_INTERNAL',
    `database error: ${msg}`,
    { ...details, statement: sql.slice(0, 80) },
    { cause: err },
  );
}
