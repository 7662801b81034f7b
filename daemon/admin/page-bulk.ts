/**
 * Bulk unblock from the Blocked callers page (issue #17): tick rows (or "every entry matching the
 * search", beyond this page and beyond 1,000), then confirm on a page that lists what will be
 * unblocked. The confirmation is a second form post; nothing changes before it. All or nothing.
 */
import type { FastifyInstance } from 'fastify';
import type { DaemonContext } from '../daemon-context.js';
import type { AdminOperations } from './admin-operations.js';
import type { BulkOperations, BulkSelection } from './bulk-operations.js';
import { html } from './html-escape.js';
import { back, field, fields, frameOf, sendHtml } from './page-kit.js';
import { page } from './page-layout.js';
import { describeEntry, MODE_LABEL } from './page-views.js';

/** Entries the confirmation page lists by name (the count covers all). */
const CONFIRM_SHOWN = 50;

function selection(body: unknown): BulkSelection {
  if (field(body, 'all') === '1') return { all: true, search: field(body, 'search') };
  return { ids: fields(body, 'ids').map((s) => (/^\d{1,15}$/.test(s) ? Number(s) : Number.NaN)) };
}

export function registerBulkPages(
  app: FastifyInstance,
  deps: { readonly ops: AdminOperations; readonly ctx: DaemonContext; readonly bulk: BulkOperations },
): void {
  const { ops, ctx, bulk } = deps;

  app.post('/blocked/bulk', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/blocked', 'Unblock many');
    const sel = selection(req.body);
    const ids = await bulk.selectedIds(a, org.slug, sel);
    const shown = [];
    for (const id of ids.slice(0, CONFIRM_SHOWN)) shown.push(await ops.entry(a, org.slug, id));
    const csrf = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${org.slug}">`;
    const keep = sel.all
      ? html`<input type="hidden" name="all" value="1"><input type="hidden" name="search" value="${sel.search ?? ''}">`
      : ids.map((id) => html`<input type="hidden" name="ids" value="${id}">`);
    return sendHtml(
      reply,
      page(
        f,
        html`<div class="card">
<p>Unblock <strong>${ids.length} ${ids.length === 1 ? 'entry' : 'entries'}</strong> in <strong>${org.name}</strong>? They can call and text ${org.name} again.</p>
<ul>${shown.map((e) => html`<li>${describeEntry(e)}${e.name ? html` — ${e.name}` : ''} <span class="muted">(${MODE_LABEL[e.mode]})</span></li>`)}</ul>
${ids.length > shown.length ? html`<p class="muted">…and ${ids.length - shown.length} more.</p>` : ''}
<form method="post" action="/blocked/unblock-many">${csrf}${keep}
  <div class="field"><label for="note">Note (why; kept in the audit log)</label><textarea id="note" name="note" rows="2" maxlength="1000"></textarea></div>
  <div class="actions"><button type="submit" class="danger">Confirm: unblock ${ids.length}</button><a class="button secondary" href="/blocked?org=${org.slug}">Cancel</a></div>
</form></div>`,
      ),
    );
  });

  app.post('/blocked/unblock-many', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/blocked', 'Unblock many');
    const r = await bulk.unblockMany(a, org.slug, selection(req.body), field(req.body, 'note'));
    return back(reply, '/blocked', org.slug, 'bulk-unblocked', { count: r.unblocked });
  });
}
