/**
 * One daemon per database: a lock file next to it (`<db>.lock`) created exclusively (O_EXCL) and
 * held for the daemon's life. It holds the owner's pid, its start time as the kernel counts it
 * (/proc/<pid>/stat field 22, clock ticks since boot) and the host name, so a lock left by a daemon
 * that crashed is recognised as stale even when its pid has since been given to another process.
 *
 * Why a file and not SQLite's own locks: two daemons can both hold a SQLite database open (WAL lets
 * them), and each would follow the other's changes silently; the file says who holds it, which is
 * what the refusal must name. The CLI does not take it: it writes through SQLite's locks as before.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { CallscreenError } from '../core/errors.js';

export interface LockOwner {
  readonly pid: number;
  /** /proc/<pid>/stat starttime (clock ticks since boot); null where /proc cannot be read. */
  readonly startTicks: number | null;
  readonly host: string;
  /** ISO time the lock was taken (for humans). */
  readonly since: string;
}

/** What the lock needs from the system; tests replace the process checks. */
export interface LockSystem {
  readonly pid: number;
  /** Start time of `pid` in clock ticks since boot, or null when unknown (no /proc, no process). */
  startTicks(pid: number): number | null;
  /** true when a process with this pid exists (kill(pid, 0)). */
  alive(pid: number): boolean;
  readonly host: string;
  now(): Date;
}

export const realLockSystem: LockSystem = {
  pid: process.pid,
  startTicks: procStartTicks,
  alive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      // EPERM: it exists but belongs to another user.
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  host: hostname(),
  now: () => new Date(),
};

export function lockPathFor(dbPath: string): string {
  return `${dbPath}.lock`;
}

export class DaemonLock {
  private held = false;

  constructor(
    private readonly dbPath: string,
    private readonly system: LockSystem = realLockSystem,
  ) {}

  get path(): string {
    return lockPathFor(this.dbPath);
  }

  /**
   * Takes the lock or throws CS_ERR_ALREADY_RUNNING naming the database and the owner. A stale
   * lock (owner gone, or its pid now another process) is replaced; `onStale` is told whose it was.
   */
  acquire(onStale?: (owner: LockOwner | null) => void): void {
    if (this.held) return;
    // Two attempts: the second follows the removal of a stale lock (someone else may win the race).
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.tryCreate()) return;
      const owner = readOwner(this.path);
      if (owner !== null && this.ownerRunning(owner)) {
        throw new CallscreenError(
          'CS_ERR_ALREADY_RUNNING',
          `another callscreen daemon (pid ${owner.pid} on ${owner.host}, since ${owner.since}) already serves ${this.dbPath}; stop it first (systemctl stop callscreen), or give this one another store.path`,
          { path: this.dbPath, lock: this.path, pid: owner.pid, host: owner.host },
        );
      }
      onStale?.(owner);
      try {
        unlinkSync(this.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw lockError(this.path, err);
      }
    }
    throw new CallscreenError(
      'CS_ERR_ALREADY_RUNNING',
      `could not take ${this.path}: another daemon is starting on ${this.dbPath} at the same moment`,
      { path: this.dbPath, lock: this.path },
    );
  }

  /** Removes the lock file if this daemon holds it. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    const owner = readOwner(this.path);
    // Never remove a lock that is not ours (it was replaced by hand while we ran).
    if (owner !== null && owner.pid !== this.system.pid) return;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: nothing to release
    }
  }

  private tryCreate(): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'wx', 0o640);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw lockError(this.path, err);
    }
    try {
      const owner: LockOwner = {
        pid: this.system.pid,
        startTicks: this.system.startTicks(this.system.pid),
        host: this.system.host,
        since: this.system.now().toISOString(),
      };
      writeSync(fd, `${JSON.stringify(owner)}\n`);
    } finally {
      closeSync(fd);
    }
    this.held = true;
    return true;
  }

  private ownerRunning(owner: LockOwner): boolean {
    // A lock taken on another host (a shared volume) cannot be checked from here: believe it.
    if (owner.host !== '' && owner.host !== this.system.host) return true;
    if (!this.system.alive(owner.pid)) return false;
    // Same pid, different start time: the pid was reused after the owner died.
    const ticks = this.system.startTicks(owner.pid);
    if (owner.startTicks !== null && ticks !== null && ticks !== owner.startTicks) return false;
    return true;
  }
}

/** The lock's owner, or null when the file is unreadable or not ours (treated as stale). */
export function readOwner(path: string): LockOwner | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return null;
    return {
      pid: v.pid,
      startTicks: typeof v.startTicks === 'number' ? v.startTicks : null,
      host: typeof v.host === 'string' ? v.host : '',
      since: typeof v.since === 'string' ? v.since : '?',
    };
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces, so count after ")". */
function procStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function lockError(path: string, err: unknown): CallscreenError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new CallscreenError(
    'CS_ERR_DB_OPEN',
    `cannot create the daemon lock ${path}: ${code} (the database's directory must be writable by the daemon's user)`,
    { lock: path },
  );
}
