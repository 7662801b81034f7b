/**
 * The JSON API under /api/v1. Every panel action is one of these calls. Bodies and queries are
 * validated by JSON Schema (unknown fields refused, the field named in the 400); only
 * application/json bodies are accepted (415 otherwise). The schemas also feed the OpenAPI
 * document at /api/v1/openapi.json.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { BLOCK_MODES } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import { INBOUND_ACTIONS, RULE_KINDS, VERDICT_ACTIONS } from '../core/verdict.js';
import type { AdminOperations } from './admin-operations.js';
import { permissionsFor } from './access-policy.js';
import { installAccess, orgOf, principalOf, type RouteAccess } from './access-hook.js';
import { installResponseSchemas } from './openapi.js';
import { checkSameOrigin, type RequestAuth } from './request-auth.js';
import type { OrgService } from '../services/org-service.js';
import type { SignInService } from './sign-in-service.js';
import { highestRole, roleIn, type UserService } from './user-service.js';
import { registerDoorApiRoutes, type DoorApiDeps } from './api-door-routes.js';

export interface ApiDeps extends DoorApiDeps {
  readonly ops: AdminOperations;
  readonly auth: RequestAuth;
  readonly signIn: SignInService;
  readonly users: UserService;
  readonly orgs: OrgService;
  /** Filled with each route's access rule. */
  readonly routes: RouteAccess[];
}

const orgParam = { type: 'object', required: ['org'], properties: { org: { type: 'string', maxLength: 63 } } } as const;
const orgIdParams = {
  type: 'object',
  required: ['org', 'id'],
  properties: { org: { type: 'string', maxLength: 63 }, id: { type: 'integer', minimum: 1 } },
} as const;
const paging = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  offset: { type: 'integer', minimum: 0, default: 0 },
} as const;
const text = (max: number) => ({ type: 'string', maxLength: max }) as const;
const blockBody = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { enum: ['number', 'prefix', 'pattern', 'contact', 'unidentified'], description: 'what to block' },
    number: text(64),
    prefix: text(32),
    contactId: { type: 'integer', minimum: 1 },
    pattern: {
      type: 'string',
      maxLength: 80,
      description:
        'kind pattern: wildcards ("+1415555????", "?" one digit, "*" at the end any) or a range ("+14155550100..+14155550199")',
    },
    observe: {
      type: 'boolean',
      description: 'observe mode: recorded as "would have blocked", calls let through until promoted',
    },
    dids: {
      type: 'array',
      maxItems: 100,
      items: text(64),
      description: "only for calls to these of the org's DIDs; absent or empty = every call",
    },
    mode: {
      enum: ['voicemail', 'reject'],
      description: 'voicemail = "Block and allow voicemails"; reject = "Block all communications"',
    },
    name: text(200),
    reason: text(1000),
    expires: {
      type: ['string', 'null'],
      maxLength: 40,
      description: '30d, 12h, 90m, 2w or an ISO-8601 date; null = never',
    },
    confirm: {
      type: 'boolean',
      description:
        'save a broad entry (see POST …/what-if); without it a broad one answers 409 CS_ERR_CONFIRM_REQUIRED with the figures',
    },
  },
} as const;
const noteBody = { type: 'object', additionalProperties: false, properties: { note: text(1000) } } as const;

