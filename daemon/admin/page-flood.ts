/**
 * Flood detection and handset block requests in the panel (issue #16, the panel door of #17):
 * - `/flood`: the org's flood and robocall detection settings — everyone who may view sees them and
 *   which differ from the defaults; admins (`settings`) change them or put the defaults back. The
 *   same FloodPolicyService and the same checks as `PATCH /orgs/:org/flood` and `callscreen flood`.
 * - `/requests`: block requests made with the handset feature codes by users who may not block
 *   (`audit` to read, as the API); admins (`unblock`) approve one — the number is blocked as them —
 *   or decline it with a note. The same HandsetBlockService as the API and `callscreen requests`.
 */
import type { FastifyInstance } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import { DEFAULT_FLOOD_POLICY, FLOOD_LIMITS, type FloodPolicy } from '../core/flood-policy.js';
import type { DaemonContext } from '../daemon-context.js';
import type { OrgFloodPolicy } from '../services/flood-policy-service.js';
import type { BlockRequest } from '../services/handset-block-service.js';
import type { AdminOperations } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { back, field, frameOf, idParam, posted, query, sendHtml } from './page-kit.js';
import { page, when, type Frame } from './page-layout.js';
import { errorSummary, fieldError, formErrorOf, invalidAttrs, type FormError } from './panel-form-error.js';

type NumberKey = keyof typeof FLOOD_LIMITS;

/** The numeric settings in the order the form shows them, with their label and unit. */
const NUMBERS: ReadonlyArray<{ key: NumberKey; label: string; hint: string }> = [
  { key: 'maxCalls', label: 'Calls from one number', hint: 'more than this many within the window holds the number' },
  { key: 'windowMinutes', label: 'Window (minutes)', hint: 'every count is taken over this sliding window' },
  {
    key: 'didSweep',
    label: 'DIDs called by one number',
    hint: 'calling this many of your inbound numbers within the window holds it',
  },
  {
    key: 'prefixDigits',
    label: 'Neighbour digits',
    hint: 'numbers differing only in their last this-many digits are neighbours',
  },
  {
    key: 'prefixMaxCalls',
    label: 'Calls from neighbours',
    hint: 'more than this many from at least two neighbours holds their prefix',
  },
  { key: 'holdMinutes', label: 'Hold (minutes)', hint: 'a hold expires by itself after this long' },
  {
    key: 'neighbourMaxCalls',
    label: 'Calls sharing your exchange',
    hint: 'with neighbour spoofing on (North American numbers)',
  },
];
const FIELDS: readonly string[] = ['enabled', 'neighbour', 'mode', ...NUMBERS.map((n) => n.key)];
const STATUSES = ['pending', 'approved', 'declined', 'all'] as const;
type StatusFilter = (typeof STATUSES)[number];

/**
 * What the form posted, as the service's changes: the form shows every setting, so the stored
 * changes become exactly the values that differ from the defaults (saved with `reset`), and
 * "changed" on the page keeps meaning "not the default". A number field that is not a whole
 * number is named; the service checks the ranges.
 */
function changesOf(body: unknown): Record<string, unknown> {
  const all = postedValues(body);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) if (v !== DEFAULT_FLOOD_POLICY[k as keyof FloodPolicy]) out[k] = v;
  return out;
}

function postedValues(body: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {
    // An unticked checkbox is not posted at all; this form always shows both, so absent = off.
    enabled: posted(body, 'enabled'),
    neighbour: posted(body, 'neighbour'),
    mode: field(body, 'mode'),
  };
  for (const { key, label } of NUMBERS) {
    const raw = field(body, key).trim();
    if (!/^\d{1,6}$/.test(raw)) {
      const [min, max] = FLOOD_LIMITS[key];
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `${label} must be a whole number from ${min} to ${max}`, {
        field: key,
      });
    }
    out[key] = Number(raw);
  }
  return out;
}

