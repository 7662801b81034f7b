/**
 * Issue #16's organisation rules on the Settings page: who may ring each inbound number (DID) — as
 * usual, or allowlist-only with the others sent to voicemail or rejected — and the pattern minimum
 * (fewest fixed digits a pattern may have). Admins (`settings`); the same RuleOperations as the API
 * (`PUT /orgs/:org/dids/:did/allowlist-only`, `PUT /orgs/:org/pattern-minimum`), which validate and
 * audit. Plain forms, POST + `_csrf`, 303 back; a refused one re-renders the page with the error at
 * its field.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { DidRule } from '../services/rule-service.js';
import type { AdminOperations, Principal } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { back, field, frameOf, sendHtml } from './page-kit.js';
import { page, type Frame } from './page-layout.js';
import { renderOrgSection } from './page-org.js';
import { renderSettings, settingsValues } from './page-views.js';
import { errorSummary, fieldError, formErrorOf, invalidAttrs, type FormError } from './panel-form-error.js';
import type { RuleOperations } from './rule-operations.js';

export interface RuleSettingsDeps {
  readonly ops: AdminOperations;
  readonly rules: RuleOperations;
  readonly ctx: DaemonContext;
}

/** What the section shows: the DIDs' modes, the minimum, and a refused form's error and typed values. */
export interface RuleSettingsView {
  readonly dids: readonly DidRule[];
  readonly minimum: { readonly minPatternDigits: number; readonly isDefault: boolean };
  /** The refused form: a DID's row (its number) or the pattern minimum. */
  readonly refused?: { readonly fe: FormError; readonly did?: string; readonly typed: string };
}

const SCREENING: Readonly<Record<string, string>> = {
  '': 'As usual: the block and allow lists',
  voicemail: 'Allowlist-only: others to voicemail',
  reject: 'Allowlist-only: others rejected',
};

/** The "others" select's value as the service's mode: '' = as usual (null). */
function othersOf(raw: string): BlockMode | null {
  if (raw === '') return null;
  if (raw !== 'voicemail' && raw !== 'reject')
    throw new CallscreenError(
      'CS_ERR_INVALID_VALUE',
      'choose as usual, voicemail or reject for the callers who are not allowed',
      { field: 'others' },
    );
  return raw;
}

/** The pattern minimum field: empty = the default, else 1–2 digits (the service checks 1–15). */
function minimumOf(raw: string): number | null {
  if (raw.trim() === '') return null;
  if (!/^\d{1,2}$/.test(raw.trim()))
    throw new CallscreenError(
      'CS_ERR_INVALID_VALUE',
      'the pattern minimum must be a number of digits from 1 to 15, or empty for the default',
      { field: 'minPatternDigits' },
    );
  return Number(raw.trim());
}

/** A DID row's error, at that row's select (ids are by position: a DID's text is not an id); the summary alone for a DID not listed. */
function rowError(dids: readonly DidRule[], did: string, fe: FormError): FormError {
  const i = dids.findIndex((d) => d.number === did);
  return { ...fe, field: i >= 0 ? `others-${i}` : null };
}

