/**
 * Panel and API users: local accounts with a role and the organisations they manage, their
 * passwords (scrypt, see password-hash.ts) and API tokens (random, stored as SHA-256 hashes: a
 * token is as strong as a key, so a fast hash is enough and lets lookups use the index).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { CallscreenError } from '../core/errors.js';
import type { Database } from '../store/database.js';
import type { Actor } from '../services/actor.js';
import type { AuditLog } from '../services/audit-log.js';
import type { Org } from '../store/rows.js';
import type { OrgService } from '../services/org-service.js';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword, type ScryptParams } from './password-hash.js';

export type Role = 'admin' | 'supervisor' | 'agent';
export const ROLES: readonly Role[] = ['admin', 'supervisor', 'agent'];

export interface User {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  readonly disabled: boolean;
  /** Slugs of the organisations this user works in. */
  readonly orgs: readonly string[];
}

interface UserRow { id: number; name: string; role: Role; password_hash: string; disabled: number }

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** Shortest password accepted (characters). */
export const MIN_PASSWORD = 10;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class UserService {
  /** Verified against when the user does not exist, so a wrong name costs as long as a wrong password. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly db: Database,
    private readonly orgs: OrgService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly scryptParams: ScryptParams = DEFAULT_SCRYPT,
  ) {}

  async add(name: string, role: Role, orgSlugs: readonly string[], password: string, actor: Actor): Promise<User> {
    if (!USER_NAME.test(name)) {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `user name "${name}" must be letters, digits, . _ @ - (at most 64)`, { key: 'name' });
    }
    if (!ROLES.includes(role)) throw new CallscreenError('CS_ERR_INVALID_VALUE', `role "${role}" is not one of ${ROLES.join(', ')}`, { key: 'role' });
    if (orgSlugs.length === 0) throw new CallscreenError('CS_ERR_USAGE', 'a user needs at least one organisation (--org)', { key: 'org' });
    if (password.length < MIN_PASSWORD) {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `password must be at least ${MIN_PASSWORD} characters`, { key: 'password' });
    }
    const orgs: Org[] = [];
    for (const slug of new Set(orgSlugs)) orgs.push(await this.orgs.require(slug));
    const hash = await hashPassword(password, this.scryptParams);
    await this.db.transaction(async () => {
      if (await this.db.get('SELECT 1 FROM users WHERE name = ?', [name])) {
        throw new CallscreenError('CS_ERR_USER_EXISTS', `user "${name}" already exists`, { user: name });
      }
      const r = await this.db.run('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)', [name, role, hash, this.clock.now()]);
      for (const o of orgs) {
        await this.db.run('INSERT INTO user_orgs (user_id, org_id) VALUES (?, ?)', [r.lastID, o.id]);
        await this.audit.append(o.id, actor, 'user.add', name, '', { role });
      }
    });
    return this.require(name);
  }

  async get(name: string): Promise<User | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE name = ?', [name]);
    return row ? this.toUser(row) : undefined;
  }

  async getById(id: number): Promise<User | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE id = ?', [id]);
    return row ? this.toUser(row) : undefined;
  }

  async require(name: string): Promise<User> {
    const u = await this.get(name);
    if (!u) throw new CallscreenError('CS_ERR_USER_NOT_FOUND', `no user "${name}"`, { user: name });
    return u;
  }

  async list(): Promise<User[]> {
    const rows = await this.db.all<UserRow>('SELECT * FROM users ORDER BY name');
    const out: User[] = [];
    for (const r of rows) out.push(await this.toUser(r));
    return out;
  }

  /** The user when name and password match and the account is enabled; null otherwise. */
  async authenticate(name: string, password: string): Promise<User | null> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE name = ?', [name]);
    if (!row) {
      this.dummyHash ??= hashPassword('not-a-real-password', this.scryptParams);
      await verifyPassword(password, await this.dummyHash);
      return null;
    }
    const ok = await verifyPassword(password, row.password_hash);
    return ok && row.disabled === 0 ? this.toUser(row) : null;
  }

  async setDisabled(name: string, disabled: boolean, actor: Actor): Promise<User> {
    const user = await this.require(name);
    await this.db.transaction(async () => {
      await this.db.run('UPDATE users SET disabled = ? WHERE id = ?', [disabled ? 1 : 0, user.id]);
      // A disabled user is signed out everywhere at once.
      if (disabled) await this.db.run('DELETE FROM sessions WHERE user_id = ?', [user.id]);
      await this.appendForUser(user, actor, disabled ? 'user.disable' : 'user.enable');
    });
    return this.require(name);
  }

  /** Creates an API token; the plain token is returned once and never stored. */
  async createToken(userName: string, tokenName: string, actor: Actor): Promise<{ id: number; token: string }> {
    const user = await this.require(userName);
    const label = tokenName.trim().slice(0, 100) || 'token';
    const token = `cs_${randomBytes(32).toString('base64url')}`;
    const id = await this.db.transaction(async () => {
      const r = await this.db.run('INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)', [user.id, label, sha256(token), this.clock.now()]);
      await this.appendForUser(user, actor, 'user.token.add', { token: r.lastID, name: label });
      return r.lastID;
    });
    return { id, token };
  }

  /** The enabled user a (not revoked) token belongs to, or null. */
  async verifyToken(token: string): Promise<User | null> {
    const row = await this.db.get<{ id: number; user_id: number }>('SELECT id, user_id FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL', [sha256(token)]);
    if (!row) return null;
    const user = await this.getById(row.user_id);
    if (!user || user.disabled) return null;
    await this.db.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [this.clock.now(), row.id]);
    return user;
  }

  private async appendForUser(user: User, actor: Actor, action: string, detail: Record<string, unknown> = {}): Promise<void> {
    for (const slug of user.orgs) {
      const org = await this.orgs.get(slug);
      if (org) await this.audit.append(org.id, actor, action, user.name, '', detail);
    }
  }

  private async toUser(row: UserRow): Promise<User> {
    const orgs = await this.db.all<{ slug: string }>('SELECT o.slug FROM user_orgs uo JOIN orgs o ON o.id = uo.org_id WHERE uo.user_id = ? ORDER BY o.slug', [row.id]);
    return { id: row.id, name: row.name, role: row.role, disabled: row.disabled !== 0, orgs: orgs.map((o) => o.slug) };
  }
}
