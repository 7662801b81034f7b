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
  /** The user's own role: the one they get in an organisation unless `roles` says otherwise. */
  readonly role: Role;
  /** The role in each organisation they work in (slug → role); every slug of `orgs` is here. */
  readonly roles: Readonly<Record<string, Role>>;
  readonly disabled: boolean;
  /** Slugs of the organisations this user works in. */
  readonly orgs: readonly string[];
}

interface UserRow {
  id: number;
  name: string;
  role: Role;
  password_hash: string;
  disabled: number;
}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** Shortest password accepted (characters). */
export const MIN_PASSWORD = 10;

/** Lifetime of a new API token unless given (days). */
export const DEFAULT_TOKEN_DAYS = 90;
/** Longest lifetime a token may be given (days): every token ends. */
export const MAX_TOKEN_DAYS = 366;
/** A token's use is written to the audit log at most this often (ms): 1 h. */
export const TOKEN_USE_AUDIT_MS = 3_600_000;
/** Least to most trusted. */
const ROLE_ORDER: readonly Role[] = ['agent', 'supervisor', 'admin'];

export interface TokenSpec {
  readonly name: string;
  /** Default: the lower of the owner's and the creator's role. */
  readonly role?: Role;
  readonly readOnly?: boolean;
  /** Default DEFAULT_TOKEN_DAYS (90). */
  readonly expiresInDays?: number;
}

export interface TokenInfo {
  readonly id: number;
  readonly user: string;
  readonly name: string;
  /** null: made before scoped tokens (acts with the owner's role). */
  readonly role: Role | null;
  readonly readOnly: boolean;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
  readonly revokedReason: string | null;
  readonly state: 'active' | 'expired' | 'revoked';
}

interface TokenRow {
  id: number;
  user_id: number;
  user_name: string;
  name: string;
  created_at: number;
  created_by: string;
  last_used_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  role: Role | null;
  read_only: number;
  expires_at: number | null;
}

/** The user's role in an organisation (their own role where none is set for it). */
export function roleIn(user: User, orgSlug: string): Role {
  return user.roles[orgSlug] ?? user.role;
}

