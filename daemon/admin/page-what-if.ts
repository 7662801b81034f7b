/**
 * The what-if figures on the panel's Block and Allow forms (issue #16): a preview ("Preview what it
 * would have done", saves nothing) and, for a broad entry, the confirm step — the same figures with
 * a "Save anyway" button that posts the form again with `confirm=yes`. Rendered inside the form so
 * the button submits what was typed; no script.
 */
import { CallscreenError } from '../core/errors.js';
import type { WhatIfReport } from '../services/what-if.js';
import { html, type SafeHtml } from './html-escape.js';

const ACTION_WORDS: Readonly<Record<string, string>> = {
  allow: 'let through',
  reject: 'rejected',
  voicemail: 'sent to voicemail',
  quarantine: 'held',
  warn: 'agent warned',
  confirm: 'agent asked to confirm',
  deny: "agent's call refused",
};

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `mode`: preview (figures only) or confirm (figures, why it is broad, and the Save anyway button). */
export function renderWhatIf(r: WhatIfReport, mode: 'preview' | 'confirm'): SafeHtml {
  const c = r.changed;
  const transitions = Object.entries(r.transitions).map(([k, n]) => {
    const [from = '', to = ''] = k.split('→');
    return html`<li>${plural(n, 'record')}: ${ACTION_WORDS[from] ?? from} → <strong>${ACTION_WORDS[to] ?? to}</strong></li>`;
  });
  const examples = r.examples.map(
    (e) =>
      html`<tr><td data-label="Number">${e.number}</td><td data-label="Records">${e.calls}</td><td data-label="Was">${ACTION_WORDS[e.before] ?? e.before}</td><td data-label="Would be">${ACTION_WORDS[e.after] ?? e.after}</td><td data-label="Note">${[e.calledBack ? 'called back by an agent' : '', e.contact ? 'a contact' : ''].filter(Boolean).join(', ')}</td></tr>`,
  );
  return html`<section class="card what-if" aria-labelledby="what-if-title"${mode === 'confirm' ? html` role="alert"` : ''}>
  <h2 id="what-if-title">${mode === 'confirm' ? 'This entry is broad: confirm it' : 'What it would have done'} <span class="hint">— last ${r.days} days, nothing saved</span></h2>
  <ul class="figures">
    <li><strong>${plural(c.calls, 'call or message', 'calls and messages')}</strong> of ${r.replayed.calls} would have been handled differently (${c.inboundCalls} inbound calls, ${c.inboundSms} inbound SMS, ${c.outbound} agents' own)</li>
    <li><strong>${plural(c.numbers, 'number')}</strong> affected; agents called ${c.calledBack} of them back; ${plural(c.contacts, 'is a contact', 'are contacts')}</li>
    <li>${plural(r.matched.calls, 'record')} would have been decided by this entry</li>
  </ul>
  ${transitions.length > 0 ? html`<ul>${transitions}</ul>` : html`<p class="muted">No recorded call or message would have been handled differently.</p>`}
  ${examples.length > 0 ? html`<table class="stack"><caption class="skip">Numbers most affected</caption><thead><tr><th scope="col">Number</th><th scope="col">Records</th><th scope="col">Was</th><th scope="col">Would be</th><th scope="col">Note</th></tr></thead><tbody>${examples}</tbody></table>` : ''}
  ${r.broad ? html`<p><strong>Broad:</strong> ${r.broadBecause.join('; ')}.</p>` : html`<p class="muted">Not broad: saving it needs no confirmation.</p>`}
  ${mode === 'confirm' ? html`<div class="actions"><button type="submit" name="confirm" value="yes" class="danger">Save anyway</button></div>` : ''}
</section>`;
}

/** The form's buttons: save first (Enter in a field saves), then the preview. */
export function whatIfButtons(saveLabel: string): SafeHtml {
  return html`<div class="actions"><button type="submit">${saveLabel}</button><button type="submit" name="whatIf" value="1" class="secondary">Preview what it would have done</button></div>`;
}

/** The confirm step for a refused broad entry (CS_ERR_CONFIRM_REQUIRED carries the report), else undefined. */
export function confirmStepOf(err: unknown): SafeHtml | undefined {
  if (!(err instanceof CallscreenError) || err.code !== 'CS_ERR_CONFIRM_REQUIRED') return undefined;
  const report = err.details.whatIf as WhatIfReport | undefined;
  return report ? renderWhatIf(report, 'confirm') : undefined;
}
