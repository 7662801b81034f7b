/**
 * The JSON API under /api/v1. Every panel action is one of these calls. Bodies and queries are
 * validated by JSON Schema (unknown fields refused, the field named in the 400); only
 * application/json bodies are accepted (415 otherwise). The schemas also feed the OpenAPI
 * document at /api/v1/openapi.json.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import type { AdminOperations, AuditFilter, BlockInput, SettingsInput } from './admin-operations.js';
import { permissionsFor } from './access-policy.js';
import type { RequestAuth } from './request-auth.js';
import type { SignInService } from './sign-in-service.js';
import type { UserService } from './user-service.js';

export interface ApiDeps {
  readonly ops: AdminOperations;
  readonly auth: RequestAuth;
  readonly signIn: SignInService;
  readonly users: UserService;
}

const orgParam = { type: 'object', required: ['org'], properties: { org: { type: 'string', maxLength: 63 } } } as const;
const orgIdParams = {
  type: 'object', required: ['org', 'id'],
  properties: { org: { type: 'string', maxLength: 63 }, id: { type: 'integer', minimum: 1 } },
} as const;
const paging = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } } as const;
const text = (max: number) => ({ type: 'string', maxLength: max }) as const;
const blockBody = {
  type: 'object', additionalProperties: false, required: ['kind'],
  properties: {
    kind: { enum: ['number', 'prefix', 'contact', 'unidentified'], description: 'what to block' },
    number: text(64), prefix: text(32), contactId: { type: 'integer', minimum: 1 },
    mode: { enum: ['voicemail', 'reject'], description: 'voicemail = "Block and allow voicemails"; reject = "Block all communications"' },
    name: text(200), reason: text(1000),
    expires: { type: ['string', 'null'], maxLength: 40, description: '30d, 12h, 90m, 2w or an ISO-8601 date; null = never' },
  },
} as const;
const noteBody = { type: 'object', additionalProperties: false, properties: { note: text(1000) } } as const;

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { ops, auth, signIn } = deps;
  const who = (req: FastifyRequest) => auth.require(req);
  const p = (req: FastifyRequest) => req.params as { org: string; id?: number };

  // Only JSON bodies: a form post or text/plain cannot reach the API (and CORS-free simple
  // requests from other sites are refused before anything runs).
  app.addHook('preValidation', async (req) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.body === undefined) return;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      throw Object.assign(new Error(`the API takes application/json bodies, not "${type || 'none'}"`), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
    }
  });

  app.post('/session', {
    schema: {
      summary: 'Sign in (sets the session cookie; returns the CSRF token for later changes)', tags: ['session'],
      body: { type: 'object', additionalProperties: false, required: ['name', 'password'], properties: { name: text(64), password: text(1024) } },
    },
  }, async (req, reply) => {
    const body = req.body as { name: string; password: string };
    const user = await signIn.check(body.name, body.password, req.ip);
    const csrf = await auth.startSession(req, reply, user);
    return { user: { name: user.name, role: user.role, orgs: user.orgs }, csrf };
  });

  app.delete('/session', { schema: { summary: 'Sign out', tags: ['session'] } }, async (req, reply) => {
    await auth.require(req);
    await auth.endSession(req, reply);
    return { signedOut: true };
  });

  app.get('/me', { schema: { summary: 'The signed-in user and their organisations', tags: ['session'] } }, async (req) => {
    const a = await who(req);
    const orgs = await ops.orgs(a);
    return { user: { name: a.user.name, role: a.user.role }, via: a.via, csrf: a.csrf ?? null, orgs: orgs.map((o) => ({ slug: o.slug, name: o.name, permissions: permissionsFor(a.user, o) })) };
  });

  app.post('/me/tokens', {
    schema: { summary: 'Create an API token for yourself (shown once)', tags: ['session'], body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: text(100) } } },
  }, async (req, reply) => {
    const a = await who(req);
    const t = await deps.users.createToken(a.user.name, (req.body as { name: string }).name, a.actor);
    return reply.code(201).send(t);
  });

  app.get('/orgs', { schema: { summary: 'Organisations the user works in', tags: ['orgs'] } }, async (req) => {
    const a = await who(req);
    return { orgs: (await ops.orgs(a)).map((o) => ({ slug: o.slug, name: o.name, settings: o.policy, permissions: permissionsFor(a.user, o) })) };
  });

  app.get('/orgs/:org/blocked', {
    schema: {
      summary: 'List or search blocked (or allowed) entries; search matches partial digits in any format, or the name', tags: ['blocklist'],
      params: orgParam,
      querystring: { type: 'object', additionalProperties: false, properties: { search: text(100), list: { enum: ['block', 'allow'] }, ...paging } },
    },
  }, async (req) => {
    const a = await who(req);
    const q = req.query as { search?: string; list?: 'block' | 'allow'; limit: number; offset: number };
    const r = await ops.listEntries(a, p(req).org, q);
    return { org: r.org.slug, total: r.total, limit: q.limit, offset: q.offset, entries: r.entries };
  });

  app.post('/orgs/:org/blocked', { schema: { summary: 'Block a number, prefix, contact or unidentified callers', tags: ['blocklist'], params: orgParam, body: blockBody } }, async (req, reply) => {
    const a = await who(req);
    return reply.code(201).send(await ops.block(a, p(req).org, req.body as BlockInput));
  });

  app.post('/orgs/:org/blocked/:id/unblock', { schema: { summary: 'Unblock an entry (admins), with an optional note', tags: ['blocklist'], params: orgIdParams, body: noteBody } }, async (req) => {
    const a = await who(req);
    return ops.unblock(a, p(req).org, num(p(req).id), (req.body as { note?: string } | undefined)?.note ?? '');
  });

  app.post('/orgs/:org/allowed', {
    schema: {
      summary: 'Allow a number or prefix (never blocked, admins)', tags: ['blocklist'], params: orgParam,
      body: { ...blockBody, properties: { ...blockBody.properties, kind: { enum: ['number', 'prefix'] } } },
    },
  }, async (req, reply) => {
    const a = await who(req);
    return reply.code(201).send(await ops.allow(a, p(req).org, req.body as BlockInput));
  });

  app.get('/orgs/:org/contacts', {
    schema: { summary: 'List or search contacts', tags: ['contacts'], params: orgParam, querystring: { type: 'object', additionalProperties: false, properties: { search: text(100) } } },
  }, async (req) => {
    const a = await who(req);
    return { contacts: await ops.contacts(a, p(req).org, (req.query as { search?: string }).search ?? '') };
  });

  app.post('/orgs/:org/contacts', {
    schema: {
      summary: 'Add a contact with its numbers', tags: ['contacts'], params: orgParam,
      body: { type: 'object', additionalProperties: false, required: ['name', 'numbers'], properties: { name: text(200), numbers: { type: 'array', maxItems: 50, items: text(64) } } },
    },
  }, async (req, reply) => {
    const a = await who(req);
    const b = req.body as { name: string; numbers: string[] };
    return reply.code(201).send(await ops.addContact(a, p(req).org, b.name, b.numbers));
  });

  app.post('/orgs/:org/contacts/:id/block', {
    schema: {
      summary: 'Block a contact: all its numbers, including ones added later (seed 001 "Block Contact")', tags: ['contacts'], params: orgIdParams,
      body: { type: 'object', additionalProperties: false, properties: { mode: blockBody.properties.mode, reason: text(1000), expires: blockBody.properties.expires } },
    },
  }, async (req, reply) => {
    const a = await who(req);
    const b = req.body as Omit<BlockInput, 'kind'>;
    const contact = await ops.contact(a, p(req).org, num(p(req).id));
    return reply.code(201).send(await ops.block(a, p(req).org, { ...b, kind: 'contact', contactId: contact.id, name: contact.name }));
  });

  app.post('/orgs/:org/contacts/:id/unblock', {
    schema: {
      summary: 'Unblock a contact (admins); its held messages are released or deleted first (seed 002 "Unblock All" / "Delete All")', tags: ['contacts'],
      params: orgIdParams,
      body: { type: 'object', additionalProperties: false, required: ['messages'], properties: { messages: { enum: ['release', 'delete'] }, note: text(1000) } },
    },
  }, async (req) => {
    const a = await who(req);
    const b = req.body as { messages: 'release' | 'delete'; note?: string };
    return ops.unblockContact(a, p(req).org, num(p(req).id), b.messages, b.note ?? '');
  });

  app.get('/orgs/:org/quarantine', {
    schema: {
      summary: 'Quarantined messages (held SMS from blocked senders)', tags: ['quarantine'], params: orgParam,
      querystring: { type: 'object', additionalProperties: false, properties: { contact: { type: 'integer', minimum: 1 }, status: { enum: ['held', 'released', 'all'] }, ...paging } },
    },
  }, async (req) => {
    const a = await who(req);
    const q = req.query as { contact?: number; status?: 'held' | 'released' | 'all'; limit: number; offset: number };
    return ops.quarantine(a, p(req).org, { ...q, ...(q.contact !== undefined ? { contactId: q.contact } : {}) });
  });

  app.post('/orgs/:org/quarantine/:id/release', { schema: { summary: 'Deliver a held message now (503 when no PBX link can deliver it)', tags: ['quarantine'], params: orgIdParams } }, async (req) => {
    const a = await who(req);
    return ops.releaseMessage(a, p(req).org, num(p(req).id));
  });

  app.post('/orgs/:org/quarantine/:id/delete', { schema: { summary: 'Delete a held message for good', tags: ['quarantine'], params: orgIdParams } }, async (req) => {
    const a = await who(req);
    await ops.deleteMessage(a, p(req).org, num(p(req).id));
    return { deleted: num(p(req).id) };
  });

  app.post('/orgs/:org/quarantine/settle', {
    schema: {
      summary: 'Release all or delete all held messages of a contact or sender', tags: ['quarantine'], params: orgParam,
      body: { type: 'object', additionalProperties: false, required: ['action'], properties: { action: { enum: ['release', 'delete'] }, contactId: { type: 'integer', minimum: 1 }, from: text(64) } },
    },
  }, async (req) => {
    const a = await who(req);
    const b = req.body as { action: 'release' | 'delete'; contactId?: number; from?: string };
    const n = await ops.settleMessages(a, p(req).org, { ...(b.contactId !== undefined ? { contactId: b.contactId } : {}), ...(b.from ? { from: b.from } : {}) }, b.action);
    return { action: b.action, count: n };
  });

  app.get('/orgs/:org/calls', {
    schema: {
      summary: 'Recently screened calls and messages with their verdicts', tags: ['calls'], params: orgParam,
      querystring: { type: 'object', additionalProperties: false, properties: { channel: { enum: ['call', 'sms'] }, ...paging } },
    },
  }, async (req) => {
    const a = await who(req);
    const q = req.query as { channel?: 'call' | 'sms'; limit: number; offset: number };
    return { calls: await ops.recentCalls(a, p(req).org, q) };
  });

  app.get('/orgs/:org/dashboard', {
    schema: {
      summary: 'Blocked calls and messages per day, top blocked numbers', tags: ['dashboard'], params: orgParam,
      querystring: { type: 'object', additionalProperties: false, properties: { days: { type: 'integer', minimum: 1, maximum: 366, default: 14 } } },
    },
  }, async (req) => {
    const a = await who(req);
    return ops.dashboard(a, p(req).org, (req.query as { days: number }).days);
  });

  app.get('/orgs/:org/audit', {
    schema: {
      summary: 'Audit log with filters (since/until: epoch ms)', tags: ['audit'], params: orgParam,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { actor: text(64), action: text(64), target: text(100), since: { type: 'integer', minimum: 0 }, until: { type: 'integer', minimum: 0 }, ...paging },
      },
    },
  }, async (req) => {
    const a = await who(req);
    return ops.audit(a, p(req).org, req.query as AuditFilter);
  });

  const settingsProps = {
    agentsMayBlock: { type: 'boolean', description: 'seed 002: agents may block contacts (default off)' },
    defaultMode: { enum: ['voicemail', 'reject'] },
    rejectCode: { enum: [603, 486, 607, 404] },
    outboundPolicy: { enum: ['off', 'warn', 'confirm', 'deny'] },
  } as const;

  app.get('/orgs/:org/settings', { schema: { summary: 'Organisation settings (admins)', tags: ['settings'], params: orgParam } }, async (req) => {
    const a = await who(req);
    return ops.settings(a, p(req).org);
  });

  app.patch('/orgs/:org/settings', {
    schema: {
      summary: 'Change organisation settings (admins)', tags: ['settings'], params: orgParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { ...settingsProps, note: text(1000) } },
    },
  }, async (req) => {
    const a = await who(req);
    const { note, ...patch } = req.body as SettingsInput & { note?: string };
    return ops.updateSettings(a, p(req).org, patch, note ?? '');
  });

  app.get('/orgs/:org/precheck', {
    schema: {
      summary: 'Pre-dial check for softphones: what would happen calling (or texting) this number', tags: ['calls'], params: orgParam,
      querystring: { type: 'object', additionalProperties: false, required: ['number'], properties: { number: text(64), channel: { enum: ['call', 'sms'], default: 'call' } } },
    },
  }, async (req) => {
    const a = await who(req);
    const q = req.query as { number: string; channel: 'call' | 'sms' };
    if (!q.number.trim()) throw new CallscreenError('CS_ERR_INVALID_VALUE', 'querystring field "number" is required', { field: 'number' });
    return ops.precheck(a, p(req).org, q.number, q.channel);
  });
}
