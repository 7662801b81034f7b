/**
 * The what-if route of the JSON API (issue #16): the figures of a block or allow entry replayed over
 * the org's recorded calls, nothing saved. The same replay guards POST …/blocked and …/allowed:
 * a broad entry there answers 409 CS_ERR_CONFIRM_REQUIRED with the report in `details.whatIf`
 * unless the body says `"confirm": true`.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_WHAT_IF_DAYS, MAX_WHAT_IF_DAYS } from '../services/what-if.js';
import type { AdminOperations } from './admin-operations.js';
import { principalOf } from './access-hook.js';

export interface WhatIfRouteDeps {
  readonly ops: AdminOperations;
}

const text = (max: number) => ({ type: 'string', maxLength: max }) as const;

/** The figures of a report, as documented in the OpenAPI document (what-if.ts WhatIfReport). */
const reportSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    org: { type: 'string' },
    days: { type: 'integer' },
    since: { type: 'integer' },
    until: { type: 'integer' },
    rule: { type: 'object', additionalProperties: true },
    replayed: { type: 'object', properties: { calls: { type: 'integer' } } },
    matched: { type: 'object', properties: { calls: { type: 'integer' }, numbers: { type: 'integer' } } },
    changed: {
      type: 'object',
      properties: {
        calls: { type: 'integer' },
        inboundCalls: { type: 'integer' },
        inboundSms: { type: 'integer' },
        outbound: { type: 'integer' },
        numbers: { type: 'integer' },
        calledBack: { type: 'integer' },
        contacts: { type: 'integer' },
      },
    },
    transitions: { type: 'object', additionalProperties: { type: 'integer' } },
    examples: { type: 'array', items: { type: 'object', additionalProperties: true } },
    broad: { type: 'boolean' },
    broadBecause: { type: 'array', items: { type: 'string' } },
    elapsedMs: { type: 'integer' },
  },
} as const;

export function registerWhatIfRoutes(instance: FastifyInstance, deps: WhatIfRouteDeps): void {
  // Params and body typed from their schemas (no casts), as api-routes.ts.
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();
  app.post(
    '/orgs/:org/what-if',
    {
      // Route-level "view"; the operation then asks for what saving would need (block and its scope, or allow).
      config: { access: 'view' },
      schema: {
        summary: `What a block or allow entry would have done to the org's recorded calls of the last N days (default ${DEFAULT_WHAT_IF_DAYS}); saves nothing`,
        tags: ['blocklist'],
        params: { type: 'object', required: ['org'], properties: { org: { type: 'string', maxLength: 63 } } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind'],
          properties: {
            list: { enum: ['block', 'allow'], description: 'default block' },
            kind: { enum: ['number', 'prefix', 'pattern', 'contact', 'unidentified'] },
            number: text(64),
            prefix: text(32),
            pattern: { ...text(64), description: 'wildcards or a range (kind pattern, docs/rules.md)' },
            contactId: { type: 'integer', minimum: 1 },
            mode: { enum: ['voicemail', 'reject'] },
            name: text(200),
            reason: text(1000),
            expires: { type: ['string', 'null'], maxLength: 40 },
            observe: { type: 'boolean', description: 'an observe-first block: matched and counted, nothing changed' },
            dids: {
              type: 'array',
              maxItems: 100,
              items: text(64),
              description: "only calls to these of the org's DIDs (each record's called number is read)",
            },
            requireAttestation: {
              type: 'boolean',
              description:
                'allow only attested callers (records keep no attestation the replay can use: see docs/cli.md)',
            },
            days: {
              type: 'integer',
              minimum: 1,
              maximum: MAX_WHAT_IF_DAYS,
              description: `days replayed, default ${DEFAULT_WHAT_IF_DAYS}`,
            },
          },
        },
        response: { 200: { ...reportSchema, description: 'The figures; broad = saving it needs "confirm": true' } },
      },
    },
    async (req) => {
      const report = await deps.ops.whatIf(principalOf(req), req.params.org, req.body);
      return {
        ...report,
        broadBecause: [...report.broadBecause],
        examples: report.examples.map((e) => ({ ...e })),
        rule: { ...report.rule },
      };
    },
  );
}
