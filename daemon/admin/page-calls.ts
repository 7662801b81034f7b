/**
 * Recent calls (issue #17): every screened call and message, newest first, filtered by verdict and
 * by number (partial digits, any format), paged, with one-click "Block this caller" on calls that
 * got through. The filters are a GET form, so a filtered view is a link that can be shared.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import { VERDICT_ACTIONS, type VerdictAction } from '../core/verdict.js';
import type { DaemonContext } from '../daemon-context.js';
import type { ScreenedRow } from '../services/screen-recorder.js';
import type { AdminOperations } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { frameOf, query, sendHtml } from './page-kit.js';
import { page, when, type Frame } from './page-layout.js';
import { pager } from './page-views.js';
import { roleIn } from './user-service.js';

export const VERDICT_LABEL: Readonly<Record<VerdictAction, string>> = {
  allow: 'Allowed',
  reject: 'Rejected',
  voicemail: 'To voicemail',
  quarantine: 'Held',
  warn: 'Agent warned',
  confirm: 'Agent asked',
  deny: 'Refused',
};

/** Calls shown per page. */
const CALLS_PAGE = 25;

export interface CallFilter {
  readonly verdict: VerdictAction | '';
  readonly number: string;
}

/**
 * `scope` (issue #15): 'site' lists every node's calls of a shared store, each with its node's name;
 * 'node' this node's own — on one node (no Node column), or in a shared store while PostgreSQL is
 * away (the Node column stays, and a line says only this node's calls are listed).
 */
export function renderCallsPage(
  f: Frame,
  calls: readonly ScreenedRow[],
  filter: CallFilter,
  pageNo: number,
  size: number,
  scope: 'site' | 'node' = 'node',
): SafeHtml {
  const nodes = scope === 'site' || calls.some((c) => c.node !== undefined);
  const partial =
    nodes && scope === 'node'
      ? html`<p class="hint">The shared store cannot be reached: only the calls this node screened are listed.</p>`
      : '';
  const csrf = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;
  const filtered = filter.verdict !== '' || filter.number !== '';
  const form = html`<form class="search" method="get" action="/calls" role="search"><input type="hidden" name="org" value="${f.org.slug}">
  <div class="field"><label for="verdict">Verdict</label><select id="verdict" name="verdict"><option value="">Any</option>${VERDICT_ACTIONS.map((v) => html`<option value="${v}"${v === filter.verdict ? html` selected` : ''}>${VERDICT_LABEL[v]}</option>`)}</select></div>
  <div class="field"><label for="number">Number <span class="hint">partial, any format</span></label><input id="number" name="number" type="search" inputmode="tel" maxlength="64" value="${filter.number}"></div>
  <div class="field"><button type="submit">Filter</button></div>
  ${filtered ? html`<div class="field"><a class="button secondary" href="/calls?org=${f.org.slug}">Clear</a></div>` : ''}
  <div class="field"><a class="button secondary" href="/check?org=${f.org.slug}">Check a caller…</a></div>
</form>`;
  if (calls.length === 0) {
    return html`${form}${partial}<p class="empty">${filtered ? html`No screened calls or messages match in ${f.org.name}.` : pageNo === 1 ? html`No calls or messages screened for ${f.org.name} yet.` : html`No more calls.`}</p>${pager('/calls', f, pageNo, null, size, 0, extra(filter))}`;
  }
  // One click blocks a caller who got through: the number as screened (normalised), inbound only.
  const blockable = (c: ScreenedRow) =>
    f.perms.block &&
    roleIn(f.user, f.org.slug) !== 'agent' &&
    c.direction === 'inbound' &&
    c.action === 'allow' &&
    c.number.startsWith('+');
  return html`${form}${partial}<table class="stack"><caption class="skip">Recent calls of ${f.org.name}</caption><thead><tr><th scope="col">When</th>${nodes ? html`<th scope="col">Node</th>` : ''}<th scope="col">Type</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Verdict</th><th scope="col">Why</th><th scope="col"><span class="skip">Action</span></th></tr></thead><tbody>
${calls.map(
  (
    c,
  ) => html`<tr><td data-label="When">${when(c.at)}</td>${nodes ? html`<td data-label="Node">${c.node ?? ''}</td>` : ''}<td data-label="Type">${c.direction} ${c.channel === 'sms' ? 'SMS' : 'call'}</td>
<td data-label="From">${c.from_raw}${attestationTag(c.attestation)}</td><td data-label="To">${c.to_raw}</td><td data-label="Verdict"><span class="tag">${VERDICT_LABEL[c.action]}</span></td><td data-label="Why">${c.reason}</td>
<td data-label="Action">${blockable(c) ? html`<form class="inline" method="post" action="/calls/block">${csrf}<input type="hidden" name="number" value="${c.number}"><button type="submit" class="secondary" aria-label="Block this caller, ${c.number}">Block this caller</button></form>` : ''}</td></tr>`,
)}
</tbody></table>${pager('/calls', f, pageNo, null, size, calls.length, extra(filter))}`;
}

function extra(filter: CallFilter): Record<string, string> {
  return {
    ...(filter.verdict ? { verdict: filter.verdict } : {}),
    ...(filter.number ? { number: filter.number } : {}),
  };
}

export function registerCallsPage(
  app: FastifyInstance,
  deps: {
    readonly ops: AdminOperations;
    readonly ctx: DaemonContext;
    readonly pageParam: (req: FastifyRequest) => number;
  },
): void {
  const { ops, ctx } = deps;
  app.get('/calls', { config: { access: 'view' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/calls', 'Recent calls');
    const verdict = query(req, 'verdict');
    if (verdict !== '' && !(VERDICT_ACTIONS as readonly string[]).includes(verdict)) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `query parameter "verdict" must be one of ${VERDICT_ACTIONS.join(', ')}`,
        { field: 'verdict', in: 'querystring' },
      );
    }
    const number = query(req, 'number').slice(0, 64);
    const pageNo = deps.pageParam(req);
    const filter: CallFilter = { verdict: verdict as VerdictAction | '', number };
    const { calls, scope } = await ops.recentCalls(a, org.slug, {
      limit: CALLS_PAGE,
      offset: (pageNo - 1) * CALLS_PAGE,
      ...(filter.verdict ? { action: filter.verdict } : {}),
      ...(number ? { number } : {}),
    });
    return sendHtml(reply, page(f, renderCallsPage(f, calls, filter, pageNo, CALLS_PAGE, scope ?? 'node')));
  });
}

/** The carrier's STIR/SHAKEN verdict on a call record (screened.attestation: passed-A, failed…). */
const ATTESTATION_LABEL: Readonly<Record<string, string>> = {
  passed: 'Verified',
  failed: 'Verification failed',
  no: 'Not verified',
};

function attestationTag(attestation: string | null | undefined): SafeHtml | '' {
  if (!attestation) return '';
  const label = ATTESTATION_LABEL[attestation.split('-')[0] ?? ''] ?? attestation;
  const level = /-([ABC])$/.exec(attestation)?.[1];
  return html` <span class="tag" title="STIR/SHAKEN verification as the carrier reported it">${label}${level ? ` (${level})` : ''}</span>`;
}
