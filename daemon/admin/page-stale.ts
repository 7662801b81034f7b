/**
 * The Stale entries page (issue #16): expired entries, entries with no hit in N days and entries
 * shadowed by another one, each with why; and the one-click clean-up for admins, with a confirm
 * step (a first post shows what would be removed — a dry run — and a Confirm button; the second
 * removes them, each audited as an unblock or disallow). No script.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import {
  DEFAULT_STALE_DAYS,
  MAX_STALE_DAYS,
  STALE_CATEGORIES,
  type CleanUpResult,
  type StaleCategory,
  type StaleEntry,
  type StaleReport,
} from '../services/stale-report.js';
import type { Org } from '../store/rows.js';
import type { AuthState } from './request-auth.js';
import type { AdminOperations } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { page, when, type Frame } from './page-layout.js';
import type { NoticeArgs, NoticeKey } from './panel-notices.js';

/** What page-routes.ts lends its pages: the frame of a page, HTML answers, redirects with a notice. */
export interface PageHelpers {
  readonly ops: AdminOperations;
  frame(req: FastifyRequest, path: string, title: string): Promise<{ a: AuthState; org: Org; f: Frame }>;
  sendHtml(reply: FastifyReply, body: string, status?: number): FastifyReply;
  back(reply: FastifyReply, path: string, org: string, key: NoticeKey, args?: NoticeArgs): FastifyReply;
}

const LABEL: Readonly<Record<StaleCategory, string>> = { expired: 'Expired', unused: 'Unused', shadowed: 'Shadowed' };
/** Ticked by default in the clean-up form: unused entries may still be wanted (a number that rarely calls). */
const DEFAULT_CLEAN: readonly StaleCategory[] = ['expired', 'shadowed'];

type Form = Record<string, string | string[] | undefined>;

function values(body: unknown, key: string): string[] {
  const v = (body as Form | undefined)?.[key];
  return typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
}

function daysOf(raw: string): number {
  if (raw.trim() === '') return DEFAULT_STALE_DAYS;
  if (!/^\d{1,4}$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > MAX_STALE_DAYS) {
    throw new CallscreenError('CS_ERR_INVALID_VALUE', `"days" must be a number of days from 1 to ${MAX_STALE_DAYS}`, {
      field: 'days',
    });
  }
  return Number(raw.trim());
}

function categoriesOf(body: unknown): StaleCategory[] {
  const picked = values(body, 'category');
  if (picked.length === 0)
    throw new CallscreenError('CS_ERR_INVALID_VALUE', 'tick at least one kind of stale entry to remove', {
      field: 'category',
    });
  return picked as StaleCategory[];
}

function target(e: StaleEntry): string {
  if (e.kind === 'prefix') return `${e.value}… (prefix)`;
  if (e.kind === 'contact') return `contact ${e.name || e.value}`;
  if (e.kind === 'unidentified') return 'unidentified callers';
  return e.value;
}