export function renderFlood(
  f: Frame,
  p: OrgFloodPolicy,
  typed?: Readonly<Record<string, string>>,
  fe?: FormError,
): SafeHtml {
  const s: FloodPolicy = p.effective;
  const canEdit = f.perms.settings;
  const changed = new Set(Object.keys(p.changes));
  const value = (k: NumberKey): string => typed?.[k] ?? String(s[k]);
  const dis = canEdit ? html`` : html` disabled`;
  const def = (k: keyof FloodPolicy): SafeHtml => (changed.has(k) ? html` <span class="tag">changed</span>` : html``);
  const checked = (k: 'enabled' | 'neighbour'): SafeHtml =>
    (typed ? typed[k] === 'on' : s[k]) ? html` checked` : html``;
  const mode = typed?.mode ?? s.mode;
  return html`<p class="muted">A number calling too often, a burst from numbers next to each other, or one number calling many of your inbound numbers is held by a temporary automatic entry (source <code>auto</code>): it expires by itself, shows in Blocked callers and is audited. ${changed.size === 0 ? 'These are the defaults.' : html`<strong>${changed.size}</strong> ${changed.size === 1 ? 'setting differs' : 'settings differ'} from the defaults.`}</p>
<form method="post" action="/flood" class="card" novalidate>${errorSummary(fe)}
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">
  <fieldset><legend>Detection</legend>
    <label><input type="checkbox" name="enabled" value="on"${checked('enabled')}${dis}> Detect floods and robocalls${def('enabled')}</label>
    <label><input type="checkbox" name="neighbour" value="on"${checked('neighbour')}${dis}> Neighbour spoofing: count callers sharing the called number's area code and exchange together${def('neighbour')}</label>
  </fieldset>
  <div class="field"><label for="mode">A held caller is${def('mode')}</label><select id="mode" name="mode"${invalidAttrs(fe, 'mode')}${dis}>
    <option value="voicemail"${mode === 'voicemail' ? html` selected` : ''}>sent to voicemail</option>
    <option value="reject"${mode === 'reject' ? html` selected` : ''}>rejected</option>
  </select>${fieldError(fe, 'mode')}</div>
  ${NUMBERS.map(({ key, label, hint }) => html`<div class="field"><label for="${key}">${label}${def(key)} <span class="hint">${hint}; default ${DEFAULT_FLOOD_POLICY[key]}</span></label><input id="${key}" name="${key}" type="number" inputmode="numeric" min="${FLOOD_LIMITS[key][0]}" max="${FLOOD_LIMITS[key][1]}" value="${value(key)}"${invalidAttrs(fe, key)}${dis}>${fieldError(fe, key)}</div>`)}
  ${canEdit ? html`<div class="actions"><button type="submit">Save</button></div>` : html`<p class="hint">Only an admin of ${f.org.name} can change these.</p>`}
</form>
${canEdit && changed.size > 0 ? html`<form method="post" action="/flood/reset" class="inline" data-confirm="Put every flood setting of ${f.org.name} back to its default?"><input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}"><button type="submit" class="secondary">Back to the defaults</button></form>` : ''}`;
}

