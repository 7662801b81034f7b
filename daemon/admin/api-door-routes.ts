/**
 * API routes issue #17 added so every action has every door: bulk unblock, an organisation's users,
 * import (with dry run) and export. Registered by api-routes.ts on the same plugin, so the access
 * hook, the JSON-only rule and the OpenAPI document cover them as they cover the rest.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { CSV_DELIMITERS } from '../core/csv.js';
import { CallscreenError } from '../core/errors.js';
import { principalOf } from './access-hook.js';
import type { BulkOperations } from './bulk-operations.js';
import type { TransferOperations } from './transfer-operations.js';
import type { UserAdminOperations } from './user-admin-operations.js';

export interface DoorApiDeps {
  readonly bulk: BulkOperations;
  readonly transfer: TransferOperations;
  readonly userAdmin: UserAdminOperations;
}

/** Largest import accepted through the API (bytes, 16 MiB, ~300,000 rows); the CLI takes 512 MiB files. */
export const API_IMPORT_BYTES = 16 * 1024 * 1024;

const orgParam = { type: 'object', required: ['org'], properties: { org: { type: 'string', maxLength: 63 } } } as const;
const userParams = {
  type: 'object',
  required: ['org', 'name'],
  properties: { org: { type: 'string', maxLength: 63 }, name: { type: 'string', maxLength: 64 } },
} as const;
const note = { type: 'string', maxLength: 1000, description: 'why: kept in the audit log' } as const;

export function registerDoorApiRoutes(instance: FastifyInstance, deps: DoorApiDeps): void {
  // Params, query and bodies typed from their schemas (no casts), as api-routes.ts.
  const app = instance.withTypeProvider<JsonSchemaToTsProvider>();

  app.post(
    '/orgs/:org/blocked/unblock-many',
    {
      config: { access: 'unblock' },
      schema: {
        summary:
          'Unblock many entries at once (admins), all or nothing: by id, or every entry matching a search (all: true; no 1,000 cap)',
        tags: ['blocklist'],
        params: orgParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ids: { type: 'array', maxItems: 100_000, items: { type: 'integer', minimum: 1 }, description: 'entry ids' },
            all: {
              type: 'boolean',
              description: 'every active block entry matching search (the whole list when search is empty)',
            },
            search: { type: 'string', maxLength: 100 },
            note,
          },
        },
      },
    },
    async (req) => {
      const b = req.body;
      const r = await deps.bulk.unblockMany(
        principalOf(req),
        req.params.org,
        {
          ...(b.ids ? { ids: b.ids } : {}),
          ...(b.all !== undefined ? { all: b.all } : {}),
          ...(b.search !== undefined ? { search: b.search } : {}),
        },
        b.note ?? '',
      );
      return { unblocked: r.unblocked, ids: r.entries.map((e) => e.id) };
    },
  );

  app.get(
    '/orgs/:org/users',
    {
      config: { access: 'users' },
      schema: {
        summary:
          'Users who work in the organisation (admins); manageable = every organisation of theirs is one of yours',
        tags: ['users'],
        params: orgParam,
      },
    },
    async (req) => ({
      users: (await deps.userAdmin.list(principalOf(req), req.params.org)).map((u) => ({
        name: u.name,
        role: u.orgRole,
        roles: u.roles,
        orgs: u.orgs,
        disabled: u.disabled,
        manageable: u.manageable,
      })),
    }),
  );

  app.post(
    '/orgs/:org/users',
    {
      config: { access: 'users', status: 201 },
      schema: {
        summary: 'Add a user to this organisation (admins); without a password one is generated and returned once',
        tags: ['users'],
        params: orgParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'role'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            role: { enum: ['admin', 'supervisor', 'agent'] },
            password: { type: 'string', minLength: 10, maxLength: 1024 },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const r = await deps.userAdmin.add(principalOf(req), req.params.org, b.name, b.role, b.password);
      return reply.code(201).send({
        user: { name: r.user.name, role: r.user.role, orgs: r.user.orgs, disabled: r.user.disabled },
        ...(r.password ? { password: r.password } : {}),
      });
    },
  );

  app.patch(
    '/orgs/:org/users/:name',
    {
      config: { access: 'users' },
      schema: {
        summary:
          'Change a user of this organisation (admins; not yourself): their role in this organisation (others keep theirs), or disable/enable them. Disabling signs them out and revokes their tokens for good',
        tags: ['users'],
        params: userParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            disabled: { type: 'boolean' },
            role: { enum: ['admin', 'supervisor', 'agent'], description: 'their role in this organisation' },
          },
        },
      },
    },
    async (req) => {
      const a = principalOf(req);
      const { org, name } = req.params;
      const b = req.body;
      const afterRole = b.role !== undefined ? await deps.userAdmin.setRole(a, org, name, b.role) : null;
      const u = b.disabled !== undefined ? await deps.userAdmin.setDisabled(a, org, name, b.disabled) : afterRole;
      if (!u) throw new CallscreenError('CS_ERR_INVALID_VALUE', 'give role or disabled', { field: 'role' });
      return {
        user: { name: u.name, role: u.roles[org] ?? u.role, roles: u.roles, orgs: u.orgs, disabled: u.disabled },
      };
    },
  );

  app.post(
    '/orgs/:org/import',
    {
      config: { access: 'import' },
      bodyLimit: API_IMPORT_BYTES,
      schema: {
        summary:
          "Import a CSV (the CLI's columns; separator told from the header or given). dryRun: check every row and count what would change, write nothing. All or nothing: any bad row gives 422 with every bad row by line",
        tags: ['import'],
        params: orgParam,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['csv'],
          properties: {
            csv: { type: 'string', maxLength: API_IMPORT_BYTES, description: "the file's text, header row first" },
            dryRun: { type: 'boolean', default: false },
            delimiter: { enum: [...CSV_DELIMITERS], description: 'default: told from the header line' },
          },
        },
      },
    },
    async (req) => {
      const b = req.body;
      return deps.transfer.import(principalOf(req), req.params.org, b.csv, {
        dryRun: b.dryRun,
        ...(b.delimiter ? { delimiter: b.delimiter } : {}),
        fileName: 'api upload',
      });
    },
  );

  app.get(
    '/orgs/:org/export',
    {
      config: { access: 'view' },
      schema: {
        summary: 'Export the block and allow lists: CSV (re-imports as is; contact blocks only in JSON) or JSON',
        tags: ['import'],
        params: orgParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { enum: ['csv', 'json'], default: 'csv' } },
        },
      },
    },
    async (req, reply) => {
      const format = req.query.format;
      const r = await deps.transfer.export(principalOf(req), req.params.org, format);
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="${req.params.org}-blocklist.${format}"`)
        .send(r.text);
    },
  );
}