export function renderStale(f: Frame, r: StaleReport): SafeHtml {
  const canClean = f.perms.unblock && f.perms.allow;
  const rows = r.entries.map(
    (e) => html`<tr>
  <td data-label="Kind">${LABEL[e.category]}</td>
  <td data-label="Caller ID">${target(e)}${e.list === 'allow' ? html` <span class="tag">allow</span>` : ''}</td>
  <td data-label="Name">${e.name}</td>
  <td data-label="Hits">${e.hitCount}${e.lastHitAt !== null ? html` <span class="hint">last ${when(e.lastHitAt)}</span>` : ''}</td>
  <td data-label="Why">${e.why}</td>
</tr>`,
  );
  const cleanForm =
    canClean && r.total > 0
      ? html`<h2>Clean up</h2>
<form method="post" action="/stale/clean" class="card">
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}"><input type="hidden" name="days" value="${r.days}">
  <fieldset><legend>Remove these stale entries</legend>
    ${STALE_CATEGORIES.map((c) => html`<label><input type="checkbox" name="category" value="${c}"${DEFAULT_CLEAN.includes(c) ? html` checked` : ''}> ${LABEL[c]} (${r.counts[c]})</label>`)}
  </fieldset>
  <div class="field"><label for="reason">Reason <span class="hint">optional; kept in the audit log</span></label><input id="reason" name="reason" type="text" maxlength="1000"></div>
  <button type="submit" class="secondary">Clean up…</button> <span class="hint">You will see what is removed and confirm first.</span>
</form>`
      : html``;
  return html`<p class="muted">Entries that do nothing: <strong>${r.counts.expired}</strong> expired, <strong>${r.counts.unused}</strong> unused (no hit in ${r.days} days), <strong>${r.counts.shadowed}</strong> shadowed (another entry gives the same answer, or wins).</p>
<form method="get" action="/stale" class="search"><input type="hidden" name="org" value="${f.org.slug}">
  <div class="field"><label for="days">Unused after (days)</label><input id="days" name="days" type="number" min="1" max="${MAX_STALE_DAYS}" value="${r.days}"></div>
  <button type="submit" class="secondary">Show</button></form>
${
  r.total === 0
    ? html`<p class="empty">Nothing stale in ${f.org.name}.</p>`
    : html`<table class="stack"><caption class="skip">Stale entries of ${f.org.name}</caption><thead><tr><th scope="col">Kind</th><th scope="col">Caller ID</th><th scope="col">Name</th><th scope="col">Hits</th><th scope="col">Why</th></tr></thead><tbody>${rows}</tbody></table>
${r.total > r.entries.length ? html`<p class="muted">The first ${r.entries.length} of ${r.total}; the clean-up takes them all.</p>` : ''}`
}
${cleanForm}`;
}

export function renderCleanConfirm(
  f: Frame,
  dry: CleanUpResult,
  days: number,
  categories: readonly StaleCategory[],
  reason: string,
): SafeHtml {
  const n = dry.removed.expired + dry.removed.unused + dry.removed.shadowed;
  return html`<section class="card" role="alert"><h2>Remove ${n} stale ${n === 1 ? 'entry' : 'entries'} from ${f.org.name}?</h2>
<p>${dry.removed.expired} expired, ${dry.removed.unused} unused (no hit in ${days} days), ${dry.removed.shadowed} shadowed. Each is removed as an unblock (or, for allow entries, a removal from the allow list), with its history kept and the reason in the audit log.</p>
<form method="post" action="/stale/clean">
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}"><input type="hidden" name="days" value="${days}">
  ${categories.map((c) => html`<input type="hidden" name="category" value="${c}">`)}
  <input type="hidden" name="reason" value="${reason}">
  <div class="actions"><button type="submit" name="confirm" value="yes" class="danger"${n === 0 ? html` disabled` : ''}>Confirm clean-up</button><a class="button secondary" href="/stale?org=${f.org.slug}&amp;days=${days}">Cancel</a></div>
</form></section>`;
}

export function registerStalePages(app: FastifyInstance, h: PageHelpers): void {
  app.get('/stale', { config: { access: 'view' } }, async (req, reply) => {
    const { a, org, f } = await h.frame(req, '/stale', 'Stale entries');
    const raw = (req.query as Record<string, unknown>)['days'];
    const report = await h.ops.staleReport(a, org.slug, { days: daysOf(typeof raw === 'string' ? raw : '') });
    return h.sendHtml(reply, page(f, renderStale(f, report)));
  });

  app.post('/stale/clean', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org, f } = await h.frame(req, '/stale', 'Stale entries');
    const b = req.body as Form | undefined;
    const one = (k: string) => values(b, k)[0] ?? '';
    const days = daysOf(one('days'));
    const categories = categoriesOf(b);
    const reason = one('reason');
    if (one('confirm') !== 'yes') {
      const dry = await h.ops.staleCleanUp(a, org.slug, { days, categories, dryRun: true }, reason);
      return h.sendHtml(reply, page(f, renderCleanConfirm(f, dry, days, categories, reason)));
    }
    const done = await h.ops.staleCleanUp(a, org.slug, { days, categories }, reason);
    return h.back(reply, '/stale', org.slug, 'stale-cleaned', {
      count: done.removed.expired + done.removed.unused + done.removed.shadowed,
    });
  });
}
