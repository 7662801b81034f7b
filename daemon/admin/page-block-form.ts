/**
 * The Block form (seed 001): first what is being blocked — a number, a prefix, a contact or
 * unidentified callers — then only that kind's fields, then how and why. Each kind's fields are
 * in their own fieldset; the stylesheet hides the ones of the kinds not chosen with `:has()` (no
 * script: the CSP allows no inline script, and none is needed). A browser without `:has()` shows
 * every fieldset, each titled with its kind, and the server reads only the chosen kind's field, so
 * the form still works. Blocking a contact has one way only: choose "A contact", then the contact.
 */
import type { Contact } from '../services/contact-service.js';
import type { Frame } from './page-layout.js';
import { roleIn } from './user-service.js';
import { html, type SafeHtml } from './html-escape.js';
import { MODE_LABEL } from './page-views.js';
import { errorSummary, fieldError, invalidAttrs, type FormError } from './panel-form-error.js';
import { whatIfButtons } from './page-what-if.js';
import { didsField, patternField } from './page-rule-fields.js';

export const BLOCK_KINDS = ['number', 'prefix', 'pattern', 'contact', 'unidentified'] as const;

/** What was typed (or pre-filled from a link): every value as the form posts it. */
export interface BlockFormValues {
  readonly kind: string;
  readonly number: string;
  readonly prefix: string;
  readonly contactId: string;
  readonly mode: string;
  readonly name: string;
  readonly reason: string;
  readonly expires: string;
  /** Issue #16: wildcards or a range (kind `pattern`). */
  readonly pattern?: string;
  /** The org's DIDs ticked; none = every call. */
  readonly dids?: readonly string[];
  /** Observe mode: record "would have blocked", let the calls through. */
  readonly observe?: boolean;
}

/** The input names an error can point at. */
export const BLOCK_FIELDS = [
  'kind',
  'number',
  'prefix',
  'pattern',
  'contactId',
  'mode',
  'name',
  'reason',
  'expires',
  'dids',
  'observe',
] as const;

/**
 * `whatIf`: the what-if figures (a preview, or the confirm step of a broad entry), shown above the
 * buttons. `orgDids`: the org's DIDs, offered as the DIDs the entry applies to (none = no choice).
 */
export function renderBlockForm(
  f: Frame,
  contacts: readonly Contact[],
  v: BlockFormValues,
  fe?: FormError,
  whatIf?: SafeHtml,
  orgDids: readonly string[] = [],
): SafeHtml {
  // Agents block contacts only (access-policy.ts): the other kinds are not offered to them.
  const agent = roleIn(f.user, f.org.slug) === 'agent';
  const kind = agent ? 'contact' : (BLOCK_KINDS as readonly string[]).includes(v.kind) ? v.kind : 'number';
  const mode = v.mode === 'voicemail' || v.mode === 'reject' ? v.mode : f.org.policy.defaultMode;
  const radio = (k: string, label: string, hint: string) =>
    html`<label><input type="radio" name="kind" value="${k}"${k === kind ? html` checked` : ''}> ${label} <span class="hint">— ${hint}</span></label>`;
  const input = (
    name: string,
    label: SafeHtml,
    attrs: SafeHtml,
  ) => html`<div class="field"><label for="${name}">${label}</label>
    <input id="${name}" name="${name}" value="${(v as unknown as Record<string, string>)[name] ?? ''}"${attrs}${invalidAttrs(fe, name)}>${fieldError(fe, name)}</div>`;
  return html`<form method="post" action="/block" class="card kind-form" novalidate>${errorSummary(fe, { number: 'number', prefix: 'prefix', pattern: 'pattern', contactId: 'contact' })}
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">
  <fieldset class="kinds"><legend>What are you blocking?</legend>
    ${agent ? '' : radio('number', 'A phone number', 'one caller')}
    ${agent ? '' : radio('prefix', 'Every number starting with a prefix', 'e.g. a premium-rate range')}
    ${agent ? '' : radio('pattern', 'Numbers matching a pattern', 'wildcards or a range, e.g. +1415555????')}
    ${radio('contact', 'A contact — all of their numbers', 'including numbers added to them later')}
    ${agent ? '' : radio('unidentified', 'Unidentified callers', 'withheld, anonymous or no number')}
    ${fieldError(fe, 'kind')}
  </fieldset>
  ${
    agent
      ? ''
      : html`<fieldset class="for-kind for-number"><legend>The phone number</legend>
    ${input('number', html`Phone number <span class="hint">any format, e.g. (555) 123-4567 or +44 20 7946 0000</span>`, html` type="tel" maxlength="64" autocomplete="off"`)}
  </fieldset>
  <fieldset class="for-kind for-prefix"><legend>The prefix</legend>
    ${input('prefix', html`Prefix <span class="hint">every number starting so, e.g. +1900</span>`, html` type="text" maxlength="32" autocomplete="off"`)}
  </fieldset>
  ${patternField(v.pattern ?? '', fe, 'block')}`
  }
  <fieldset class="for-kind for-contact"><legend>The contact</legend>
    <div class="field"><label for="contactId">Contact <span class="hint">add contacts on the Contacts page</span></label>
    <select id="contactId" name="contactId"${invalidAttrs(fe, 'contactId')}><option value="">— choose a contact —</option>${contacts.map((c) => html`<option value="${c.id}"${String(c.id) === v.contactId ? html` selected` : ''}>${c.name} (${c.numbers.join(', ')})${c.blocked ? ' — blocked' : ''}</option>`)}</select>${fieldError(fe, 'contactId')}</div>
  </fieldset>
  ${
    agent
      ? ''
      : html`<fieldset class="for-kind for-unidentified"><legend>Unidentified callers</legend>
    <p class="muted">Calls and messages with no usable number: empty, anonymous, restricted, private, unavailable, unknown, withheld, all zeros or not a number. There is nothing more to fill in.</p>
  </fieldset>`
  }
  <fieldset><legend>How to block</legend>
    <label><input type="radio" name="mode" value="voicemail"${mode === 'voicemail' ? html` checked` : ''}> ${MODE_LABEL.voicemail} <span class="hint">— calls and SMS are blocked; the caller can leave a voice message</span></label>
    <label><input type="radio" name="mode" value="reject"${mode === 'reject' ? html` checked` : ''}> ${MODE_LABEL.reject} <span class="hint">— calls, voice messages and SMS are all blocked</span></label>
    ${fieldError(fe, 'mode')}
  </fieldset>
  ${didsField(orgDids, v.dids ?? [], fe)}
  <div class="field"><label><input type="checkbox" id="observe" name="observe" value="on"${v.observe === true ? html` checked` : ''}${invalidAttrs(fe, 'observe')}> Observe first <span class="hint">— record what it would have blocked but let the calls through; promote it from its report</span></label>${fieldError(fe, 'observe')}</div>
  ${input('name', html`Name <span class="hint">optional; a contact's own name by default</span>`, html` type="text" maxlength="200"`)}
  ${input('reason', html`Reason <span class="hint">optional; kept with the entry</span>`, html` type="text" maxlength="1000"`)}
  ${input('expires', html`Expires <span class="hint">empty = never; 30d, 12h, 2w or a date like 2026-12-31</span>`, html` type="text" maxlength="40"`)}
  ${whatIf ?? ''}${whatIfButtons('Add to block list')}
</form>`;
}