/** The highest role the user has anywhere: what a token of theirs may carry at most. */
export function highestRole(user: User): Role {
  const roles = Object.values(user.roles);
  if (roles.length === 0) return user.role;
  return roles.reduce((best, r) => (ROLE_ORDER.indexOf(r) > ROLE_ORDER.indexOf(best) ? r : best));
}

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
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `user name "${name}" must be letters, digits, . _ @ - (at most 64)`,
        { key: 'name' },
      );
    }
    if (!ROLES.includes(role))
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `role "${role}" is not one of ${ROLES.join(', ')}`, {
        key: 'role',
      });
    if (orgSlugs.length === 0)
      throw new CallscreenError('CS_ERR_USAGE', 'a user needs at least one organisation (--org)', { key: 'org' });
    if (password.length < MIN_PASSWORD) {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `password must be at least ${MIN_PASSWORD} characters`, {
        key: 'password',
      });
    }
    const orgs: Org[] = [];
    for (const slug of new Set(orgSlugs)) orgs.push(await this.orgs.require(slug));
    const hash = await hashPassword(password, this.scryptParams);
    await this.db.transaction(async () => {
      if (await this.db.get('SELECT 1 FROM users WHERE name = ?', [name])) {
        throw new CallscreenError('CS_ERR_USER_EXISTS', `user "${name}" already exists`, { user: name });
      }
      const r = await this.db.run('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)', [
        name,
        role,
        hash,
        this.clock.now(),
      ]);
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

  /**
   * Disables or enables an account. Disabling signs the user out everywhere and revokes every API
   * token for good: enabling later brings back neither (new tokens must be made).
   */
  async setDisabled(name: string, disabled: boolean, actor: Actor): Promise<User> {
    const user = await this.require(name);
    await this.db.transaction(async () => {
      await this.db.run('UPDATE users SET disabled = ? WHERE id = ?', [disabled ? 1 : 0, user.id]);
      if (disabled) {
        await this.db.run('DELETE FROM sessions WHERE user_id = ?', [user.id]);
        await this.db.run(
          "UPDATE api_tokens SET revoked_at = ?, revoked_reason = 'user disabled' WHERE user_id = ? AND revoked_at IS NULL",
          [this.clock.now(), user.id],
        );
      }
      await this.appendForUser(user, actor, disabled ? 'user.disable' : 'user.enable');
    });
    return this.require(name);
  }

  /**
   * Sets a new password and ends the user's sessions, all but `keepSessionHash` (the session that
   * changed its own password stays signed in). `self` says whether it was a change or a reset.
   */
  async setPassword(
    name: string,
    password: string,
    actor: Actor,
    opts: { keepSessionHash?: string; self: boolean },
  ): Promise<User> {
    const user = await this.require(name);
    if (password.length < MIN_PASSWORD) {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `password must be at least ${MIN_PASSWORD} characters`, {
        key: 'password',
        field: 'password',
      });
    }
    const hash = await hashPassword(password, this.scryptParams);
    await this.db.transaction(async () => {
      await this.db.run('UPDATE users SET password_hash = ? WHERE id = ?', [hash, user.id]);
      await this.db.run('DELETE FROM sessions WHERE user_id = ? AND id_hash IS NOT ?', [
        user.id,
        opts.keepSessionHash ?? null,
      ]);
      await this.appendForUser(user, actor, opts.self ? 'user.password.change' : 'user.password.reset');
    });
    return user;
  }

  /** True when `password` is the user's current one (for a self-service change). */
  async checkPassword(user: User, password: string): Promise<boolean> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE id = ?', [user.id]);
    return row ? verifyPassword(password, row.password_hash) : false;
  }

  /**
   * Creates an API token for `userName`; the plain token is returned once and never stored.
   * The token's role is at most the owner's and at most `creatorRole` (a user cannot mint a token
   * stronger than themself); `readOnly` tokens may only read. Default lifetime 90 days.
   */
  async createToken(
    userName: string,
    spec: TokenSpec,
    actor: Actor,
    creatorRole: Role = 'admin',
  ): Promise<TokenInfo & { token: string }> {
    const user = await this.require(userName);
    if (user.disabled)
      throw new CallscreenError('CS_ERR_FORBIDDEN', `user "${user.name}" is disabled: no new tokens`, {
        user: user.name,
      });
    const label = spec.name.trim().slice(0, 100);
    if (!label)
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'a token needs a name (what it is for)', { field: 'name' });
    const own = highestRole(user);
    const ceiling = ROLE_ORDER.indexOf(own) < ROLE_ORDER.indexOf(creatorRole) ? own : creatorRole;
    const role = spec.role ?? ceiling;
    if (!ROLES.includes(role))
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `role "${role}" is not one of ${ROLES.join(', ')}`, {
        field: 'role',
      });
    if (ROLE_ORDER.indexOf(role) > ROLE_ORDER.indexOf(ceiling)) {
      throw new CallscreenError('CS_ERR_FORBIDDEN', `a token may not carry role ${role}: at most ${ceiling}`, {
        field: 'role',
        max: ceiling,
      });
    }
    const days = spec.expiresInDays ?? DEFAULT_TOKEN_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `token lifetime must be 1–${MAX_TOKEN_DAYS} days, not ${String(days)}`,
        { field: 'expiresInDays' },
      );
    }
    const now = this.clock.now();
    const expiresAt = now + days * 86_400_000;
    const token = `cs_${randomBytes(32).toString('base64url')}`;
    const id = await this.db.transaction(async () => {
      const r = await this.db.run(
        'INSERT INTO api_tokens (user_id, name, token_hash, created_at, role, read_only, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [user.id, label, sha256(token), now, role, spec.readOnly ? 1 : 0, expiresAt, actor.name],
      );
      await this.appendForUser(user, actor, 'user.token.add', {
        token: r.lastID,
        name: label,
        role,
        readOnly: spec.readOnly === true,
        expiresAt: new Date(expiresAt).toISOString(),
      });
      return r.lastID;
    });
    return { ...(await this.requireToken(id)), token };
  }

  /** A user's tokens (never the secret), newest first; revoked and expired ones included. */
  async listTokens(userName: string): Promise<TokenInfo[]> {
    const user = await this.require(userName);
    const rows = await this.db.all<TokenRow>(
      'SELECT t.*, u.name AS user_name FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = ? ORDER BY t.id DESC',
      [user.id],
    );
    return rows.map((r) => this.toToken(r));
  }

  /** Revokes a token of `userName` (404 if it is not theirs). */
  async revokeToken(userName: string, id: number, actor: Actor, reason = 'revoked'): Promise<TokenInfo> {
    const user = await this.require(userName);
    return this.db.transaction(async () => {
      const r = await this.db.run(
        'UPDATE api_tokens SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL',
        [this.clock.now(), reason, id, user.id],
      );
      const row = await this.db.get<TokenRow>(
        'SELECT t.*, u.name AS user_name FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ? AND t.user_id = ?',
        [id, user.id],
      );
      if (!row)
        throw new CallscreenError('CS_ERR_TOKEN_NOT_FOUND', `no token ${id} for user "${user.name}"`, { token: id });
      if (r.changes > 0) await this.appendForUser(user, actor, 'user.token.revoke', { token: id, name: row.name });
      return this.toToken(row);
    });
  }

  /**
   * The user a live token acts as — with the token's role (never above the user's) and read-only
   * flag — or null when the token is unknown, revoked, expired or its user disabled. Use is audited
   * at most once an hour per token (`TOKEN_USE_AUDIT_MS`) so a busy softphone does not flood the log.
   */
  async verifyToken(token: string): Promise<{ user: User; tokenId: number; readOnly: boolean } | null> {
    const row = await this.db.get<TokenRow>(
      'SELECT t.*, u.name AS user_name FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked_at IS NULL',
      [sha256(token)],
    );
    const now = this.clock.now();
    if (!row || (row.expires_at !== null && row.expires_at <= now)) return null;
    const owner = await this.getById(row.user_id);
    if (!owner || owner.disabled) return null;
    const tokenRole = row.role ?? owner.role;
    const role = ROLE_ORDER.indexOf(tokenRole) < ROLE_ORDER.indexOf(owner.role) ? tokenRole : owner.role;
    await this.db.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [now, row.id]);
    if (row.last_used_at === null || now - row.last_used_at >= TOKEN_USE_AUDIT_MS) {
      await this.appendForUser(owner, { name: owner.name, source: 'api', origin: '' }, 'user.token.use', {
        token: row.id,
        name: row.name,
      });
    }
    // The token's role caps the owner's role in every organisation.
    const roles: Record<string, Role> = {};
    for (const [slug, r] of Object.entries(owner.roles))
      roles[slug] = ROLE_ORDER.indexOf(tokenRole) < ROLE_ORDER.indexOf(r) ? tokenRole : r;
    return { user: { ...owner, role, roles }, tokenId: row.id, readOnly: row.read_only === 1 };
  }

  private async requireToken(id: number): Promise<TokenInfo> {
    const row = await this.db.get<TokenRow>(
      'SELECT t.*, u.name AS user_name FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?',
      [id],
    );
    if (!row) throw new CallscreenError('CS_ERR_TOKEN_NOT_FOUND', `no token ${id}`, { token: id });
    return this.toToken(row);
  }

  private toToken(r: TokenRow): TokenInfo {
    const now = this.clock.now();
    const state =
      r.revoked_at !== null ? 'revoked' : r.expires_at !== null && r.expires_at <= now ? 'expired' : 'active';
    return {
      id: r.id,
      user: r.user_name,
      name: r.name,
      role: r.role,
      readOnly: r.read_only === 1,
      createdAt: r.created_at,
      createdBy: r.created_by,
      expiresAt: r.expires_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
      revokedReason: r.revoked_reason,
      state,
    };
  }

  private async appendForUser(
    user: User,
    actor: Actor,
    action: string,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    for (const slug of user.orgs) {
      const org = await this.orgs.get(slug);
      if (org) await this.audit.append(org.id, actor, action, user.name, '', detail);
    }
  }

  private async toUser(row: UserRow): Promise<User> {
    const orgs = await this.db.all<{ slug: string; role: Role | null }>(
      'SELECT o.slug, uo.role FROM user_orgs uo JOIN orgs o ON o.id = uo.org_id WHERE uo.user_id = ? ORDER BY o.slug',
      [row.id],
    );
    const roles: Record<string, Role> = {};
    for (const o of orgs) roles[o.slug] = o.role ?? row.role;
    return {
      id: row.id,
      name: row.name,
      role: row.role,
      roles,
      disabled: row.disabled !== 0,
      orgs: orgs.map((o) => o.slug),
    };
  }

  /**
   * Gives the user `role` in one organisation they work in (others keep theirs), or adds them to it
   * with that role. Sessions and tokens follow at once: roles are read on every request.
   */
  async setRole(name: string, orgSlug: string, role: Role, actor: Actor): Promise<User> {
    if (!ROLES.includes(role))
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `role "${role}" is not one of ${ROLES.join(', ')}`, {
        key: 'role',
        field: 'role',
      });
    const user = await this.require(name);
    const org = await this.orgs.require(orgSlug);
    await this.db.transaction(async () => {
      await this.db.run(
        'INSERT INTO user_orgs (user_id, org_id, role) VALUES (?, ?, ?) ON CONFLICT (user_id, org_id) DO UPDATE SET role = excluded.role',
        [user.id, org.id, role],
      );
      await this.audit.append(org.id, actor, 'user.role', user.name, '', {
        role,
        before: user.roles[org.slug] ?? null,
      });
    });
    return this.require(name);
  }
}
