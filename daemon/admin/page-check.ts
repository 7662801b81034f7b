/**
 * "Check a caller" (issue #17): what a call or SMS from a number would get now, from the daemon's
 * own screening (the API's inbound check; the hit is not counted). A GET form, so a check is a link.
 */
import type { FastifyInstance } from 'fastify';
import type { DaemonContext } from '../daemon-context.js';
import type { AdminOperations } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { frameOf, query, sendHtml } from './page-kit.js';
import { page, type Frame } from './page-layout.js';
import { VERDICT_LABEL } from './page-calls.js';

type Check = Awaited<ReturnType<AdminOperations['checkInbound']>>;

export function renderCheck(f: Frame, number: string, channel: 'call' | 'sms', result: Check | null): SafeHtml {
  return html`<form class="search" method="get" action="/check" role="search"><input type="hidden" name="org" value="${f.org.slug}">
  <div class="field"><label for="number">Caller <span class="hint">any format; empty or "anonymous" = an unidentified caller</span></label><input id="number" name="number" type="search" inputmode="tel" maxlength="64" value="${number}"></div>
  <div class="field"><label for="channel">As</label><select id="channel" name="channel"><option value="call"${channel === 'call' ? html` selected` : ''}>a call</option><option value="sms"${channel === 'sms' ? html` selected` : ''}>an SMS</option></select></div>
  <div class="field"><button type="submit" name="go" value="1">Check</button></div></form>
${
  result
    ? html`<section class="card" aria-labelledby="verdict-h"><h2 id="verdict-h">${channel === 'sms' ? 'An SMS' : 'A call'} from ${result.normalized === 'unidentified' ? 'an unidentified caller' : result.normalized}: <span class="tag">${VERDICT_LABEL[result.action]}</span></h2>
<p role="status">${result.reason}${result.sipCode ? html` (SIP ${result.sipCode})` : ''}.</p>
<p class="muted">From the daemon's own screening, as a call would get it now; checking counts no hit on the entry.</p></section>`
    : ''
}`;
}

export function registerCheckPage(
  app: FastifyInstance,
  deps: { readonly ops: AdminOperations; readonly ctx: DaemonContext },
): void {
  const { ops, ctx } = deps;
  app.get('/check', { config: { access: 'view' } }, async (req, reply) => {
    // Reached from Recent calls (the navigation is full at 1280 px): that tab stays current.
    const { a, org, f } = await frameOf(ctx, ops, req, '/calls', 'Check a caller');
    const number = query(req, 'number').slice(0, 64);
    const channel = query(req, 'channel') === 'sms' ? 'sms' : 'call';
    const result = query(req, 'go') === '1' ? await ops.checkInbound(a, org.slug, number, channel) : null;
    return sendHtml(reply, page(f, renderCheck(f, number, channel, result)));
  });
}
