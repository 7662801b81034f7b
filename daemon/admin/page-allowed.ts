/**
 * Allowed callers: the never-block list (numbers and prefixes that win over every block). Everyone
 * who may view the org sees it; admins (`allow`) add and remove entries. Removing one lets the
 * blocks under it apply again, so it asks first (data-confirm) and keeps a note for the audit log.
 */
import type { EntryListItem } from '../services/blocklist-service.js';
import { html, type SafeHtml } from './html-escape.js';
import { when, type Frame } from './page-layout.js';
import { describeEntry, pager } from './page-views.js';
import { errorSummary, fieldError, invalidAttrs, type FormError } from './panel-form-error.js';
import { whatIfButtons } from './page-what-if.js';
import { didsField, patternField } from './page-rule-fields.js';
import { entryStateActions, entryStateTags } from './page-entry-state.js';

export interface AllowFormValues {
  readonly kind: string;
  readonly number: string;
  readonly prefix: string;
  readonly name: string;
  readonly reason: string;
  readonly expires: string;
  /** Issue #16: wildcards or a range (kind `pattern`). */
  readonly pattern?: string;
  /** The org's DIDs ticked; none = every call. */
  readonly dids?: readonly string[];
  /** Only when the carrier attested the caller (STIR/SHAKEN A). */
  readonly attested?: boolean;
}

export const ALLOW_FIELDS = [
  'kind',
  'number',
  'prefix',
  'pattern',
  'name',
  'reason',
  'expires',
  'dids',
  'attested',
] as const;
export const EMPTY_ALLOW_FORM: AllowFormValues = {
  kind: 'number',
  number: '',
  prefix: '',
  name: '',
  reason: '',
  expires: '',
};

const csrfField = (f: Frame) =>
  html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;

/** `orgDids`: the org's DIDs, offered as the DIDs a new allow entry applies to. */
export function renderAllowed(
  f: Frame,
  list: { total: number; entries: EntryListItem[] },
  pageNo: number,
  size: number,
  v: AllowFormValues,
  fe?: FormError,
  whatIf?: SafeHtml,
  orgDids: readonly string[] = [],
): SafeHtml {
  const rows = list.entries.map(
    (e) => html`<tr>
  <td data-label="Caller ID">${describeEntry(e)}${e.expired ? html` <span class="tag">expired</span>` : ''}${entryStateTags(e)}${e.requireAttestation ? html` <span class="tag">when attested</span>` : ''}</td>
  <td data-label="Name">${e.name}</td>
  <td data-label="Added By">${e.createdBy}</td>
  <td data-label="Added On">${when(e.createdAt)}</td>
  <td data-label="Reason">${e.reason}</td>
  <td data-label="Expires">${e.expiresAt === null ? 'never' : when(e.expiresAt)}</td>
  ${f.perms.allow ? html`<td data-label="Action">${entryStateActions(f, e)}<form class="inline" method="post" action="/allowed/${e.id}/remove" data-confirm="Remove ${describeEntry(e)} from the allow list? Blocks that match it apply again.">${csrfField(f)}<button type="submit" class="secondary" aria-label="Remove ${describeEntry(e)}">Remove</button></form></td>` : ''}
</tr>`,
  );
  const kind = v.kind === 'prefix' || v.kind === 'pattern' ? v.kind : 'number';
  const input = (
    name: 'number' | 'prefix' | 'name' | 'reason' | 'expires',
    label: SafeHtml,
    attrs: SafeHtml,
  ) => html`<div class="field"><label for="${name}">${label}</label>
    <input id="${name}" name="${name}" value="${v[name]}"${attrs}${invalidAttrs(fe, name)}>${fieldError(fe, name)}</div>`;
  const form = f.perms.allow
    ? html`<h2 id="add-allowed">Always allow a caller</h2><form method="post" action="/allowed" class="card kind-form" novalidate>${errorSummary(fe, { number: 'number', prefix: 'prefix', pattern: 'pattern' })}${csrfField(f)}
  <fieldset class="kinds"><legend>What are you allowing?</legend>
    <label><input type="radio" name="kind" value="number"${kind === 'number' ? html` checked` : ''}> A phone number</label>
    <label><input type="radio" name="kind" value="prefix"${kind === 'prefix' ? html` checked` : ''}> Every number starting with a prefix</label>
    <label><input type="radio" name="kind" value="pattern"${kind === 'pattern' ? html` checked` : ''}> Numbers matching a pattern <span class="hint">— wildcards or a range</span></label>
    ${fieldError(fe, 'kind')}
  </fieldset>
  <fieldset class="for-kind for-number"><legend>The phone number</legend>${input('number', html`Phone number <span class="hint">any format</span>`, html` type="tel" maxlength="64" autocomplete="off"`)}</fieldset>
  <fieldset class="for-kind for-prefix"><legend>The prefix</legend>${input('prefix', html`Prefix <span class="hint">e.g. +1212555</span>`, html` type="text" maxlength="32" autocomplete="off"`)}</fieldset>
  ${patternField(v.pattern ?? '', fe, 'allow')}
  ${didsField(orgDids, v.dids ?? [], fe)}
  <div class="field"><label><input type="checkbox" id="attested" name="attested" value="on"${v.attested === true ? html` checked` : ''}> Only when the carrier attested the caller <span class="hint">— STIR/SHAKEN A; otherwise the number is screened as usual</span></label></div>
  ${input('name', html`Name <span class="hint">optional</span>`, html` type="text" maxlength="200"`)}
  ${input('reason', html`Reason <span class="hint">optional</span>`, html` type="text" maxlength="1000"`)}
  ${input('expires', html`Expires <span class="hint">empty = never; 30d, 12h, 2w or a date like 2026-12-31</span>`, html` type="text" maxlength="40"`)}
  ${whatIf ?? ''}${whatIfButtons('Add to allow list')}</form>`
    : html``;
  return html`<p class="muted">Allowed callers always get through: an allow entry wins over every block. ${list.total} allow ${list.total === 1 ? 'entry' : 'entries'}.</p>
${
  list.entries.length === 0
    ? html`<p class="empty">No callers are on the allow list of ${f.org.name}.</p>`
    : html`<table class="stack"><caption class="skip">Allowed callers of ${f.org.name}</caption><thead><tr><th scope="col">Caller ID</th><th scope="col">Name</th><th scope="col">Added By</th><th scope="col">Added On</th><th scope="col">Reason</th><th scope="col">Expires</th>${f.perms.allow ? html`<th scope="col"><span class="skip">Action</span></th>` : ''}</tr></thead><tbody>${rows}</tbody></table>`
}
${pager('/allowed', f, pageNo, list.total, size, list.entries.length)}
${form}`;
}
