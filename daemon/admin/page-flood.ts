/**
 * The Flood page (issue #16): the org's flood and robocall detection settings (everyone who may see
 * the org reads them; admins change them or put the defaults back), and the block requests agents
 * made from their handsets (feature codes) while they may not block (admins and supervisors see
 * them; admins approve — the number is blocked as them — or decline). The same services as the API
 * (`…/flood`, `…/block-requests`), authorised by the same access rule per route; plain forms.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BLOCK_MODES } from '../core/entry.js';
import { DEFAULT_FLOOD_POLICY, FLOOD_KEYS, FLOOD_LIMITS, type FloodKey, type FloodPolicy } from '../core/flood-policy.js';
import type { DaemonContext } from '../daemon-context.js';
import type { BlockRequest } from '../services/handset-block-service.js';
import type { AdminOperations } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { back, field, frameOf, idParam, sendHtml } from './page-kit.js';
import { page, when, type Frame } from './page-layout.js';
import { MODE_LABEL } from './page-views.js';
import { errorSummary, fieldError, formErrorOf, invalidAttrs, type FormError } from './panel-form-error.js';

type NumericKey = keyof typeof FLOOD_LIMITS;

/** The numeric settings in the order the form shows them, with the words of each (units in the label). */
const NUMERIC: ReadonlyArray<readonly [NumericKey, string]> = [
  ['maxCalls', 'Hold one number calling more than this many times within the window'],
  ['windowMinutes', 'Window every count is taken over (minutes)'],
  ['didSweep', 'Hold one number calling this many different inbound numbers within the window'],
  ['prefixDigits', 'Neighbours: numbers differing only in their last N digits'],
  ['prefixMaxCalls', 'Hold the neighbours\' prefix after more than this many calls from at least two of them'],
  ['holdMinutes', 'How long a hold lasts before it expires by itself (minutes)'],
  ['neighbourMaxCalls', 'With neighbour spoofing on: hold the inbound number\'s exchange after more than this many calls from it'],
];

/** What the settings form posts, as typed. */
export type FloodFormValues = Readonly<Record<FloodKey, string>>;

function valuesOf(p: FloodPolicy): FloodFormValues {
  const out: Record<string, string> = {};
  for (const k of FLOOD_KEYS) out[k] = typeof p[k] === 'boolean' ? (p[k] ? 'on' : '') : String(p[k]);
  return out as FloodFormValues;
}

/**
 * The posted form as changes: only the settings whose value differs from the effective one, so an
 * unchanged setting stays "the default" (the API's PATCH sends only what it changes). A numeric field
 * that is not a whole number becomes NaN, which the service refuses naming the setting.
 */
function changesOf(v: FloodFormValues, now: FloodPolicy): Record<string, unknown> {
  const posted: Record<string, unknown> = {
    enabled: v.enabled === 'on', neighbour: v.neighbour === 'on', mode: v.mode,
    ...Object.fromEntries(NUMERIC.map(([k]) => [k, /^\s*\d{1,6}\s*$/.test(v[k]) ? Number(v[k]) : Number.NaN])),
  };
  return Object.fromEntries(Object.entries(posted).filter(([k, x]) => !Object.is(x, now[k as FloodKey])));
}

