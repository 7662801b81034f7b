/**
 * Who is calling: a panel session (cookie) or an API token (`Authorization: Bearer cs_…`).
 * Session requests that change something must carry the session's CSRF token, as the
 * `x-csrf-token` header or the `_csrf` form field; bearer requests need none (no ambient
 * credential a browser could be tricked into sending).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import type { Principal } from './admin-operations.js';
import type { SessionStore } from './session-store.js';
import type { User, UserService } from './user-service.js';

export const SESSION_COOKIE = 'cs_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthState extends Principal {
  readonly via: 'session' | 'token';
  /** The session's CSRF token (pages embed it in forms); absent for bearer tokens. */
  readonly csrf?: string;
}

export interface CookieSettings {
  readonly secure: boolean;
  /** Cookie lifetime (s); matches the session's. */
  readonly maxAgeSeconds: number;
}

export class RequestAuth {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionStore,
    private readonly cookie: CookieSettings,
  ) {}

  /** The caller, or null when not signed in. Does not check CSRF. */
  async identify(req: FastifyRequest): Promise<AuthState | null> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const user = m?.[1] ? await this.users.verifyToken(m[1]) : null;
      if (!user) throw new CallscreenError('CS_ERR_UNAUTHENTICATED', 'the API token is not valid (or was revoked)');
      return { user, via: 'token', actor: { name: user.name, source: 'api', origin: req.ip } };
    }
    const sid = req.cookies[SESSION_COOKIE];
    if (!sid) return null;
    const session = await this.sessions.get(sid);
    if (!session) return null;
    const user = await this.users.getById(session.userId);
    if (!user || user.disabled) return null;
    return { user, via: 'session', csrf: session.csrf, actor: { name: user.name, source: 'panel', origin: req.ip } };
  }

  /** The caller, signed in, with CSRF checked for any change made with a session cookie. */
  async require(req: FastifyRequest): Promise<AuthState> {
    const state = await this.identify(req);
    if (!state) throw new CallscreenError('CS_ERR_UNAUTHENTICATED', 'sign in first');
    if (state.via === 'session' && !SAFE_METHODS.has(req.method)) this.checkCsrf(req, state.csrf ?? '');
    return state;
  }

  checkCsrf(req: FastifyRequest, expected: string): void {
    const body = req.body as Record<string, unknown> | undefined;
    const headerValue = req.headers['x-csrf-token'];
    const given = typeof headerValue === 'string' ? headerValue : typeof body?._csrf === 'string' ? body._csrf : '';
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    if (!expected || a.length !== b.length || !timingSafeEqual(a, b)) {
      throw new CallscreenError('CS_ERR_CSRF', 'missing or wrong CSRF token: reload the page and try again');
    }
  }

  /**
   * Signs a user in with a brand-new session id (any session id the browser already had is
   * destroyed first, so an id planted before sign-in is worthless: no session fixation).
   */
  async startSession(req: FastifyRequest, reply: FastifyReply, user: User): Promise<string> {
    const old = req.cookies[SESSION_COOKIE];
    if (old) await this.sessions.destroy(old);
    const { id, session } = await this.sessions.create(user.id);
    reply.setCookie(SESSION_COOKIE, id, {
      path: '/', httpOnly: true, sameSite: 'strict', secure: this.cookie.secure, maxAge: this.cookie.maxAgeSeconds,
    });
    return session.csrf;
  }

  async endSession(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) await this.sessions.destroy(sid);
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: this.cookie.secure });
  }
}