export function renderRuleSettings(f: Frame, v: RuleSettingsView): SafeHtml {
  const csrf = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;
  const r = v.refused;
  const rows = v.dids.map((d, i) => {
    const fe = r?.did === d.number ? rowError(v.dids, r.did, r.fe) : undefined;
    const chosen = fe ? (r?.typed ?? '') : (d.allowlistOnly ?? '');
    return html`<tr>
  <td data-label="Inbound number">${d.number}</td>
  <td data-label="Now">${SCREENING[d.allowlistOnly ?? ''] ?? ''}</td>
  <td data-label="Change"><form method="post" action="/settings/dids/allowlist-only" class="inline" novalidate>${csrf}<input type="hidden" name="did" value="${d.number}">
    <label for="others-${i}" class="skip">Who may ring ${d.number}</label>
    <select id="others-${i}" name="others"${invalidAttrs(fe, `others-${i}`)}>${Object.entries(SCREENING).map(([k, label]) => html`<option value="${k}"${k === chosen ? html` selected` : ''}>${label}</option>`)}</select>
    <button type="submit" class="secondary" aria-label="Save who may ring ${d.number}">Save</button>${fieldError(fe, `others-${i}`)}</form></td>
</tr>`;
  });
  const minFe = r && r.did === undefined ? r.fe : undefined;
  const minValue = minFe ? (r?.typed ?? '') : v.minimum.isDefault ? '' : String(v.minimum.minPatternDigits);
  return html`<h2 id="did-rules-h">Who may ring each inbound number</h2>
<p class="muted">An allowlist-only number rings only for allow-listed callers (for every number, or for that one) and the organisation's contacts; everyone else, unidentified callers included, goes to voicemail or is rejected. Blocks still apply first. Calls only: SMS and agents' own calls are screened as usual.</p>
${r?.did !== undefined ? errorSummary(rowError(v.dids, r.did, r.fe)) : ''}
${
  v.dids.length === 0
    ? html`<p class="empty">No inbound numbers yet: add one above.</p>`
    : html`<table class="stack"><caption class="skip">Who may ring each inbound number of ${f.org.name}</caption><thead><tr><th scope="col">Inbound number</th><th scope="col">Now</th><th scope="col">Change</th></tr></thead><tbody>${rows}</tbody></table>`
}
<h2 id="pattern-min-h">Pattern minimum</h2>
<form method="post" action="/settings/pattern-minimum" class="card" novalidate>${errorSummary(minFe)}${csrf}
  <div class="field"><label for="minPatternDigits">Fewest fixed digits a pattern must have <span class="hint">after "+"; empty = the default (6). Now ${v.minimum.minPatternDigits}${v.minimum.isDefault ? ', the default' : ''}. A "?" is not fixed: +1415555???? fixes 7</span></label>
  <input id="minPatternDigits" name="minPatternDigits" type="number" min="1" max="15" value="${minValue}"${invalidAttrs(minFe, 'minPatternDigits')}>${fieldError(minFe, 'minPatternDigits')}</div>
  <div class="field"><label for="patternNote">Note <span class="hint">optional; kept in the audit log</span></label><input id="patternNote" name="note" type="text" maxlength="1000"></div>
  <button type="submit">Save pattern minimum</button></form>`;
}

/** The section's figures, read through the same operations as the API. */
export async function ruleSettingsView(rules: RuleOperations, p: Principal, slug: string): Promise<RuleSettingsView> {
  return { dids: await rules.dids(p, slug), minimum: await rules.patternMinimum(p, slug) };
}

export function registerDidRulePages(app: FastifyInstance, deps: RuleSettingsDeps): void {
  const { ops, rules, ctx } = deps;

  /** The whole Settings page again with this section's error at its field and what was typed. */
  const again = async (
    req: FastifyRequest,
    err: unknown,
    field: 'others' | 'minPatternDigits',
    did: string | undefined,
    typed: string,
  ) => {
    // A DID row's errors (mode, the DID itself) all belong at that row's select.
    const fe = formErrorOf(
      err,
      [field],
      field === 'others' ? { mode: 'others', did: 'others' } : {},
      field === 'others' ? 'others' : null,
    );
    if (!fe) throw err;
    const { a, org, f } = await frameOf(ctx, ops, req, '/settings', 'Settings');
    const view = await ruleSettingsView(rules, a, org.slug);
    const body = html`${renderSettings(f, settingsValues(await ops.settings(a, org.slug)))}${renderOrgSection(f, await ctx.orgs.dids(org.id), { orgName: org.name, region: org.policy.region, dids: '' })}${renderRuleSettings(f, { ...view, refused: { fe, ...(did !== undefined ? { did } : {}), typed } })}`;
    return { html: page(f, body), status: fe.status };
  };

  app.post('/settings/dids/allowlist-only', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/settings', 'Settings');
    const did = field(req.body, 'did');
    const others = field(req.body, 'others');
    try {
      await rules.setAllowlistOnly(a, org.slug, did, othersOf(others), field(req.body, 'note'));
      return await back(reply, '/settings', org.slug, 'did-screening-saved');
    } catch (err) {
      const r = await again(req, err, 'others', did, others);
      return sendHtml(reply, r.html, r.status);
    }
  });

  app.post('/settings/pattern-minimum', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/settings', 'Settings');
    const typed = field(req.body, 'minPatternDigits');
    try {
      await rules.setPatternMinimum(a, org.slug, minimumOf(typed), field(req.body, 'note'));
      return await back(reply, '/settings', org.slug, 'pattern-minimum-saved');
    } catch (err) {
      const r = await again(req, err, 'minPatternDigits', undefined, typed);
      return sendHtml(reply, r.html, r.status);
    }
  });
}
