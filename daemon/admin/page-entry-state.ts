/**
 * What the entries list shows of issue #16's entry state: tags (disabled, observing, only on some
 * DIDs) and the small forms of the Action cell (Disable or Enable; Report… for an observing entry);
 * and the entry's Edit page: the same state in words, with Observe instead of blocking (admins) or
 * the report. The routes behind the forms are in page-rules.ts.
 */
import type { EntryRecord } from '../store/rows.js';
import { html, type SafeHtml } from './html-escape.js';
import type { Frame } from './page-layout.js';

type EntryAction = 'disable' | 'enable' | 'observe' | 'promote';

/** Tags for the Caller ID cell: disabled, observing, the DIDs it is limited to. */
export function entryStateTags(e: EntryRecord): SafeHtml {
  return html`${e.disabledAt !== null ? html` <span class="tag">disabled</span>` : ''}${e.observeSince !== null ? html` <span class="tag">observing</span>` : ''}${e.dids && e.dids.length > 0 ? html` <span class="tag">only on ${e.dids.join(', ')}</span>` : ''}`;
}

/**
 * The Edit page's rule card: whether the entry is enabled, observing, limited to some DIDs, and the
 * one action the list has no room for — putting an enforced block in observe mode (admins: it lets
 * calls through, so it is an unblock in effect). Changing the DIDs is re-posting it on the Block form.
 */
export function entryRulesCard(f: Frame, e: EntryRecord): SafeHtml {
  const scope =
    e.dids && e.dids.length > 0 ? html`only calls and messages to ${e.dids.join(', ')}` : html`every call and message`;
  const state =
    e.disabledAt !== null
      ? 'disabled: kept, but it never matches'
      : e.observeSince !== null
        ? 'observing: it records what it would have blocked and lets the calls through'
        : e.list === 'allow'
          ? 'enabled'
          : 'enforced';
  const observe =
    e.list === 'block' && e.disabledAt === null && e.observeSince === null && f.perms.unblock
      ? html`<form method="post" action="/blocked/${e.id}/observe" class="inline"><input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}"><button type="submit" class="secondary">Observe instead of blocking</button></form>`
      : '';
  const report =
    e.observeSince !== null
      ? html`<a class="button secondary" href="/blocked/${e.id}/report?org=${f.org.slug}">Report and Promote…</a>`
      : '';
  return html`<section class="card" aria-labelledby="rules-h"><h2 id="rules-h">Rule</h2>
<p>This entry is <strong>${state}</strong>, for ${scope}.</p>
${observe !== '' || report !== '' ? html`<div class="actions">${observe}${report}</div>` : ''}
<p class="hint">To change the inbound numbers it applies to, add it again on the ${e.list === 'allow' ? 'Allowed callers' : 'Block'} form with the numbers ticked: the same target replaces its list.</p></section>`;
}

/**
 * The small forms of the Action cell: Disable (admins) or Enable, and an observing entry's Report.
 * An allow entry (Allowed callers) is disabled and enabled by whoever may allow (admins).
 */
export function entryStateActions(f: Frame, e: EntryRecord): SafeHtml {
  const post = (
    action: EntryAction,
    label: string,
  ) => html`<form method="post" action="/blocked/${e.id}/${action}" class="inline">
<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}"><button type="submit" class="secondary" aria-label="${label} entry ${e.id}">${label}</button></form>`;
  const [mayEnable, mayDisable] =
    e.list === 'allow' ? [f.perms.allow, f.perms.allow] : [f.perms.block, f.perms.unblock];
  const toggle =
    e.disabledAt !== null ? (mayEnable ? post('enable', 'Enable') : '') : mayDisable ? post('disable', 'Disable') : '';
  const report =
    e.observeSince !== null
      ? html`<a class="button secondary" href="/blocked/${e.id}/report?org=${f.org.slug}">Report…</a>`
      : '';
  return html`${toggle}${report}`;
}
