/**
 * Panel sessions. The cookie holds a random 32-byte id; the database holds only its SHA-256, so a
 * copy of the database does not let anyone sign in. Each session has its own CSRF token. Two
 * limits, both on the injected clock: an absolute one (config admin.session_hours, default 12 h)
 * and an idle one (`idleMs`, default 30 min: a session not used that long ends).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Database } from '../store/database.js';
import { sha256 } from './user-service.js';

/** Idle limit unless given (ms): 30 minutes, the usual figure for an admin console. */
export const DEFAULT_IDLE_MS = 30 * 60_000;
/** last_seen_at is written at most this often (ms): one write a minute per busy session, not per request. */
const TOUCH_EVERY_MS = 60_000;

export interface Session {
  readonly userId: number;
  readonly csrf: string;
  readonly expiresAt: number;
  /** SHA-256 of the id: lets a password change keep this session and end the others. */
  readonly idHash: string;
}

export class SessionStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** Absolute session lifetime (ms); config admin.session_hours, default 12 h. */
    private readonly ttlMs: number,
    /** Idle lifetime (ms), default DEFAULT_IDLE_MS. */
    private readonly idleMs: number = DEFAULT_IDLE_MS,
  ) {}

  /** A new session with a fresh id and CSRF token; returns the plain id for the cookie. */
  async create(userId: number): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const session: Session = {
      userId,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: now + this.ttlMs,
      idHash: sha256(id),
    };
    await this.db.run(
      'INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)',
      [session.idHash, userId, session.csrf, now, session.expiresAt, now],
    );
    // Expired and idle sessions are swept here rather than on a timer: sign-ins are rare, cheap to piggyback.
    await this.db.run('DELETE FROM sessions WHERE expires_at <= ? OR COALESCE(last_seen_at, created_at) <= ?', [
      now,
      now - this.idleMs,
    ]);
    return { id, session };
  }

  /** The live session, or null when unknown, past its absolute end, or idle too long. Marks it used. */
  async get(id: string): Promise<Session | null> {
    const idHash = sha256(id);
    const row = await this.db.get<{
      user_id: number;
      csrf: string;
      expires_at: number;
      created_at: number;
      last_seen_at: number | null;
    }>('SELECT user_id, csrf, expires_at, created_at, last_seen_at FROM sessions WHERE id_hash = ?', [idHash]);
    if (!row) return null;
    const now = this.clock.now();
    const seen = row.last_seen_at ?? row.created_at;
    if (row.expires_at <= now || seen + this.idleMs <= now) {
      await this.db.run('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
      return null;
    }
    if (now - seen >= TOUCH_EVERY_MS)
      await this.db.run('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?', [now, idHash]);
    return { userId: row.user_id, csrf: row.csrf, expiresAt: row.expires_at, idHash };
  }

  async destroy(id: string): Promise<void> {
    await this.db.run('DELETE FROM sessions WHERE id_hash = ?', [sha256(id)]);
  }
}
