/**
 * API routes of issue #16's rules, under /api/v1 beside api-routes.ts (same access hook, JSON
 * bodies only, schemas in the OpenAPI document): act on one entry (disable, enable, observe,
 * promote) and read its observe report; allowlist-only DIDs; the org's pattern minimum. Blocking
 * with a pattern, in observe mode or for some DIDs is the ordinary POST …/blocked and …/allowed.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { principalOf } from './access-hook.js';
import type { EntryAction, RuleOperations } from './rule-operations.js';

export interface RuleApiDeps {
  readonly rules: RuleOperations;
}

const orgParam = { type: 'object', required: ['org'], properties: { org: { type: 'string', maxLength: 63 } } } as const;
const orgIdParams = {
  type: 'object',
  required: ['org', 'id'],
  properties: { org: { type: 'string', maxLength: 63 }, id: { type: 'integer', minimum: 1 } },
} as const;
const noteBody = {
  type: 'object',
  additionalProperties: false,
  properties: { note: { type: 'string', maxLength: 1000 } },
} as const;

const ACTIONS: ReadonlyArray<{ action: EntryAction; access: 'block' | 'unblock'; summary: string }> = [
  {
    action: 'disable',
    access: 'unblock',
    summary: 'Disable an entry: kept and listed, never matches (admins; audited)',
  },
  { action: 'enable', access: 'block', summary: 'Enable a disabled entry again (audited)' },
  {
    action: 'observe',
    access: 'unblock',
    summary: 'Put a block in observe mode: recorded as "would have blocked", calls let through (admins)',
  },
  {
    action: 'promote',
    access: 'block',
    summary: 'Promote a block out of observe mode: it blocks from now on (audited with what it saw)',
  },
];

export function registerRuleApiRoutes(instance: FastifyInstance, deps: RuleApiDeps): void {
  const { rules } = deps;
  // Params, query and bodies typed from their schemas (no casts), as api-routes.ts.
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();

  for (const { action, access, summary } of ACTIONS) {
    // The route's access is the least an action needs; the operation checks the rest (allow
    // entries need `allow`, scope like blocking).
    app.post(
      `/orgs/:org/entries/:id/${action}`,
      { config: { access }, schema: { summary, tags: ['rules'], params: orgIdParams, body: noteBody } },
      async (req) => rules.act(principalOf(req), req.params.org, req.params.id, action, req.body.note ?? ''),
    );
  }

  app.get(
    '/orgs/:org/entries/:id/report',
    {
      config: { access: 'view' },
      schema: {
        summary: 'What an entry in observe mode matched and let through: hits, distinct numbers, the latest',
        tags: ['rules'],
        params: orgIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 20 } },
        },
      },
    },
    async (req) => rules.report(principalOf(req), req.params.org, req.params.id, req.query.limit),
  );

  app.get(
    '/orgs/:org/dids/rules',
    {
      config: { access: 'settings' },
      schema: {
        summary: "The org's DIDs and whether each is allowlist-only (admins)",
        tags: ['rules'],
        params: orgParam,
      },
    },
    async (req) => ({ dids: await rules.dids(principalOf(req), req.params.org) }),
  );

  app.put(
    '/orgs/:org/dids/:did/allowlist-only',
    {
      config: { access: 'settings' },
      schema: {
        summary:
          'Make a DID allowlist-only (only allow-listed callers and contacts ring; others get `others`), or usual again with others: null (admins)',
        tags: ['rules'],
        params: {
          type: 'object',
          required: ['org', 'did'],
          properties: { org: { type: 'string', maxLength: 63 }, did: { type: 'string', maxLength: 64 } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['others'],
          properties: { others: { enum: ['voicemail', 'reject', null] }, note: { type: 'string', maxLength: 1000 } },
        },
      },
    },
    async (req) => {
      const b = req.body;
      return rules.setAllowlistOnly(principalOf(req), req.params.org, req.params.did, b.others, b.note ?? '');
    },
  );

  app.get(
    '/orgs/:org/pattern-minimum',
    {
      config: { access: 'view' },
      schema: {
        summary: 'Fewest fixed digits (after "+") a pattern may have in this org',
        tags: ['rules'],
        params: orgParam,
      },
    },
    async (req) => rules.patternMinimum(principalOf(req), req.params.org),
  );

  app.put(
    '/orgs/:org/pattern-minimum',
    {
      config: { access: 'settings' },
      schema: {
        summary: 'Set the pattern minimum (1–15 digits; null = the default, 6) (admins)',
        tags: ['rules'],
        params: orgParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['minPatternDigits'],
          properties: {
            minPatternDigits: { type: ['integer', 'null'], minimum: 1, maximum: 15 },
            note: { type: 'string', maxLength: 1000 },
          },
        },
      },
    },
    async (req) => {
      const b = req.body;
      return rules.setPatternMinimum(principalOf(req), req.params.org, b.minPatternDigits, b.note ?? '');
    },
  );
}
