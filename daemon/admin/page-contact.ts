/**
 * One contact's page (issue #17): its numbers, with Remove on each and a form to add more. A block
 * on the contact follows: added numbers are blocked at once; removing a number of a blocked contact
 * unblocks that number, so it needs `unblock` too (admins), as in the API.
 */
import type { FastifyInstance } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { Contact } from '../services/contact-service.js';
import type { AdminOperations } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { back, field, frameOf, idParam, sendHtml } from './page-kit.js';
import { page, type Frame } from './page-layout.js';
import { errorSummary, fieldError, formErrorOf, invalidAttrs, type FormError } from './panel-form-error.js';

export function renderContact(f: Frame, c: Contact, typed: string, fe?: FormError): SafeHtml {
  const csrf = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;
  const mayRemove = f.perms.contacts && (!c.blocked || f.perms.unblock);
  return html`<p>${c.blocked ? html`<span class="tag">Blocked</span> Every number of ${c.name} is blocked, including numbers added later.` : html`${c.name} is not blocked.`} <a href="/contacts?org=${f.org.slug}">All contacts</a></p>
<h2>Numbers</h2>
${c.numbers.length === 0 ? html`<p class="empty">${c.name} has no numbers.</p>` : html`<ul class="plain">${c.numbers.map((n) => html`<li>${n}${mayRemove ? html` <form class="inline" method="post" action="/contacts/${c.id}/numbers/remove"${c.blocked ? html` data-confirm="Remove ${n} from ${c.name}? It is no longer blocked with them."` : ''}>${csrf}<input type="hidden" name="numbers" value="${n}"><button type="submit" class="secondary" aria-label="Remove ${n}">Remove</button></form>` : ''}</li>`)}</ul>`}
${c.blocked && f.perms.contacts && !f.perms.unblock ? html`<p class="muted">Only admins remove numbers from a blocked contact (it unblocks them).</p>` : ''}
${
  f.perms.contacts
    ? html`<form method="post" action="/contacts/${c.id}/numbers" class="card" novalidate>${errorSummary(fe)}${csrf}
  <div class="field"><label for="numbers">Add numbers <span class="hint">one per line or comma-separated, any format${c.blocked ? '; blocked at once' : ''}</span></label><textarea id="numbers" name="numbers" rows="2"${invalidAttrs(fe, 'numbers')}>${typed}</textarea>${fieldError(fe, 'numbers')}</div>
  <button type="submit">Add numbers</button></form>`
    : ''
}`;
}

export function registerContactPages(
  app: FastifyInstance,
  deps: { readonly ops: AdminOperations; readonly ctx: DaemonContext },
): void {
  const { ops, ctx } = deps;
  const numbersOf = (raw: string) =>
    raw
      .split(/[\n,;]+/)
      .map((s) => s.trim())
      .filter(Boolean);

  app.get('/contacts/:id', { config: { access: 'view' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/contacts', 'Contact');
    const c = await ops.contact(a, org.slug, idParam(req));
    return sendHtml(reply, page({ ...f, title: `Contact ${c.name}` }, renderContact(f, c, '')));
  });

  app.post('/contacts/:id/numbers', { config: { access: 'contacts' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/contacts', 'Contact');
    const typed = field(req.body, 'numbers');
    try {
      const numbers = numbersOf(typed);
      if (numbers.length === 0)
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'type at least one number', { field: 'numbers' });
      const before = (await ops.contact(a, org.slug, idParam(req))).numbers.length;
      const c = await ops.addContactNumbers(a, org.slug, idParam(req), numbers);
      return await back(reply, `/contacts/${c.id}`, org.slug, 'numbers-added', {
        ref: c.id,
        count: c.numbers.length - before,
      });
    } catch (err) {
      const fe = formErrorOf(err, ['numbers'], {}, 'numbers');
      if (!fe) throw err;
      const c = await ops.contact(a, org.slug, idParam(req));
      return sendHtml(reply, page({ ...f, title: `Contact ${c.name}` }, renderContact(f, c, typed, fe)), fe.status);
    }
  });

  app.post('/contacts/:id/numbers/remove', { config: { access: 'contacts' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/contacts', 'Contact');
    const numbers = numbersOf(field(req.body, 'numbers'));
    const c = await ops.removeContactNumbers(a, org.slug, idParam(req), numbers, field(req.body, 'note'));
    return back(reply, `/contacts/${c.id}`, org.slug, 'numbers-removed', { ref: c.id, count: numbers.length });
  });
}