export function renderRequests(f: Frame, list: readonly BlockRequest[], status: StatusFilter): SafeHtml {
  const canDecide = f.perms.unblock;
  const hidden = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;
  const rows = list.map(
    (r) => html`<tr>
  <td data-label="Number">${r.number}</td>
  <td data-label="Asked by">${r.requestedBy} <span class="hint">${r.origin}</span></td>
  <td data-label="When">${when(r.requestedAt)}</td>
  <td data-label="Why">${r.why}</td>
  <td data-label="Status">${r.status}${r.decidedBy !== null ? html` <span class="hint">by ${r.decidedBy} ${when(r.decidedAt)}</span>` : ''}</td>
  <td data-label="Action">${
    canDecide && r.status === 'pending'
      ? html`<form method="post" action="/requests/${r.id}/approve" class="inline">${hidden}<button type="submit" aria-label="Block ${r.number}">Block</button></form>
    <form method="post" action="/requests/${r.id}/decline" class="inline">${hidden}<label class="skip" for="note-${r.id}">Note for declining ${r.number}</label><input id="note-${r.id}" name="note" type="text" size="12" maxlength="1000" placeholder="note (optional)"><button type="submit" class="secondary" aria-label="Decline ${r.number}">Decline</button></form>`
      : ''
  }</td>
</tr>`,
  );
  return html`<p class="muted">Numbers agents asked to block from their phones (feature codes) where they may not block themselves. Blocking one blocks it as you; declining leaves it unblocked. Both are audited.</p>
<form method="get" action="/requests" class="search"><input type="hidden" name="org" value="${f.org.slug}">
  <div class="field"><label for="status">Show</label><select id="status" name="status">${STATUSES.map((s) => html`<option value="${s}"${s === status ? html` selected` : ''}>${s}</option>`)}</select></div>
  <button type="submit" class="secondary">Show</button></form>
${
  list.length === 0
    ? html`<p class="empty">No ${status === 'all' ? '' : `${status} `}block requests in ${f.org.name}.</p>`
    : html`<table class="stack"><caption class="skip">Block requests of ${f.org.name}</caption><thead><tr><th scope="col">Number</th><th scope="col">Asked by</th><th scope="col">When</th><th scope="col">Why</th><th scope="col">Status</th><th scope="col">Action</th></tr></thead><tbody>${rows}</tbody></table>`
}`;
}

function statusOf(raw: string): StatusFilter {
  if (raw === '') return 'pending';
  if (!(STATUSES as readonly string[]).includes(raw)) {
    throw new CallscreenError(
      'CS_ERR_INVALID_VALUE',
      `query parameter "status" must be one of ${STATUSES.join(', ')}`,
      { field: 'status', in: 'querystring' },
    );
  }
  return raw as StatusFilter;
}

export function registerFloodPages(
  app: FastifyInstance,
  deps: { readonly ops: AdminOperations; readonly ctx: DaemonContext },
): void {
  const { ops, ctx } = deps;

  app.get('/flood', { config: { access: 'view' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/flood', 'Flood detection');
    return sendHtml(reply, page(f, renderFlood(f, await ops.floodSettings(a, org.slug))));
  });

  app.post('/flood', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/flood', 'Flood detection');
    try {
      await ops.setFlood(a, org.slug, changesOf(req.body), true);
      return await back(reply, '/flood', org.slug, 'settings-saved');
    } catch (err) {
      const fe = formErrorOf(err, FIELDS);
      if (!fe) throw err;
      const typed: Record<string, string> = {};
      for (const k of FIELDS) typed[k] = field(req.body, k);
      return sendHtml(reply, page(f, renderFlood(f, await ops.floodSettings(a, org.slug), typed, fe)), fe.status);
    }
  });

  app.post('/flood/reset', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/flood', 'Flood detection');
    await ops.setFlood(a, org.slug, {}, true);
    return back(reply, '/flood', org.slug, 'settings-saved');
  });

  app.get('/requests', { config: { access: 'audit' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/requests', 'Block requests');
    const status = statusOf(query(req, 'status'));
    return sendHtml(reply, page(f, renderRequests(f, await ops.blockRequests(a, org.slug, status), status)));
  });

  app.post('/requests/:id/approve', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/requests', 'Block requests');
    const r = await ops.approveBlockRequest(a, org.slug, idParam(req));
    return back(reply, '/requests', org.slug, 'blocked', r.entryId !== null ? { ref: r.entryId } : {});
  });

  app.post('/requests/:id/decline', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/requests', 'Block requests');
    await ops.declineBlockRequest(a, org.slug, idParam(req), field(req.body, 'note'));
    return back(reply, '/requests', org.slug, 'request-declined');
  });
}