export function registerApiRoutes(instance: FastifyInstance, deps: ApiDeps): void {
  const { ops, auth, signIn } = deps;
  installAccess(instance, auth, deps.orgs, deps.routes);
  installResponseSchemas(instance);
  // Each route's body, query and params are typed from its own schema (the one ajv validates with
  // and the OpenAPI document shows), so a handler cannot read a field the schema does not have.
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();

  // Only JSON bodies: a form post or text/plain cannot reach the API (and CORS-free simple
  // requests from other sites are refused before anything runs).
  app.addHook('preValidation', (req) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.body === undefined) return Promise.resolve();
    const [mediaType = ''] = (req.headers['content-type'] ?? '').split(';');
    const type = mediaType.trim().toLowerCase();
    if (type !== 'application/json') {
      return Promise.reject(
        Object.assign(new Error(`the API takes application/json bodies, not "${type || 'none'}"`), {
          statusCode: 415,
          code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        }),
      );
    }
    return Promise.resolve();
  });

  app.post(
    '/session',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Sign in (sets the session cookie; returns the CSRF token for later changes)',
        tags: ['session'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'password'],
          properties: { name: text(64), password: text(1024) },
        },
      },
    },
    async (req, reply) => {
      // Login CSRF: a page elsewhere must not sign this browser in (as anyone).
      checkSameOrigin(req);
      const user = await signIn.check(req.body.name, req.body.password, req.ip);
      const csrf = await auth.startSession(req, reply, user);
      return { user: { name: user.name, role: user.role, orgs: user.orgs }, csrf };
    },
  );

  app.delete(
    '/session',
    { config: { access: 'signed-in' }, schema: { summary: 'Sign out', tags: ['session'] } },
    async (req, reply) => {
      await auth.endSession(req, reply);
      return { signedOut: true };
    },
  );

  app.get(
    '/me',
    {
      config: { access: 'signed-in' },
      schema: { summary: 'The signed-in user and their organisations', tags: ['session'] },
    },
    async (req) => {
      const a = principalOf(req);
      const orgs = await ops.orgs(a);
      return {
        user: { name: a.user.name, role: a.user.role },
        via: a.via,
        csrf: a.csrf ?? null,
        orgs: orgs.map((o) => ({
          slug: o.slug,
          name: o.name,
          role: roleIn(a.user, o.slug),
          permissions: permissionsFor(a.user, o),
        })),
      };
    },
  );

  // Response schemas list every field (additionalProperties: false): the serialiser drops unlisted
  // fields anyway, and the handler's return type is then checked against the schema.
  const tokenInfo = {
    type: 'object',
    additionalProperties: false,
    properties: {
      id: { type: 'integer' },
      user: { type: 'string' },
      name: { type: 'string' },
      role: { type: ['string', 'null'] },
      readOnly: { type: 'boolean' },
      createdAt: { type: 'integer' },
      createdBy: { type: 'string' },
      expiresAt: { type: ['integer', 'null'] },
      lastUsedAt: { type: ['integer', 'null'] },
      revokedAt: { type: ['integer', 'null'] },
      revokedReason: { type: ['string', 'null'] },
      state: { enum: ['active', 'expired', 'revoked'] },
    },
  } as const;

  app.post(
    '/me/tokens',
    {
      config: { access: 'signed-in', status: 201 },
      schema: {
        summary:
          'Create an API token for yourself (the secret is shown once). Role at most your own; default expiry 90 days',
        tags: ['tokens'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            role: { enum: ['admin', 'supervisor', 'agent'] },
            readOnly: { type: 'boolean' },
            expiresInDays: { type: 'integer', minimum: 1, maximum: 366, description: 'default 90' },
          },
        },
        response: {
          201: {
            description: 'Created; the secret is in token, shown once',
            type: 'object',
            additionalProperties: false,
            properties: { ...tokenInfo.properties, token: { type: 'string' } },
          },
        },
      },
    },
    async (req, reply) => {
      const a = principalOf(req);
      // A token cannot mint tokens: a leaked token must not outlive its own expiry or revocation.
      if (a.via === 'token')
        throw new CallscreenError(
          'CS_ERR_FORBIDDEN',
          'tokens are created from a signed-in session or the CLI, not with another token',
          { permission: 'tokens' },
        );
      const t = await deps.users.createToken(a.user.name, req.body, a.actor, highestRole(a.user));
      return reply.code(201).send(t);
    },
  );

  app.get(
    '/me/tokens',
    {
      config: { access: 'signed-in' },
      schema: {
        summary: 'Your API tokens (never the secrets), with last use',
        tags: ['tokens'],
        response: {
          200: {
            description: 'Your tokens, newest first',
            type: 'object',
            additionalProperties: false,
            properties: { tokens: { type: 'array', items: tokenInfo } },
          },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      return { tokens: await deps.users.listTokens(a.user.name) };
    },
  );

  app.post(
    '/me/tokens/:id/revoke',
    {
      config: { access: 'signed-in' },
      schema: {
        summary: 'Revoke one of your API tokens',
        tags: ['tokens'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } },
        response: { 200: { ...tokenInfo, description: 'The token, now revoked' } },
      },
    },
    async (req) => {
      const a = principalOf(req);
      return deps.users.revokeToken(a.user.name, req.params.id, a.actor);
    },
  );

  app.post(
    '/me/password',
    {
      config: { access: 'signed-in' },
      schema: {
        summary: 'Change your own password; your other sessions end',
        tags: ['session'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['current', 'password'],
          properties: { current: text(1024), password: { type: 'string', minLength: 10, maxLength: 1024 } },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      if (a.via !== 'session')
        throw new CallscreenError('CS_ERR_FORBIDDEN', 'sign in with your password to change it (not with a token)', {
          permission: 'password',
        });
      await signIn.confirmPassword(a.user, req.body.current, req.ip);
      await deps.users.setPassword(a.user.name, req.body.password, a.actor, {
        self: true,
        ...(a.sessionHash ? { keepSessionHash: a.sessionHash } : {}),
      });
      return { changed: true };
    },
  );

  app.post(
    '/orgs/:org/users/:name/password',
    {
      config: { access: 'users' },
      schema: {
        summary: "Reset a user's password (admins of every organisation the user works in); all their sessions end",
        tags: ['session'],
        params: {
          type: 'object',
          required: ['org', 'name'],
          properties: { org: { type: 'string', maxLength: 63 }, name: text(64) },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['password'],
          properties: { password: { type: 'string', minLength: 10, maxLength: 1024 } },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const name = req.params.name;
      const target = await deps.users.get(name);
      // Another org's user does not exist as far as this admin can tell; a user who also works in an
      // org this admin does not manage could be used to reach that org, so is refused.
      if (!target || !target.orgs.includes(orgOf(req).slug))
        throw new CallscreenError('CS_ERR_USER_NOT_FOUND', `no user "${name}"`, { user: name });
      if (!target.orgs.every((o) => a.user.orgs.includes(o))) {
        throw new CallscreenError(
          'CS_ERR_FORBIDDEN',
          `"${name}" also works in organisations you do not manage; ask their admin or use the CLI`,
          { permission: 'users' },
        );
      }
      await deps.users.setPassword(name, req.body.password, a.actor, { self: false });
      return { reset: name };
    },
  );

  app.get(
    '/orgs',
    { config: { access: 'signed-in' }, schema: { summary: 'Organisations the user works in', tags: ['orgs'] } },
    async (req) => {
      const a = principalOf(req);
      return {
        orgs: (await ops.orgs(a)).map((o) => ({
          slug: o.slug,
          name: o.name,
          settings: o.policy,
          permissions: permissionsFor(a.user, o),
        })),
      };
    },
  );

  app.get(
    '/orgs/:org/blocked',
    {
      config: { access: 'view' },
      schema: {
        summary:
          'List or search blocked (or allowed) entries; search matches partial digits in any format, or the name',
        tags: ['blocklist'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { search: text(100), list: { enum: ['block', 'allow'] }, ...paging },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const q = req.query;
      const r = await ops.listEntries(a, req.params.org, q);
      return { org: r.org.slug, total: r.total, limit: q.limit, offset: q.offset, entries: r.entries };
    },
  );

  app.post(
    '/orgs/:org/blocked',
    {
      config: { access: 'block', status: 201 },
      schema: {
        summary: 'Block a number, prefix, contact or unidentified callers',
        tags: ['blocklist'],
        params: orgParam,
        body: blockBody,
      },
    },
    async (req, reply) => {
      const a = principalOf(req);
      return reply.code(201).send(await ops.block(a, req.params.org, req.body));
    },
  );

  app.post(
    '/orgs/:org/blocked/:id/unblock',
    {
      config: { access: 'unblock' },
      schema: {
        summary: 'Unblock an entry (admins), with an optional note',
        tags: ['blocklist'],
        params: orgIdParams,
        body: noteBody,
      },
    },
    async (req) => {
      const a = principalOf(req);
      return ops.unblock(a, req.params.org, req.params.id, req.body.note ?? '');
    },
  );

  app.post(
    '/orgs/:org/allowed',
    {
      config: { access: 'allow', status: 201 },
      schema: {
        summary: 'Allow a number or prefix (never blocked, admins)',
        tags: ['blocklist'],
        params: orgParam,
        body: {
          ...blockBody,
          properties: {
            ...blockBody.properties,
            kind: { enum: ['number', 'prefix', 'pattern'] },
            requireAttestation: {
              type: 'boolean',
              default: false,
              description: 'only when the carrier attested the caller (STIR/SHAKEN A, docs/caller-identity.md)',
            },
          },
        },
      },
    },
    async (req, reply) => {
      const a = principalOf(req);
      return reply.code(201).send(await ops.allow(a, req.params.org, req.body));
    },
  );

  app.get(
    '/orgs/:org/contacts',
    {
      config: { access: 'view' },
      schema: {
        summary: 'List or search contacts',
        tags: ['contacts'],
        params: orgParam,
        querystring: { type: 'object', additionalProperties: false, properties: { search: text(100) } },
      },
    },
    async (req) => {
      const a = principalOf(req);
      return { contacts: await ops.contacts(a, req.params.org, req.query.search ?? '') };
    },
  );

  app.post(
    '/orgs/:org/contacts',
    {
      config: { access: 'contacts', status: 201 },
      schema: {
        summary: 'Add a contact with its numbers',
        tags: ['contacts'],
        params: orgParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'numbers'],
          properties: { name: text(200), numbers: { type: 'array', maxItems: 50, items: text(64) } },
        },
      },
    },
    async (req, reply) => {
      const a = principalOf(req);
      const b = req.body;
      return reply.code(201).send(await ops.addContact(a, req.params.org, b.name, b.numbers));
    },
  );

  app.post(
    '/orgs/:org/contacts/:id/block',
    {
      config: { access: 'block', status: 201 },
      schema: {
        summary: 'Block a contact: all its numbers, including ones added later (seed 001 "Block Contact")',
        tags: ['contacts'],
        params: orgIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            mode: blockBody.properties.mode,
            reason: text(1000),
            expires: blockBody.properties.expires,
            confirm: blockBody.properties.confirm,
          },
        },
      },
    },
    async (req, reply) => {
      const a = principalOf(req);
      const b = req.body;
      const contact = await ops.contact(a, req.params.org, req.params.id);
      return reply
        .code(201)
        .send(await ops.block(a, req.params.org, { ...b, kind: 'contact', contactId: contact.id, name: contact.name }));
    },
  );

  app.post(
    '/orgs/:org/contacts/:id/unblock',
    {
      config: { access: 'unblock' },
      schema: {
        summary:
          'Unblock a contact (admins); its held messages are released or deleted first (seed 002 "Unblock All" / "Delete All")',
        tags: ['contacts'],
        params: orgIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['messages'],
          properties: { messages: { enum: ['release', 'delete'] }, note: text(1000) },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const b = req.body;
      return ops.unblockContact(a, req.params.org, req.params.id, b.messages, b.note ?? '');
    },
  );

  app.get(
    '/orgs/:org/quarantine',
    {
      config: { access: 'quarantine' },
      schema: {
        summary: 'Quarantined messages (held SMS from blocked senders)',
        tags: ['quarantine'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            contact: { type: 'integer', minimum: 1 },
            status: { enum: ['held', 'released', 'all'] },
            ...paging,
          },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const q = req.query;
      return ops.quarantine(a, req.params.org, { ...q, ...(q.contact !== undefined ? { contactId: q.contact } : {}) });
    },
  );

  app.post(
    '/orgs/:org/quarantine/:id/release',
    {
      config: { access: 'quarantine' },
      schema: {
        summary: 'Deliver a held message now (503 when no PBX link can deliver it)',
        tags: ['quarantine'],
        params: orgIdParams,
      },
    },
    async (req) => {
      const a = principalOf(req);
      return ops.releaseMessage(a, req.params.org, req.params.id);
    },
  );

  app.post(
    '/orgs/:org/quarantine/:id/delete',
    {
      config: { access: 'quarantine' },
      schema: { summary: 'Delete a held message for good', tags: ['quarantine'], params: orgIdParams },
    },
    async (req) => {
      const a = principalOf(req);
      await ops.deleteMessage(a, req.params.org, req.params.id);
      return { deleted: req.params.id };
    },
  );

  app.post(
    '/orgs/:org/quarantine/settle',
    {
      config: { access: 'quarantine' },
      schema: {
        summary: 'Release all or delete all held messages of a contact or sender',
        tags: ['quarantine'],
        params: orgParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: {
            action: { enum: ['release', 'delete'] },
            contactId: { type: 'integer', minimum: 1 },
            from: text(64),
          },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const b = req.body;
      const n = await ops.settleMessages(
        a,
        req.params.org,
        { ...(b.contactId !== undefined ? { contactId: b.contactId } : {}), ...(b.from ? { from: b.from } : {}) },
        b.action,
      );
      return { action: b.action, count: n };
    },
  );

  app.get(
    '/orgs/:org/calls',
    {
      config: { access: 'view' },
      schema: {
        summary: 'Recently screened calls and messages with their verdicts',
        tags: ['calls'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            channel: { enum: ['call', 'sms'] },
            verdict: { enum: [...VERDICT_ACTIONS], description: 'only calls that got this verdict' },
            number: { ...text(64), description: 'only calls whose caller or called number contains these digits' },
            ...paging,
          },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const { verdict, ...q } = req.query;
      // Several nodes on one PostgreSQL: scope "site" = every node's calls, each with its node; "node" = PostgreSQL away, this node's.
      return await ops.recentCalls(a, req.params.org, { ...q, ...(verdict ? { action: verdict } : {}) });
    },
  );

  app.get(
    '/orgs/:org/dashboard',
    {
      config: { access: 'dashboard' },
      schema: {
        summary: 'Blocked calls and messages per day, top blocked numbers',
        tags: ['dashboard'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { days: { type: 'integer', minimum: 1, maximum: 366, default: 14 } },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      return ops.dashboard(a, req.params.org, req.query.days);
    },
  );

  app.get(
    '/orgs/:org/audit',
    {
      config: { access: 'audit' },
      schema: {
        summary: 'Audit log with filters (since/until: epoch ms)',
        tags: ['audit'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            actor: text(64),
            action: text(64),
            target: text(100),
            since: { type: 'integer', minimum: 0 },
            until: { type: 'integer', minimum: 0 },
            ...paging,
          },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      return ops.audit(a, req.params.org, req.query);
    },
  );

  const settingsProps = {
    agentsMayBlock: { type: 'boolean', description: 'seed 002: agents may block contacts (default off)' },
    attestationFailed: {
      enum: ['allow', 'voicemail', 'reject'],
      description: 'inbound calls whose STIR/SHAKEN verification failed (default allow: no rule)',
    },
    ownDidUnattested: {
      enum: ['allow', 'voicemail', 'reject'],
      description:
        "a caller presenting one of the org's own numbers without attestation (default voicemail; allow = off)",
    },
    standinsUnidentified: {
      type: 'boolean',
      description:
        'carrier stand-ins for "no caller ID" (screening.anonymous_standins) count as unidentified (default off)',
    },
    defaultMode: { enum: ['voicemail', 'reject'] },
    rejectCode: { enum: [603, 486, 607, 404] },
    outboundPolicy: { enum: ['off', 'warn', 'confirm', 'deny'] },
    supervisorMinPrefixDigits: {
      type: ['integer', 'null'],
      minimum: 1,
      maximum: 15,
      description: 'shortest prefix a supervisor may block, digits after "+"; null = country code + 3',
    },
    region: {
      type: 'string',
      minLength: 2,
      maxLength: 2,
      description:
        'ISO 3166 country whose numbering plan reads national numbers and gives the protected emergency numbers (e.g. US, GB, DE)',
    },
    name: { type: 'string', minLength: 1, maxLength: 200, description: "the organisation's display name" },
  } as const;

  app.get(
    '/orgs/:org/settings',
    {
      config: { access: 'settings' },
      schema: { summary: 'Organisation settings (admins)', tags: ['settings'], params: orgParam },
    },
    async (req) => {
      const a = principalOf(req);
      return ops.settings(a, req.params.org);
    },
  );

  app.patch(
    '/orgs/:org/settings',
    {
      config: { access: 'settings' },
      schema: {
        summary: 'Change organisation settings, region or name (admins)',
        tags: ['settings'],
        params: orgParam,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { ...settingsProps, note: text(1000) },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const { note, ...patch } = req.body;
      return ops.updateOrgSettings(a, req.params.org, patch, note ?? '');
    },
  );

  app.get(
    '/orgs/:org/precheck',
    {
      config: { access: 'view' },
      schema: {
        summary: 'Pre-dial check for softphones: what would happen calling (or texting) this number',
        tags: ['calls'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['number'],
          properties: { number: text(64), channel: { enum: ['call', 'sms'], default: 'call' } },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const q = req.query;
      if (!q.number.trim())
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'querystring field "number" is required', {
          field: 'number',
        });
      return ops.precheck(a, req.params.org, q.number, q.channel);
    },
  );

  // ---- Issue #17: every action from every door. Orgs and DIDs, contact numbers, editing an entry,
  // removing an allow entry, the inbound check.

  /** 1–50 numbers in any format the org's region reads (all or nothing). */
  const numbersList = (description: string) =>
    ({ type: 'array', minItems: 1, maxItems: 50, items: text(64), description }) as const;
  const numbersBody = (description: string) =>
    ({
      type: 'object',
      additionalProperties: false,
      required: ['numbers'],
      properties: { numbers: numbersList(description) },
    }) as const;
  const numbersNoteBody = (description: string) =>
    ({
      type: 'object',
      additionalProperties: false,
      required: ['numbers'],
      properties: {
        numbers: numbersList(description),
        note: { ...text(1000), description: 'why: kept in the audit log' },
      },
    }) as const;

  app.get(
    '/orgs/:org',
    {
      config: { access: 'view' },
      schema: {
        summary: 'One organisation: name, region, settings, inbound numbers (DIDs) and your permissions in it',
        tags: ['orgs'],
        params: orgParam,
      },
    },
    async (req) => ops.orgDetail(principalOf(req), req.params.org),
  );

  app.post(
    '/orgs/:org/dids',
    {
      config: { access: 'settings', status: 201 },
      schema: {
        summary:
          'Add inbound numbers (DIDs) to the organisation (admins); all or nothing, 409 if one belongs to another organisation',
        tags: ['orgs'],
        params: orgParam,
        body: numbersBody('inbound numbers, any format; one that belongs to another organisation is refused'),
      },
    },
    async (req, reply) => {
      const b = req.body;
      return reply.code(201).send(await ops.addDids(principalOf(req), req.params.org, b.numbers));
    },
  );

  app.post(
    '/orgs/:org/dids/remove',
    {
      config: { access: 'settings' },
      schema: {
        summary:
          'Remove inbound numbers (DIDs) from the organisation (admins); all or nothing. Calls to a removed DID no longer find the organisation (screening.fail_mode applies) and it is no longer protected from blocking',
        tags: ['orgs'],
        params: orgParam,
        body: numbersNoteBody('DIDs of this organisation, any format'),
      },
    },
    async (req) => {
      const b = req.body;
      return ops.removeDids(principalOf(req), req.params.org, b.numbers, b.note ?? '');
    },
  );

  app.post(
    '/orgs/:org/contacts/:id/numbers',
    {
      config: { access: 'contacts' },
      schema: {
        summary: "Add numbers to a contact; a blocked contact's new numbers are blocked at once",
        tags: ['contacts'],
        params: orgIdParams,
        body: numbersBody('numbers to add, any format'),
      },
    },
    async (req) => ops.addContactNumbers(principalOf(req), req.params.org, req.params.id, req.body.numbers),
  );

  app.post(
    '/orgs/:org/contacts/:id/numbers/remove',
    {
      config: { access: 'contacts' },
      schema: {
        summary:
          'Remove numbers from a contact; all or nothing. On a blocked contact this unblocks those numbers, so admins only',
        tags: ['contacts'],
        params: orgIdParams,
        body: numbersNoteBody('numbers of this contact, any format'),
      },
    },
    async (req) => {
      const b = req.body;
      return ops.removeContactNumbers(principalOf(req), req.params.org, req.params.id, b.numbers, b.note ?? '');
    },
  );

  const editProps = {
    name: text(200),
    reason: text(1000),
    expires: {
      type: ['string', 'null'],
      maxLength: 40,
      description: '30d, 12h, 90m, 2w or an ISO-8601 date; null or "" = never; left out = unchanged',
    },
    note: { ...text(1000), description: 'why: kept in the audit log' },
  } as const;

  app.get(
    '/orgs/:org/blocked/:id',
    {
      config: { access: 'view' },
      schema: { summary: 'One active block or allow entry', tags: ['blocklist'], params: orgIdParams },
    },
    async (req) => ops.entry(principalOf(req), req.params.org, req.params.id),
  );

  app.patch(
    '/orgs/:org/blocked/:id',
    {
      config: { access: 'block' },
      schema: {
        summary:
          'Edit a block entry in place: mode, name, reason, expiry (fields left out stay). Same scope as blocking; a change that weakens it (reject → voicemail, an expiry added or brought forward) is an unblock: admins only',
        tags: ['blocklist'],
        params: orgIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { mode: blockBody.properties.mode, ...editProps },
        },
      },
    },
    async (req) => {
      const { note, ...changes } = req.body;
      return ops.editEntry(principalOf(req), req.params.org, req.params.id, 'block', changes, note ?? '');
    },
  );

  app.patch(
    '/orgs/:org/allowed/:id',
    {
      config: { access: 'allow' },
      schema: {
        summary: 'Edit an allow entry in place: name, reason, expiry (admins)',
        tags: ['blocklist'],
        params: orgIdParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: editProps },
      },
    },
    async (req) => {
      const { note, ...changes } = req.body;
      return ops.editEntry(principalOf(req), req.params.org, req.params.id, 'allow', changes, note ?? '');
    },
  );

  app.post(
    '/orgs/:org/allowed/:id/disallow',
    {
      config: { access: 'allow' },
      schema: {
        summary: 'Remove an allow entry (admins), with an optional note; blocks under it apply again',
        tags: ['blocklist'],
        params: orgIdParams,
        body: noteBody,
      },
    },
    async (req) => ops.disallow(principalOf(req), req.params.org, req.params.id, req.body.note ?? ''),
  );

  app.get(
    '/orgs/:org/check',
    {
      config: { access: 'view' },
      schema: {
        summary:
          "Inbound check: what a call (or SMS) from this caller would get now, from the daemon's own screening (the hit is not counted)",
        tags: ['calls'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['number'],
          properties: {
            number: {
              ...text(64),
              description:
                'the caller as a PBX would give it; empty, "anonymous", "restricted"… = an unidentified caller',
            },
            channel: { enum: ['call', 'sms'], default: 'call' },
            withheld: {
              type: 'boolean',
              default: false,
              description: "the network withheld the caller's identity (Privacy: id)",
            },
            verstat: {
              type: 'string',
              enum: [
                'TN-Validation-Passed',
                'TN-Validation-Passed-A',
                'TN-Validation-Passed-B',
                'TN-Validation-Passed-C',
                'TN-Validation-Failed',
                'TN-Validation-Failed-A',
                'TN-Validation-Failed-B',
                'TN-Validation-Failed-C',
                'No-TN-Validation',
              ],
              description: 'the STIR/SHAKEN result the carrier sent (docs/caller-identity.md); absent = none sent',
            },
          },
        },
        response: {
          200: {
            description: 'The verdict',
            type: 'object',
            additionalProperties: false,
            properties: {
              action: { enum: INBOUND_ACTIONS },
              reason: { type: 'string' },
              normalized: { type: 'string' },
              attestation: {
                type: 'string',
                description: 'the attestation the check assumed (passed-A, failed…), when verstat was given',
              },
              rule: {
                type: ['object', 'null'],
                additionalProperties: false,
                description: 'the rule that decided; null when nothing matched',
                properties: {
                  id: {
                    type: ['integer', 'string'],
                    description: 'entry id; for a protected number the protection (emergency or did)',
                  },
                  kind: { enum: RULE_KINDS },
                  value: {
                    type: 'string',
                    description: 'the number, prefix or contact id matched; empty for unidentified',
                  },
                  name: { type: 'string' },
                  reason: { type: 'string' },
                  mode: { enum: BLOCK_MODES },
                },
              },
              sipCode: { type: ['integer', 'null'], description: 'SIP status a rejected call gets' },
            },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      return ops.checkInbound(principalOf(req), req.params.org, q.number, q.channel, q.withheld, q.verstat);
    },
  );

  registerDoorApiRoutes(app, deps);
}
