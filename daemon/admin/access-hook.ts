/**
 * The one place a request is authorised. Every API and page route declares `config.access`
 * (an action from access-policy.ts, `signed-in`, or `public`); a route registered without it is a
 * programming error refused when the server is built. One preValidation hook then signs the caller in
 * (CSRF and Origin checked for changes made with a session), resolves the organisation the request
 * is about (`:org` in the path, else the `org` form field or query, else the user's first) and
 * applies the role table. Routes read the result from `req.principal`; none checks by itself.
 * What only the operation can know (what a block covers, whether it weakens an entry) is checked
 * by the operation with the functions of access-policy.ts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import type { OrgService } from '../services/org-service.js';
import type { Org } from '../store/rows.js';
import { authorize, type Access } from './access-policy.js';
import type { AuthState, RequestAuth } from './request-auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: see access-hook.ts. */
    access?: Access;
    /** The route's success status when not 200 (the OpenAPI document and serialiser use it). */
    status?: number;
  }
  interface FastifyRequest {
    /** The signed-in caller; set by the access hook on every non-public route. */
    principal?: AuthState;
    /** The organisation the request acts in, authorised for the route's action. */
    accessOrg?: Org;
  }
}

export interface RouteAccess {
  readonly method: string;
  readonly url: string;
  readonly access: Access;
}

function pick(source: unknown, key: string): string {
  const v = (source as Record<string, unknown> | undefined)?.[key];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
}

/** The organisation slug a request is about. */
export function requestedOrg(req: FastifyRequest, fallback: string): string {
  return pick(req.params, 'org') || pick(req.body, 'org') || pick(req.query, 'org') || fallback;
}

/**
 * Installs the access check on `app` (an encapsulated plugin) and records each route's access in
 * `table` (tests walk it; the OpenAPI security comes from it).
 */
export function installAccess(app: FastifyInstance, auth: RequestAuth, orgs: OrgService, table: RouteAccess[]): void {
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (!access)
      throw new Error(`route ${String(route.method)} ${route.url} has no config.access (see access-hook.ts)`);
    for (const m of [route.method].flat()) if (m !== 'HEAD') table.push({ method: m, url: route.url, access });
  });
  // preValidation: a caller who may not use the route learns nothing from its validation errors.
  app.addHook('preValidation', async (req) => {
    const access = req.routeOptions.config.access;
    if (access === undefined) throw new CallscreenError('CS_ERR_FORBIDDEN', 'route has no access rule');
    if (access === 'public') return;
    const principal = await auth.require(req);
    req.principal = principal;
    if (access === 'signed-in') return;
    const slug = requestedOrg(req, principal.user.orgs[0] ?? '');
    req.accessOrg = authorize(principal.user, await orgs.get(slug), slug, access);
  });
}

/** The principal the access hook set (a route marked public has none). */
export function principalOf(req: FastifyRequest): AuthState {
  if (!req.principal) throw new CallscreenError('CS_ERR_UNAUTHENTICATED', 'sign in first');
  return req.principal;
}

/** The organisation the access hook authorised. */
export function orgOf(req: FastifyRequest): Org {
  if (!req.accessOrg) throw new CallscreenError('CS_ERR_INTERNAL', 'route has no organisation access');
  return req.accessOrg;
}
