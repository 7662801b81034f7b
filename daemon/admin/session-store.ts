/**
 * Panel sessions. The cookie holds a random 32-byte id; the database holds only its SHA-256, so a
 * copy of the database does not let anyone sign in. Each session has its own CSRF token. Expiry
 * uses the injected clock.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Database } from '../store/database.js';
import { sha256 } from './user-service.js';

export interface Session {
  readonly userId: number;
  readonly csrf: string;
  readonly expiresAt: number;
}

export class SessionStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** Session lifetime (ms); config admin.session_hours, default 12 h. */
    private readonly ttlMs: number,
  ) {}

  /** A new session with a fresh id and CSRF token; returns the plain id for the cookie. */
  async create(userId: number): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const session: Session = { userId, csrf: randomBytes(32).toString('base64url'), expiresAt: now + this.ttlMs };
    await this.db.run('INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', [sha256(id), userId, session.csrf, now, session.expiresAt]);
    // Expired sessions are swept here rather than on a timer: sign-ins are rare, cheap to piggyback.
    await this.db.run('DELETE FROM sessions WHERE expires_at <= ?', [now]);
    return { id, session };
  }

  async get(id: string): Promise<Session | null> {
    const row = await this.db.get<{ user_id: number; csrf: string; expires_at: number }>('SELECT user_id, csrf, expires_at FROM sessions WHERE id_hash = ?', [sha256(id)]);
    if (!row || row.expires_at <= this.clock.now()) return null;
    return { userId: row.user_id, csrf: row.csrf, expiresAt: row.expires_at };
  }

  async destroy(id: string): Promise<void> {
    await this.db.run('DELETE FROM sessions WHERE id_hash = ?', [sha256(id)]);
  }
}
