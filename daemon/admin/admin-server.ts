/**
 * The admin HTTP server (a daemon Component): the web panel, the JSON API under /api/v1 with its
 * OpenAPI document, and the ops endpoints (/healthz, /readyz, /metrics). Loopback by default
 * (config admin.listen = 127.0.0.1:8080); HTTPS when admin.tls_cert and admin.tls_key are set.
 */
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Component } from '../component.js';
import type { DaemonContext } from '../daemon-context.js';
import { listenAddress } from '../net/listen.js';
import { registerOpsRoutes } from '../ops/ops-routes.js';
import type { RouteAccess } from './access-hook.js';
import { AdminOperations } from './admin-operations.js';
import { BulkOperations } from './bulk-operations.js';
import { TransferOperations } from './transfer-operations.js';
import { UserAdminOperations } from './user-admin-operations.js';
import { renderApiDocs, type OpenApiDoc } from './api-docs-page.js';
import { openapiTransform } from './openapi.js';
import { HashGate, type HashGateOptions } from './hash-gate.js';
import { registerApiRoutes } from './api-routes.js';
import { registerWhatIfRoutes } from './api-routes-what-if.js';
import { registerStaleRoutes } from './api-routes-stale.js';
import { registerFloodApiRoutes } from './api-flood-routes.js';
import { registerRuleApiRoutes } from './api-routes-rules.js';
import { RuleOperations } from './rule-operations.js';
import { toHttpError } from './http-errors.js';
import { registerPageRoutes, renderErrorPage } from './page-routes.js';
import { registerRulePages } from './page-rules.js';
import { DEFAULT_SCRYPT, type ScryptParams } from './password-hash.js';
import { RequestAuth } from './request-auth.js';
import { DEFAULT_IDLE_MS, SessionStore } from './session-store.js';
import { SignInService, type SignInOutcome } from './sign-in-service.js';
import { SignInThrottle, type ThrottleOptions } from './sign-in-throttle.js';
import { UserService } from './user-service.js';

/** Largest request body accepted (bytes): forms and JSON here are small; bounds a hostile client. */
export const BODY_LIMIT = 64 * 1024;
/** Ops endpoints that are polled; their requests are logged at warn and above only. */
const POLLED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Strict CSP: only our own script and stylesheet; no inline script, no framing, forms post home. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface AdminServerOptions {
  /** Overrides config admin.listen (tests use 127.0.0.1:0). */
  readonly listen?: string;
  readonly throttle?: ThrottleOptions;
  /** Tests lower the scrypt cost to stay fast. */
  readonly scrypt?: ScryptParams;
  /** Concurrent password hashes and queue (hash-gate.ts; default 2 and 8). */
  readonly hashGate?: HashGateOptions;
  /** Session idle limit (ms), default 30 min. */
  readonly sessionIdleMs?: number;
}

/** HSTS sent whenever the server itself serves TLS: one year (s), the usual preload-free value. */
export const HSTS = 'max-age=31536000';

