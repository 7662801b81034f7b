/**
 * The stale report of the JSON API (issue #16): GET the expired, unused and shadowed entries of an
 * org; POST a clean-up (admins), with `dryRun` to see what would go. Each removal is audited as an
 * unblock or disallow, plus one `stale.cleanup` record.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_STALE_DAYS,
  DEFAULT_STALE_LIMIT,
  MAX_STALE_DAYS,
  MAX_STALE_LIMIT,
  STALE_CATEGORIES,
  type StaleCategory,
} from '../services/stale-report.js';
import type { AdminOperations } from './admin-operations.js';
import { principalOf } from './access-hook.js';

export interface StaleRouteDeps {
  readonly ops: AdminOperations;
}

const orgParam = { type: 'object', required: ['org'], properties: { org: { type: 'string', maxLength: 63 } } } as const;
const days = {
  type: 'integer',
  minimum: 1,
  maximum: MAX_STALE_DAYS,
  description: `no hit in this many days = unused (default ${DEFAULT_STALE_DAYS})`,
} as const;
const counts = {
  type: 'object',
  properties: { expired: { type: 'integer' }, unused: { type: 'integer' }, shadowed: { type: 'integer' } },
} as const;

export function registerStaleRoutes(instance: FastifyInstance, deps: StaleRouteDeps): void {
  // Params, query and bodies typed from their schemas (no casts), as api-routes.ts.
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();
  app.get(
    '/orgs/:org/stale',
    {
      config: { access: 'view' },
      schema: {
        summary: 'Entries that do nothing: expired, no hit in N days, shadowed by another entry (with why)',
        tags: ['blocklist'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            days,
            limit: { type: 'integer', minimum: 1, maximum: MAX_STALE_LIMIT, default: DEFAULT_STALE_LIMIT },
            only: {
              type: 'string',
              maxLength: 40,
              description: `comma-separated: ${STALE_CATEGORIES.join(', ')} (default all)`,
            },
          },
        },
        response: {
          200: {
            description: 'Counts cover every stale entry; entries lists at most `limit`',
            type: 'object',
            additionalProperties: true,
            properties: {
              org: { type: 'string' },
              days: { type: 'integer' },
              counts,
              total: { type: 'integer' },
              entries: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const q = req.query;
      const r = await deps.ops.staleReport(a, req.params.org, {
        limit: q.limit,
        ...(q.days !== undefined ? { days: q.days } : {}),
        ...(q.only !== undefined ? { categories: splitOnly(q.only) } : {}),
      });
      return { ...r, entries: r.entries.map((e) => ({ ...e })) };
    },
  );

  app.post(
    '/orgs/:org/stale/clean',
    {
      config: { access: 'unblock' },
      schema: {
        summary: 'Remove the stale entries (admins); dryRun: say what would go',
        tags: ['blocklist'],
        params: orgParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            days,
            dryRun: { type: 'boolean' },
            reason: { type: 'string', maxLength: 1000 },
            categories: {
              type: 'array',
              items: { enum: [...STALE_CATEGORIES] },
              minItems: 1,
              maxItems: 3,
              description: 'default all',
            },
          },
        },
        response: {
          200: {
            description: 'What was removed (or would be)',
            type: 'object',
            properties: {
              org: { type: 'string' },
              dryRun: { type: 'boolean' },
              removed: counts,
              ids: { type: 'array', items: { type: 'integer' } },
            },
          },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const b = req.body; // fastify refuses a POST with no body here (400 "body must be object")
      const r = await deps.ops.staleCleanUp(
        a,
        req.params.org,
        {
          ...(b.days !== undefined ? { days: b.days } : {}),
          ...(b.categories ? { categories: b.categories } : {}),
          dryRun: b.dryRun === true,
        },
        b.reason ?? '',
      );
      return { ...r, ids: [...r.ids] };
    },
  );
}

/** `expired,shadowed` → the categories (an unknown one is refused by the service, naming it). */
function splitOnly(text: string): StaleCategory[] {
  return text
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean) as StaleCategory[];
}
