/**
 * Issue #16's fields on the panel's Block and Allow forms: the pattern input (wildcards or a
 * range, checked against the org's pattern minimum by the service) and the choice of the org's DIDs
 * an entry applies to (none ticked = every call). The services decide what is valid; these only draw
 * the fields (page-kit.ts `fields` reads the ticked DIDs).
 */
import { html, type SafeHtml } from './html-escape.js';
import { fieldError, invalidAttrs, type FormError } from './panel-form-error.js';

/** The pattern input, inside its kind's fieldset; `verb` is "block" or "allow". */
export function patternField(value: string, fe: FormError | undefined, verb: 'block' | 'allow'): SafeHtml {
  return html`<fieldset class="for-kind for-pattern"><legend>The pattern</legend>
    <div class="field"><label for="pattern">Pattern <span class="hint">? is one digit, a trailing * any further digits, or a range: +1415555????, +1900*, +14155550100..+14155550199</span></label>
    <input id="pattern" name="pattern" value="${value}" type="text" maxlength="64" autocomplete="off" aria-describedby="pattern-hint"${invalidAttrs(fe, 'pattern')}>
    <p class="hint" id="pattern-hint">Numbers that ${verb === 'block' ? 'are blocked' : 'always get through'}; a pattern must fix the organisation's minimum number of digits (Settings).</p>${fieldError(fe, 'pattern')}</div>
  </fieldset>`;
}

/**
 * Which of the org's DIDs the entry applies to: one checkbox each, none ticked = every call. An org
 * with no DIDs gets nothing (every entry applies to all its calls).
 */
export function didsField(orgDids: readonly string[], picked: readonly string[], fe: FormError | undefined): SafeHtml {
  if (orgDids.length === 0) return html``;
  return html`<fieldset id="dids"${fe?.field === 'dids' ? html` aria-describedby="dids-error"` : ''}><legend>Which inbound numbers <span class="hint">— none ticked: every call; agents' own calls are never limited</span></legend>
    ${orgDids.map((d, i) => html`<label><input type="checkbox" id="did-${i}" name="dids" value="${d}"${picked.includes(d) ? html` checked` : ''}> Only calls and messages to ${d}</label>`)}
    ${fieldError(fe, 'dids')}
  </fieldset>`;
}
