/**
 * The OpenAPI document, generated from the routes themselves: the same JSON Schemas fastify
 * validates requests and serialises answers with, the route's real success status, the error
 * answers its access rule can produce (every error is the catalogue's `{code, message, details}`),
 * and per-route security from `config.access` (public routes need none). HTML panel pages are
 * left out. The ops endpoints (/healthz, /readyz, /metrics) are listed as public.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Access } from './access-policy.js';

export const ERROR_BODY = {
  type: 'object',
  required: ['code', 'message', 'details'],
  description:
    'Every error: a stable code from the catalogue (daemon/core/errors.ts), a message for people, details naming the field or limit',
  properties: {
    code: { type: 'string', pattern: '^CS_ERR_[A-Z_]+$', examples: ['CS_ERR_INVALID_VALUE'] },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const err = (description: string) => ({ ...ERROR_BODY, description });

/** The error answers a route can give, from its access rule, method and path. */
export function errorResponses(access: Access, method: string, url: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    400: err('a parameter, query or body field is invalid (details.field names it)'),
    '4xx': err('another refusal from the catalogue (409 protected number, 413 body too large, 415 not JSON, …)'),
    500: err('internal error; the message never carries internals'),
    '5xx': err('the database or a PBX link is unavailable (503), the disk is full (507)'),
  };
  if (access !== 'public') {
    out[401] = err('not signed in, or the token is unknown, expired or revoked');
    out[403] = err(
      access === 'signed-in'
        ? 'CSRF token or Origin wrong (session), or a read-only token writing'
        : `the role may not "${access}" here (see docs/admin.md Roles), or CSRF/Origin wrong`,
    );
  }
  if (url.includes(':org'))
    out[404] = err("no such organisation for this user (another org's existence is not revealed), or no such entry");
  if (access === 'public' && method === 'POST') {
    out[401] = err('wrong user name or password');
    out[403] = err('posted from another site (Origin/Referer)');
    out[429] = err(
      'throttled: too many failures for the account or address, too many unknown names, or too many sign-ins at once; see Retry-After',
    );
  }
  return out;
}

/**
 * Gives every API route its response schemas (success + errors) before fastify compiles it, so the
 * document and the serialiser read the same schema. The success status is `config.status` (default 200).
 */
export function installResponseSchemas(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as { access?: Access; status?: number };
    const schema = (route.schema ?? {}) as { hide?: boolean; response?: Record<string, unknown> };
    if (!config.access || schema.hide) return;
    const method = [route.method].flat()[0] ?? 'GET';
    const status = config.status ?? 200;
    const given = schema.response ?? {};
    const success = given[status] ?? {
      description: status === 201 ? 'Created' : 'OK',
      type: 'object',
      additionalProperties: true,
    };
    route.schema = {
      ...schema,
      response: { ...errorResponses(config.access, method, route.url), ...given, [status]: success },
    };
  });
}

/** @fastify/swagger `transform`: HTML pages out, security per route from its access rule. */
export function openapiTransform({
  schema,
  url,
  route,
}: {
  schema: Record<string, unknown> | undefined;
  url: string;
  route: RouteOptions;
}): { schema: Record<string, unknown>; url: string } {
  const access = route.config?.access;
  const isApi = url.startsWith('/api/v1/');
  if (!isApi && !OPS_PATHS.has(url)) return { schema: { ...schema, hide: true }, url };
  const isPublic = !isApi || access === 'public';
  return {
    schema: {
      ...schema,
      ...(isApi
        ? {}
        : {
            tags: ['ops'],
            summary: {
              '/healthz': 'Liveness',
              '/readyz': 'Readiness: 503 with the reason while a link or the database is down',
              '/metrics': 'Prometheus metrics (text exposition format)',
            }[url],
            response:
              url === '/readyz'
                ? { 200: { description: 'ready' }, 503: { description: 'not ready; the body says why' } }
                : { 200: { description: 'OK' } },
          }),
      security: isPublic ? [] : [{ bearer: [] }, { session: [] }],
    },
    url,
  };
}
