/**
 * The panel's side of issue #16's entry actions: on the Blocked callers list each entry shows
 * whether it is disabled, observing or limited to some DIDs, with a small form to disable or enable
 * it (and to read an observing entry's report); the report page has the one-click Promote. Plain
 * HTML forms (POST + `_csrf`, then a 303 back), authorised by RuleOperations as the API is.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import { permissionsFor } from './access-policy.js';
import { orgOf, principalOf } from './access-hook.js';
import type { AdminOperations } from './admin-operations.js';
import { html } from './html-escape.js';
import { page, when, type Frame } from './page-layout.js';
import { noticeQuery, renderNotice, type NoticeKey } from './panel-notices.js';
import { describeEntry, MODE_LABEL } from './page-views.js';
import { entryStateTags } from './page-entry-state.js';
import type { EntryAction, RuleOperations } from './rule-operations.js';

export interface RulePageDeps {
  readonly ops: AdminOperations;
  readonly rules: RuleOperations;
  readonly ctx: DaemonContext;
}

function idParam(req: FastifyRequest): number {
  const n = Number((req.params as { id: string }).id);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new CallscreenError('CS_ERR_INVALID_VALUE', 'id must be a positive integer', { field: 'id' });
  return n;
}

const NOTICE: Readonly<Record<EntryAction, NoticeKey>> = {
  disable: 'entry-disabled',
  enable: 'entry-enabled',
  observe: 'entry-observing',
  promote: 'entry-promoted',
};

/** Registers the pages on the panel's plugin, after registerPageRoutes (whose access hook covers them). */
export function registerRulePages(app: FastifyInstance, deps: RulePageDeps): void {
  const { ops, rules } = deps;
  async function frame(req: FastifyRequest, title: string): Promise<Frame> {
    const a = principalOf(req);
    const org = req.accessOrg ?? (await ops.org(a, a.user.orgs[0] ?? '', 'view'));
    const notice = await renderNotice(deps.ctx, org, req.query as Record<string, unknown>);
    return {
      title,
      user: a.user,
      csrf: a.csrf ?? '',
      org,
      orgs: await ops.orgs(a),
      perms: permissionsFor(a.user, org),
      path: '/blocked',
      notice,
    };
  }
  const send = (reply: FastifyReply, body: string) => reply.type('text/html; charset=utf-8').send(body);

  for (const action of ['disable', 'enable', 'observe', 'promote'] as const) {
    app.post(
      `/blocked/:id/${action}`,
      { config: { access: action === 'disable' || action === 'observe' ? 'unblock' : 'block' } },
      async (req, reply) => {
        const a = principalOf(req);
        const org = orgOf(req);
        const note = (req.body as Record<string, unknown> | undefined)?.note;
        const e = await rules.act(a, org.slug, idParam(req), action, typeof note === 'string' ? note : '');
        const to =
          action === 'promote' || action === 'observe'
            ? `/blocked/${e.id}/report`
            : e.list === 'allow'
              ? '/allowed'
              : '/blocked';
        return reply.redirect(
          `${to}?org=${encodeURIComponent(org.slug)}&${noticeQuery(NOTICE[action], { ref: e.id })}`,
          303,
        );
      },
    );
  }

  app.get('/blocked/:id/report', { config: { access: 'view' } }, async (req, reply) => {
    const f = await frame(req, 'Observe report');
    const r = await rules.report(principalOf(req), f.org.slug, idParam(req), 50);
    const e = r.entry;
    const what = html`<strong>${describeEntry(e)}</strong>${entryStateTags(e)} (${e.list === 'allow' ? 'allow' : MODE_LABEL[e.mode]})`;
    const body =
      r.observingSince === null
        ? html`<div class="card"><p>${what} is not in observe mode: ${e.disabledAt !== null ? 'it is disabled' : 'it blocks'}.</p>
${
  e.list === 'block' && e.disabledAt === null && f.perms.unblock
    ? html`<form method="post" action="/blocked/${e.id}/observe"><input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">
<p class="muted">Observe mode lets the calls through again and records what this entry would have blocked.</p><button type="submit" class="secondary">Observe instead of blocking</button></form>`
    : ''
}
<p><a href="/blocked?org=${f.org.slug}">Back to blocked callers</a></p></div>`
        : html`<div class="card"><p>${what} has been observing since <strong>${when(r.observingSince)}</strong>.</p>
<p>It would have ${e.mode === 'voicemail' ? 'sent to voicemail' : 'rejected'} <strong>${r.hits}</strong> call${r.hits === 1 ? '' : 's'} or message${r.hits === 1 ? '' : 's'} from <strong>${r.numbers}</strong> number${r.numbers === 1 ? '' : 's'}${r.lastAt !== null ? html`, the latest on ${when(r.lastAt)}` : ''}.</p>
${
  f.perms.block
    ? html`<form method="post" action="/blocked/${e.id}/promote"><input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">
<div class="field"><label for="note">Note (why; kept in the audit log)</label><textarea id="note" name="note" rows="2" maxlength="1000"></textarea></div>
<div class="actions"><button type="submit">Promote: block from now on</button><a class="button secondary" href="/blocked?org=${f.org.slug}">Back</a></div></form>`
    : ''
}</div>
${r.recent.length === 0 ? html`<p class="empty">Nothing matched yet.</p>` : html`<div class="table-wrap"><table class="stack"><caption>Latest calls it let through</caption><thead><tr><th scope="col">When</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Channel</th></tr></thead><tbody>${r.recent.map((x) => html`<tr><td data-label="When">${when(x.at)}</td><td data-label="From">${x.number}</td><td data-label="To">${x.to}</td><td data-label="Channel">${x.channel}</td></tr>`)}</tbody></table></div>`}`;
    return send(reply, page(f, body));
  });
}
