/**
 * API routes of issue #16's flood detection and handset blocking, under /api/v1 beside
 * api-routes.ts (same access hook, same schemas-to-OpenAPI, same JSON-only bodies):
 * - GET  /orgs/:org/flood                         the org's flood settings (view)
 * - PATCH /orgs/:org/flood                        change some (admins: settings), or reset them
 * - GET  /orgs/:org/block-requests                handset block requests (admins, supervisors: audit)
 * - POST /orgs/:org/block-requests/:id/approve    block the number as the admin (unblock: admins)
 * - POST /orgs/:org/block-requests/:id/decline    leave it unblocked, with an optional note (admins)
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { FLOOD_LIMITS } from '../core/flood-policy.js';
import type { FloodPolicyService, OrgFloodPolicy } from '../services/flood-policy-service.js';
import type { BlockRequest, HandsetBlockService } from '../services/handset-block-service.js';
import { principalOf } from './access-hook.js';

export interface FloodApiDeps {
  readonly flood: FloodPolicyService;
  readonly handset: HandsetBlockService;
}

const orgParam = { type: 'object', required: ['org'], properties: { org: { type: 'string', maxLength: 63 } } } as const;
const orgIdParams = {
  type: 'object',
  required: ['org', 'id'],
  properties: { org: { type: 'string', maxLength: 63 }, id: { type: 'integer', minimum: 1 } },
} as const;
const range = (k: keyof typeof FLOOD_LIMITS) =>
  ({ type: 'integer', minimum: FLOOD_LIMITS[k][0], maximum: FLOOD_LIMITS[k][1] }) as const;
const floodBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    neighbour: { type: 'boolean' },
    mode: { enum: ['voicemail', 'reject'] },
    maxCalls: range('maxCalls'),
    windowMinutes: range('windowMinutes'),
    prefixDigits: range('prefixDigits'),
    prefixMaxCalls: range('prefixMaxCalls'),
    didSweep: range('didSweep'),
    holdMinutes: range('holdMinutes'),
    neighbourMaxCalls: range('neighbourMaxCalls'),
    reset: { type: 'boolean', description: 'put every setting back to its default first' },
  },
} as const;

const view = (p: OrgFloodPolicy) => ({ org: p.org.slug, settings: p.effective, changed: Object.keys(p.changes) });
const requests = (list: BlockRequest[]) => ({ requests: list });

export function registerFloodApiRoutes(instance: FastifyInstance, deps: FloodApiDeps): void {
  // Params, query and bodies typed from their schemas (no casts), as api-routes.ts.
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();

  app.get(
    '/orgs/:org/flood',
    {
      config: { access: 'view' },
      schema: {
        summary: 'Flood and robocall detection settings (defaults with the org’s changes)',
        tags: ['flood'],
        params: orgParam,
      },
    },
    async (req) => view(await deps.flood.get(req.params.org)),
  );

  app.patch(
    '/orgs/:org/flood',
    {
      config: { access: 'settings' },
      schema: {
        summary: 'Change flood detection settings (admins); reset puts the defaults back first',
        tags: ['flood'],
        params: orgParam,
        body: floodBody,
      },
    },
    async (req) => {
      const { reset, ...changes } = req.body;
      return view(await deps.flood.set(req.params.org, changes, principalOf(req).actor, reset === true));
    },
  );

  app.get(
    '/orgs/:org/block-requests',
    {
      config: { access: 'audit' },
      schema: {
        summary: 'Block requests from handsets (feature codes) by users who may not block',
        tags: ['flood'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { enum: ['pending', 'approved', 'declined', 'all'], default: 'pending' } },
        },
      },
    },
    async (req) => requests(await deps.handset.list(req.params.org, req.query.status)),
  );

  app.post(
    '/orgs/:org/block-requests/:id/approve',
    {
      config: { access: 'unblock' },
      schema: {
        summary: 'Approve a block request: the number is blocked as you (admins)',
        tags: ['flood'],
        params: orgIdParams,
      },
    },
    async (req) => deps.handset.approve(req.params.org, req.params.id, principalOf(req).actor),
  );

  app.post(
    '/orgs/:org/block-requests/:id/decline',
    {
      config: { access: 'unblock' },
      schema: {
        summary: 'Decline a block request (admins)',
        tags: ['flood'],
        params: orgIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { note: { type: 'string', maxLength: 1000 } },
        },
      },
    },
    async (req) => deps.handset.decline(req.params.org, req.params.id, principalOf(req).actor, req.body.note ?? ''),
  );
}