export function renderFlood(f: Frame, p: { effective: FloodPolicy; changes: Partial<FloodPolicy> }, v: FloodFormValues, requests: readonly BlockRequest[] | null, fe?: FormError): SafeHtml {
  const shown = (k: FloodKey): string => {
    const d = DEFAULT_FLOOD_POLICY[k];
    return typeof d === 'boolean' ? (d ? 'on' : 'off') : k === 'mode' ? MODE_LABEL[DEFAULT_FLOOD_POLICY.mode].toLowerCase() : String(d);
  };
  const changed = (k: FloodKey) => (k in p.changes ? html` <span class="tag">changed</span>` : html` <span class="hint">default ${shown(k)}</span>`);
  const csrf = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;
  const settings = f.perms.settings
    ? html`<form method="post" action="/flood" class="card" novalidate>${errorSummary(fe)}${csrf}
  <div class="field"><label><input type="checkbox" id="enabled" name="enabled" value="on"${v.enabled === 'on' ? html` checked` : ''}> Detect floods and robocalls${changed('enabled')}</label></div>
  <fieldset id="mode"><legend>What a held caller gets${changed('mode')}</legend>
    ${BLOCK_MODES.map((m) => html`<label><input type="radio" name="mode" value="${m}"${v.mode === m ? html` checked` : ''}> ${MODE_LABEL[m]}</label>`)}${fieldError(fe, 'mode')}
  </fieldset>
  ${NUMERIC.map(([k, label]) => html`<div class="field"><label for="${k}">${label}${changed(k)}</label>
    <input id="${k}" name="${k}" type="number" min="${FLOOD_LIMITS[k][0]}" max="${FLOOD_LIMITS[k][1]}" value="${v[k]}"${invalidAttrs(fe, k)}>${fieldError(fe, k)}</div>`)}
  <div class="field"><label><input type="checkbox" id="neighbour" name="neighbour" value="on"${v.neighbour === 'on' ? html` checked` : ''}> Neighbour spoofing: count callers sharing the called number's area code and exchange together (North American numbers)${changed('neighbour')}</label></div>
  <div class="actions"><button type="submit">Save flood settings</button><button type="submit" name="reset" value="yes" class="secondary">Put back the defaults</button></div>
</form>`
    : html`<table class="stack"><caption class="skip">Flood detection settings of ${f.org.name}</caption><thead><tr><th scope="col">Setting</th><th scope="col">Value</th></tr></thead><tbody>
  <tr><td data-label="Setting">Detect floods and robocalls</td><td data-label="Value">${p.effective.enabled ? 'on' : 'off'}</td></tr>
  <tr><td data-label="Setting">What a held caller gets</td><td data-label="Value">${MODE_LABEL[p.effective.mode]}</td></tr>
  ${NUMERIC.map(([k, label]) => html`<tr><td data-label="Setting">${label}</td><td data-label="Value">${p.effective[k]}</td></tr>`)}
  <tr><td data-label="Setting">Neighbour spoofing</td><td data-label="Value">${p.effective.neighbour ? 'on' : 'off'}</td></tr>
</tbody></table>`;
  const requestRows = (requests ?? []).map((r) => html`<tr>
  <td data-label="Number">${r.number}</td><td data-label="Asked by">${r.requestedBy}</td><td data-label="When">${when(r.requestedAt)}</td><td data-label="How">${r.origin}</td><td data-label="Why">${r.why}</td>
  ${f.perms.unblock ? html`<td data-label="Action"><form method="post" action="/flood/requests/${r.id}/approve" class="inline">${csrf}<button type="submit" aria-label="Approve: block ${r.number}">Block</button></form><form method="post" action="/flood/requests/${r.id}/decline" class="inline">${csrf}<button type="submit" class="secondary" aria-label="Decline the request to block ${r.number}">Decline</button></form></td>` : ''}
</tr>`);
  const requestSection = requests === null ? html`` : html`<h2 id="requests-h">Block requests from handsets</h2>
<p class="muted">Agents who may not block can still press the feature code on their phone: the number waits here for an admin.</p>
${requests.length === 0 ? html`<p class="empty">No block requests waiting.</p>` : html`<table class="stack"><caption class="skip">Block requests waiting in ${f.org.name}</caption><thead><tr><th scope="col">Number</th><th scope="col">Asked by</th><th scope="col">When</th><th scope="col">How</th><th scope="col">Why</th>${f.perms.unblock ? html`<th scope="col"><span class="skip">Action</span></th>` : ''}</tr></thead><tbody>${requestRows}</tbody></table>`}`;
  return html`<p class="muted">A number (or its neighbours) calling too often, or calling many of the inbound numbers in turn, is held by a temporary automatic rule: listed on Blocked callers as added by <em>auto</em>, expiring by itself.</p>
${settings}
${requestSection}`;
}

export function registerFloodPages(app: FastifyInstance, deps: { readonly ops: AdminOperations; readonly ctx: DaemonContext }): void {
  const { ops, ctx } = deps;
  const requestsFor = async (f: Frame) => (f.perms.audit ? ctx.handset.list(f.org.slug, 'pending') : null);

  app.get('/flood', { config: { access: 'view' } }, async (req, reply) => {
    const { org, f } = await frameOf(ctx, ops, req, '/flood', 'Flood detection');
    const p = await ctx.flood.get(org.slug);
    return sendHtml(reply, page(f, renderFlood(f, p, valuesOf(p.effective), await requestsFor(f))));
  });

  app.post('/flood', { config: { access: 'settings' } }, async (req: FastifyRequest, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/flood', 'Flood detection');
    const b = req.body;
    const v = Object.fromEntries(FLOOD_KEYS.map((k) => [k, field(b, k)])) as FloodFormValues;
    try {
      const now = await ctx.flood.get(org.slug);
      if (field(b, 'reset') === 'yes') await ctx.flood.set(org.slug, {}, a.actor, true);
      else await ctx.flood.set(org.slug, changesOf(v, now.effective), a.actor);
      return await back(reply, '/flood', org.slug, 'flood-saved');
    } catch (err) {
      const fe = formErrorOf(err, FLOOD_KEYS);
      if (!fe) throw err;
      return sendHtml(reply, page(f, renderFlood(f, await ctx.flood.get(org.slug), v, await requestsFor(f), fe)), fe.status);
    }
  });

  app.post('/flood/requests/:id/approve', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/flood', 'Flood detection');
    const r = await ctx.handset.approve(org.slug, idParam(req), a.actor);
    return back(reply, '/flood', org.slug, 'request-approved', r.entryId !== null ? { ref: r.entryId } : {});
  });

  app.post('/flood/requests/:id/decline', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/flood', 'Flood detection');
    await ctx.handset.decline(org.slug, idParam(req), a.actor, field(req.body, 'note'));
    return back(reply, '/flood', org.slug, 'request-declined');
  });
}
