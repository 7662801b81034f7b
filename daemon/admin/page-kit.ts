/**
 * What every panel page handler needs, shared by page-routes.ts and the page-*.ts modules: form and
 * query fields as strings, an id from the path, the page frame of the signed-in user and their
 * organisation, the redirect back with a notice, and sending HTML.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { Org } from '../store/rows.js';
import { permissionsFor } from './access-policy.js';
import { principalOf, requestedOrg } from './access-hook.js';
import type { AdminOperations } from './admin-operations.js';
import type { Frame } from './page-layout.js';
import { noticeQuery, renderNotice, type NoticeArgs, type NoticeKey } from './panel-notices.js';
import type { AuthState } from './request-auth.js';

type Form = Record<string, string | string[] | undefined>;

/** A form field as one string ('' when absent; the first when repeated). */
export function field(body: unknown, key: string): string {
  const v = (body as Form | undefined)?.[key];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? '') : '';
}

/** A repeated form field (checkboxes) as strings. */
export function fields(body: unknown, key: string): string[] {
  const v = (body as Form | undefined)?.[key];
  return typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** True when the form posted this field at all (an edit form leaves out what it does not change). */
export function posted(body: unknown, key: string): boolean {
  return (body as Form | undefined)?.[key] !== undefined;
}

export function query(req: FastifyRequest, key: string): string {
  const v = (req.query as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : '';
}

export function idParam(req: FastifyRequest, name = 'id'): number {
  const n = Number((req.params as Record<string, string>)[name]);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new CallscreenError('CS_ERR_INVALID_VALUE', `${name} must be a positive integer`, { field: name });
  return n;
}

export function sendHtml(reply: FastifyReply, body: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

export function back(reply: FastifyReply, path: string, org: string, key: NoticeKey, args: NoticeArgs = {}) {
  return reply.redirect(`${path}?org=${encodeURIComponent(org)}&${noticeQuery(key, args)}`, 303);
}

/** The signed-in user, the organisation the access hook authorised, and the page frame. */
export async function frameOf(
  ctx: DaemonContext,
  ops: AdminOperations,
  req: FastifyRequest,
  path: string,
  title: string,
): Promise<{ a: AuthState; org: Org; f: Frame }> {
  const a = principalOf(req);
  const org = req.accessOrg ?? (await ops.org(a, requestedOrg(req, a.user.orgs[0] ?? ''), 'view'));
  const orgs = await ops.orgs(a);
  const notice = await renderNotice(ctx, org, req.query as Record<string, unknown>);
  // Every page says so while the shared PostgreSQL store (issue #15) cannot be reached.
  const shared = ctx.shared?.status();
  const readOnly =
    shared && !shared.replica.connected
      ? `the shared store ${shared.store} cannot be reached, so changes are refused until it is back. Calls are still screened with the list as it was.`
      : undefined;
  return {
    a,
    org,
    f: {
      title,
      user: a.user,
      csrf: a.csrf ?? '',
      org,
      orgs,
      perms: permissionsFor(a.user, org),
      path,
      notice,
      readOnly,
    },
  };
}
