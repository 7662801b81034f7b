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

export interface AllowFormValues {
  readonly kind: string;
  readonly number: string;
  readonly prefix: string;
  readonly name: string;
  readonly reason: string;
  readonly expires: string;
}

export const ALLOW_FIELDS = ['kind', 'number', 'prefix', 'name', 'reason', 'expires'] as const;
export const EMPTY_ALLOW_FORM: AllowFormValues = { kind: 'number', number: '', prefix: '', name: '', reason: '', expires: '' };

const csrfField = (f: Frame) => html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;

export function renderAllowed(f: Frame, list: { total: number; entries: EntryListItem[] }, pageNo: number, size: number, v: AllowFormValues, fe?: FormError, whatIf?: SafeHtml): SafeHtml {
  const rows = list.entries.map((e) => html`<tr>
  <td data-label="Caller ID">${describeEntry(e)}${e.expired ? html` <span class="tag">expired</span>` : ''}</td>
  <td data-label="Name">${e.name}</td>
  <td data-label="Added By">${e.createdBy}</td>
  <td data-label="Added On">${when(e.createdAt)}</td>
  <td data-label="Reason">${e.reason}</td>
  <td data-label="Expires">${e.expiresAt === null ? 'never' : when(e.expiresAt)}</td>
  ${f.perms.allow ? html`<td data-label="Action"><form class="inline" method="post" action="/allowed/${e.id}/remove" data-confirm="Remove ${describeEntry(e)} from the allow list? Blocks that match it apply again.">${csrfField(f)}<button type="submit" class="secondary" aria-label="Remove ${describeEntry(e)}">Remove</button></form></td>` : ''}
</tr>`);
  const kind = v.kind === 'prefix' ? 'prefix' : 'number';
  const input = (name: 'number' | 'prefix' | 'name' | 'reason' | 'expires', label: SafeHtml, attrs: SafeHtml) => html`<div class="field"><label for="${name}">${label}</label>
    <input id="${name}" name="${name}" value="${v[name]}"${attrs}${invalidAttrs(fe, name)}>${fieldError(fe, name)}</div>`;
  const form = f.perms.allow ? html`<h2 id="add-allowed">Always allow a caller</h2><form method="post" action="/allowed" class="card kind-form" novalidate>${errorSummary(fe, { number: 'number', prefix: 'prefix' })}${csrfField(f)}
  <fieldset class="kinds"><legend>What are you allowing?</legend>
    <label><input type="radio" name="kind" value="number"${kind === 'number' ? html` checked` : ''}> A phone number</label>
    <label><input type="radio" name="kind" value="prefix"${kind === 'prefix' ? html` checked` : ''}> Every number starting with a prefix</label>
    ${fieldError(fe, 'kind')}
  </fieldset>
  <fieldset class="for-kind for-number"><legend>The phone number</legend>${input('number', html`Phone number <span class="hint">any format</span>`, html` type="tel" maxlength="64" autocomplete="off"`)}</fieldset>
  <fieldset class="for-kind for-prefix"><legend>The prefix</legend>${input('prefix', html`Prefix <span class="hint">e.g. +1212555</span>`, html` type="text" maxlength="32" autocomplete="off"`)}</fieldset>
  ${input('name', html`Name <span class="hint">optional</span>`, html` type="text" maxlength="200"`)}
  ${input('reason', html`Reason <span class="hint">optional</span>`, html` type="text" maxlength="1000"`)}
  ${input('expires', html`Expires <span class="hint">empty = never; 30d, 12h, 2w or a date like 2026-12-31</span>`, html` type="text" maxlength="40"`)}
  ${whatIf ?? ''}${whatIfButtons('Add to allow list')}</form>` : html``;
  return html`<p class="muted">Allowed callers always get through: an allow entry wins over every block. ${list.total} allow ${list.total === 1 ? 'entry' : 'entries'}.</p>
${list.entries.length === 0
    ? html`<p class="empty">No callers are on the allow list of ${f.org.name}.</p>`
    : html`<table class="stack"><caption class="skip">Allowed callers of ${f.org.name}</caption><thead><tr><th scope="col">Caller ID</th><th scope="col">Name</th><th scope="col">Added By</th><th scope="col">Added On</th><th scope="col">Reason</th><th scope="col">Expires</th>${f.perms.allow ? html`<th scope="col"><span class="skip">Action</span></th>` : ''}</tr></thead><tbody>${rows}</tbody></table>`}
${pager('/allowed', f, pageNo, list.total, size, list.entries.length)}
${form}`;
}
