/**
 * Who is calling: a panel session (cookie) or an API token (`Authorization: Bearer cs_…`).
 * Session requests that change something must carry the session's CSRF token, as the
 * `x-csrf-token` header or the `_csrf` form field, and must not come from another site (Origin, or
 * Referer when there is no Origin, must be this server); bearer requests need neither (no ambient
 * credential a browser could be tricked into sending). Sign-in posts get the same Origin check:
 * without it a page elsewhere could sign a browser in as the attacker (login CSRF).
 * Bearer tokens act with the token's role (never above the owner's); read-only tokens only read.
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
  /** SHA-256 of the session id (session only): a password change keeps this one session. */
  readonly sessionHash?: string;
  /** Bearer token id and whether it may only read. */
  readonly tokenId?: number;
  readonly readOnly?: boolean;
}

export interface CookieSettings {
  /** Secure flag: on whenever the server itself serves TLS, or when admin.secure_cookies says so (TLS ends at a proxy). */
  readonly secure: boolean;
  /** Cookie lifetime (s); matches the session's. */
  readonly maxAgeSeconds: number;
}

/** scheme://host[:port] as a browser writes an Origin (default ports dropped), or null if unreadable. */
function originOf(url: string): string | null {
  try {
    const o = new URL(url).origin;
    return o === 'null' ? null : o.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * Refuses a state change sent from another site. Browsers send Origin on every cross-site POST;
 * older ones send only Referer. Clients that send neither (curl, scripts) are not browsers and
 * cannot be driven by another site, so they pass — the CSRF token still guards them.
 */
export function checkSameOrigin(req: FastifyRequest): void {
  const own = originOf(`${req.protocol}://${req.host}`);
  const origin = req.headers.origin;
  const referer = req.headers.referer;
  const given = typeof origin === 'string' ? origin : typeof referer === 'string' && referer !== '' ? referer : null;
  if (given === null) return;
  if (own === null || originOf(given) !== own) {
    const header = typeof origin === 'string' ? 'Origin' : 'Referer';
    throw new CallscreenError('CS_ERR_ORIGIN', `request from another site refused (${header} is not this server)`, {
      header: header.toLowerCase(),
    });
  }
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
      const t = m?.[1] ? await this.users.verifyToken(m[1]) : null;
      if (!t)
        throw new CallscreenError('CS_ERR_UNAUTHENTICATED', 'the API token is not valid (unknown, expired or revoked)');
      return {
        user: t.user,
        via: 'token',
        tokenId: t.tokenId,
        readOnly: t.readOnly,
        actor: { name: t.user.name, source: 'api', origin: req.ip },
      };
    }
    const sid = req.cookies[SESSION_COOKIE];
    if (!sid) return null;
    const session = await this.sessions.get(sid);
    if (!session) return null;
    const user = await this.users.getById(session.userId);
    if (!user || user.disabled) return null;
    return {
      user,
      via: 'session',
      csrf: session.csrf,
      sessionHash: session.idHash,
      actor: { name: user.name, source: 'panel', origin: req.ip },
    };
  }

  /** The caller, signed in, with CSRF checked for any change made with a session cookie. */
  async require(req: FastifyRequest): Promise<AuthState> {
    const state = await this.identify(req);
    if (!state) throw new CallscreenError('CS_ERR_UNAUTHENTICATED', 'sign in first');
    if (!SAFE_METHODS.has(req.method)) {
      if (state.via === 'session') {
        checkSameOrigin(req);
        this.checkCsrf(req, state.csrf ?? '');
      } else if (state.readOnly) {
        throw new CallscreenError('CS_ERR_FORBIDDEN', 'this API token is read-only', {
          permission: 'write',
          token: state.tokenId,
        });
      }
    }
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
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: this.cookie.secure,
      maxAge: this.cookie.maxAgeSeconds,
    });
    return session.csrf;
  }

  async endSession(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) await this.sessions.destroy(sid);
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: this.cookie.secure });
  }
}