export class AdminServer implements Component {
  readonly name = 'admin';
  readonly users: UserService;
  /** Every API and page route with its access rule (filled when built; tests walk it). */
  readonly routes: RouteAccess[] = [];
  /** Bounds concurrent password hashing (its stats show in tests and ops). */
  readonly hashGate: HashGate;
  private app: FastifyInstance | null = null;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly options: AdminServerOptions = {},
  ) {
    this.users = new UserService(ctx.db, ctx.orgs, ctx.audit, ctx.clock, options.scrypt ?? DEFAULT_SCRYPT);
    this.hashGate = new HashGate(options.hashGate);
  }

  /** Builds the fastify instance (routes ready, not listening): tests call `inject` on it. */
  async build(): Promise<FastifyInstance> {
    if (this.app) return this.app;
    const { ctx } = this;
    const cfg = ctx.config.admin;
    const https =
      cfg.tls_cert && cfg.tls_key ? { cert: readFileSync(cfg.tls_cert), key: readFileSync(cfg.tls_key) } : null;
    const app = Fastify({
      loggerInstance: ctx.logger.child({ component: 'admin' }),
      bodyLimit: BODY_LIMIT,
      // Refuse unknown fields (fastify's default silently drops them) so a typo is a 400, not ignored.
      ajv: { customOptions: { removeAdditional: false } },
      ...(https ? { https } : {}),
    }) as unknown as FastifyInstance;
    this.app = app;

    const sessions = new SessionStore(
      ctx.db,
      ctx.clock,
      cfg.session_hours * 3_600_000,
      this.options.sessionIdleMs ?? DEFAULT_IDLE_MS,
    );
    // With TLS served here the cookie is always Secure; secure_cookies covers TLS ended at a proxy.
    const auth = new RequestAuth(this.users, sessions, {
      secure: cfg.secure_cookies || https !== null,
      maxAgeSeconds: cfg.session_hours * 3600,
    });
    const signIn = new SignInService(
      this.users,
      new SignInThrottle(ctx.clock, this.options.throttle),
      this.hashGate,
      signInCounter(ctx.metrics.registry),
    );
    const ops = new AdminOperations(ctx);
    const doors = {
      bulk: new BulkOperations(ctx, ops),
      transfer: new TransferOperations(ctx, ops),
      userAdmin: new UserAdminOperations(ops, this.users),
    };

    await app.register(cookie);
    await app.register(formbody, { bodyLimit: BODY_LIMIT });
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'callscreen admin API',
          version: '1',
          description:
            'Every panel action. Sign in with POST /api/v1/session (cookie + x-csrf-token) or send Authorization: Bearer <token>.',
        },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer' },
            session: { type: 'apiKey', in: 'cookie', name: 'cs_session' },
          },
        },
        security: [{ bearer: [] }, { session: [] }],
      },
      transform: openapiTransform as never,
    });

    app.addHook('onSend', async (req, reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` on its own
      // same-site form posts, and the Origin check (request-auth.ts) could not tell them from a
      // sandboxed attacker. Other sites still get no Referer.
      reply.header('referrer-policy', 'same-origin');
      if (!req.url.startsWith('/assets/')) reply.header('cache-control', 'no-store');
      if (https) reply.header('strict-transport-security', HSTS);
    });

    app.setErrorHandler((err, req, reply) => {
      const { status, body } = toHttpError(err);
      if (status >= 500) req.log.error({ err }, 'admin request failed');
      else req.log.info({ code: body.code, status }, body.message);
      const retry = body.details.retryAfterSeconds;
      if (typeof retry === 'number') reply.header('retry-after', String(retry));
      if (req.url.startsWith('/api/')) return reply.code(status).send(body);
      if (status === 401) return reply.redirect(`/signin?next=${encodeURIComponent(req.url)}`, 303);
      return reply.code(status).type('text/html; charset=utf-8').send(renderErrorPage(status, body.message));
    });
    app.setNotFoundHandler((req) => {
      throw Object.assign(new Error(`no such page: ${req.method} ${req.url.split('?')[0] ?? ''}`), {
        statusCode: 404,
        code: 'FST_ERR_NOT_FOUND',
      });
    });

    // Plugins that register synchronously return a settled promise: fastify waits on a plugin's promise.
    await app.register(
      (api) => {
        registerApiRoutes(api, { ops, auth, signIn, users: this.users, orgs: ctx.orgs, routes: this.routes, ...doors });
        registerWhatIfRoutes(api, { ops });
        registerStaleRoutes(api, { ops });
        registerFloodApiRoutes(api, { flood: ctx.flood, handset: ctx.handset });
        registerRuleApiRoutes(api, { rules: new RuleOperations(ctx, ops) });
        api.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, () => app.swagger());
        api.get('/docs', { schema: { hide: true }, config: { access: 'public' } }, async (_req, reply) =>
          reply.type('text/html; charset=utf-8').send(renderApiDocs(app.swagger() as OpenApiDoc)),
        );
        return Promise.resolve();
      },
      { prefix: '/api/v1' },
    );
    await app.register((pages) => {
      const rules = new RuleOperations(ctx, ops);
      registerPageRoutes(pages, { ops, auth, signIn, ctx, users: this.users, rules, routes: this.routes, ...doors });
      registerRulePages(pages, { ops, rules, ctx });
      return Promise.resolve();
    });
    // /healthz, /readyz and /metrics are polled (systemd, monitoring, Prometheus: every few
    // seconds): their request lines at info would bury everything else. Their errors still log.
    app.addHook('onRoute', (route) => {
      if (POLLED_PATHS.has(route.url)) route.logLevel = 'warn';
    });
    registerOpsRoutes(app, ctx);
    await app.ready();
    return app;
  }

  async start(): Promise<void> {
    const app = await this.build();
    const { host, port } = listenAddress(this.options.listen ?? this.ctx.config.admin.listen);
    await app.listen({ host, port });
  }

  /** The bound address (after start), e.g. to find an ephemeral port. */
  address(): { host: string; port: number } {
    const a = this.app?.server.address();
    if (!a || typeof a === 'string') throw new Error('admin server is not listening');
    return { host: a.address, port: a.port };
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = null;
  }
}

/** Counts sign-in outcomes: `callscreen_signin_total{outcome}` (ok, failed, account, address, unknown, busy). */
function signInCounter(registry: Registry): (o: SignInOutcome) => void {
  const name = 'callscreen_signin_total';
  const counter =
    (registry.getSingleMetric(name) as Counter<'outcome'> | undefined) ??
    new Counter({
      name,
      help: 'Sign-in attempts by outcome: ok, failed, or refused by the throttle (account, address, unknown = global budget for unknown names, busy = hashing gate full)',
      labelNames: ['outcome'],
      registers: [registry],
    });
  return (outcome) => counter.inc({ outcome });
}
