/**
 * The server-rendered panel. Pages read through AdminOperations (the same calls as the JSON API)
 * and change things with plain HTML forms (POST + `_csrf` field, then a 303 redirect back), so
 * every page works with the keyboard and without script. Every user-supplied string is rendered
 * through the `html` template (escaped).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { IdentityAction, OutboundPolicy, RejectCode } from '../core/org-policy.js';
import type { DaemonContext } from '../daemon-context.js';
import type { AdminOperations, BlockKind } from './admin-operations.js';
import { html } from './html-escape.js';
import { PANEL_CSS, PANEL_JS } from './panel-assets.js';
import { document, page, when } from './page-layout.js';
import { checkSameOrigin, type RequestAuth } from './request-auth.js';
import { installAccess, principalOf, type RouteAccess } from './access-hook.js';
import { renderAccount } from './account-page.js';
import { highestRole, type Role, type UserService } from './user-service.js';
import type { SignInService } from './sign-in-service.js';
import {
  CONTACT_FIELDS,
  describeEntry,
  pager,
  renderAudit,
  renderBlocked,
  renderContacts,
  renderDashboard,
  renderQuarantine,
  renderSettings,
  SETTINGS_FIELDS,
  settingsValues,
  type SettingsFormValues,
} from './page-views.js';
import { BLOCK_FIELDS, renderBlockForm, type BlockFormValues } from './page-block-form.js';
import { ALLOW_FIELDS, EMPTY_ALLOW_FORM, renderAllowed, type AllowFormValues } from './page-allowed.js';
import { formErrorOf } from './panel-form-error.js';
import type { DoorApiDeps } from './api-door-routes.js';
import { registerEntryEditPages } from './page-entry-edit.js';
import { registerBulkPages } from './page-bulk.js';
import { registerCallsPage } from './page-calls.js';
import { registerTransferPages } from './page-transfer.js';
import { registerUserPages } from './page-users.js';
import { registerOrgPages, renderOrgSection } from './page-org.js';
import { registerFloodPages } from './page-flood.js';
import { registerContactPages } from './page-contact.js';
import { registerCheckPage } from './page-check.js';
import { confirmStepOf, renderWhatIf } from './page-what-if.js';
import { registerStalePages } from './page-stale.js';
import { back, field, fields, frameOf, sendHtml } from './page-kit.js';
import { registerDidRulePages, renderRuleSettings, ruleSettingsView } from './page-did-rules.js';
import type { RuleOperations } from './rule-operations.js';

export interface PageDeps extends DoorApiDeps {
  readonly ops: AdminOperations;
  readonly auth: RequestAuth;
  readonly signIn: SignInService;
  readonly ctx: DaemonContext;
  readonly users: UserService;
  /** Issue #16's rule operations (the API's): allowlist-only DIDs, the pattern minimum. */
  readonly rules: RuleOperations;
  /** Filled with each route's access rule. */
  readonly routes: RouteAccess[];
}

export const PAGE_SIZE = 25;
/** Held messages per page of Quarantined messages (grouped by sender within the page). */
export const QUARANTINE_PAGE = 50;

function q(req: FastifyRequest, key: string): string {
  const v = (req.query as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : '';
}

function idParam(req: FastifyRequest): number {
  const n = Number((req.params as { id: string }).id);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new CallscreenError('CS_ERR_INVALID_VALUE', 'id must be a positive integer', { field: 'id' });
  return n;
}

/**
 * Only local paths: `next` must not send a user to another site after sign-in. A browser drops
 * tabs and newlines from URLs (so `/<TAB>/evil.example` becomes `//evil.example`) and reads `\`
 * as `/`, so any control character, a backslash, or a second leading slash sends home instead.
 */
export function safeNext(next: string): string {
  // eslint-disable-next-line no-control-regex
  if (!next.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(next) || next.startsWith('//')) return '/';
  return next;
}

/** The settings form's prefix minimum: empty = the default (null), else whole digits. */
function minDigitsField(raw: string): number | null {
  if (raw.trim() === '') return null;
  if (!/^\d{1,2}$/.test(raw.trim()))
    throw new CallscreenError(
      'CS_ERR_INVALID_VALUE',
      'form field "supervisorMinPrefixDigits" must be a number of digits, or empty for the default',
      { field: 'supervisorMinPrefixDigits' },
    );
  return Number(raw.trim());
}

/** `page=` of a paged list: 1…100000, else a 400 naming the parameter (never a database error). */
export function pageParam(req: FastifyRequest): number {
  const raw = q(req, 'page');
  if (raw === '') return 1;
  if (!/^[1-9]\d{0,5}$/.test(raw))
    throw new CallscreenError('CS_ERR_INVALID_VALUE', 'query parameter "page" must be a page number from 1 to 100000', {
      field: 'page',
      in: 'querystring',
    });
  return Number(raw);
}

export function renderErrorPage(status: number, message: string): string {
  return document(
    `Error ${status}`,
    html`<main id="content" class="signin"><h1>Something went wrong</h1>
<p class="error" role="alert">${message}</p><p>Status ${status}. <a href="/">Back to the panel</a></p></main>`,
  );
}

function signInPage(next: string, error = ''): string {
  return document(
    'Sign in',
    html`<main id="content" class="signin"><h1>Sign in to callscreen</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/signin">
  <input type="hidden" name="next" value="${next}">
  <div class="field"><label for="name">User name</label><input id="name" name="name" type="text" autocomplete="username" required autofocus></div>
  <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
  <button type="submit">Sign in</button>
</form></main>`,
  );
}

export function registerPageRoutes(app: FastifyInstance, deps: PageDeps): void {
  const { ops, auth, signIn } = deps;
  installAccess(app, auth, deps.ctx.orgs, deps.routes);

  /** The page frame (page-kit.ts): one for every page, with the notice and the read-only banner. */
  const frame = (req: FastifyRequest, path: string, title: string) => frameOf(deps.ctx, ops, req, path, title);

  registerStalePages(app, { ops, frame, sendHtml, back });

  app.get('/assets/panel.css', { config: { access: 'public' } }, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(PANEL_CSS),
  );
  app.get('/assets/panel.js', { config: { access: 'public' } }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=3600').send(PANEL_JS),
  );

  // Browsers ask for it on every page; an empty answer keeps logs and consoles free of 404s.
  app.get('/favicon.ico', { config: { access: 'public' } }, async (_req, reply) =>
    reply.code(204).header('cache-control', 'max-age=86400').send(),
  );
  app.get('/signin', { config: { access: 'public' } }, async (req, reply) =>
    sendHtml(reply, signInPage(safeNext(q(req, 'next') || '/'))),
  );
  app.post('/signin', { config: { access: 'public' } }, async (req, reply) => {
    const next = safeNext(field(req.body, 'next') || '/');
    // Login CSRF: a form on another site must not sign this browser in (as the attacker).
    checkSameOrigin(req);
    try {
      const user = await signIn.check(field(req.body, 'name'), field(req.body, 'password'), req.ip);
      await auth.startSession(req, reply, user);
      return await reply.redirect(next, 303);
    } catch (err) {
      if (
        err instanceof CallscreenError &&
        (err.code === 'CS_ERR_UNAUTHENTICATED' || err.code === 'CS_ERR_THROTTLED')
      ) {
        const retry = err.details.retryAfterSeconds;
        if (typeof retry === 'number') reply.header('retry-after', String(retry));
        return sendHtml(reply, signInPage(next, err.message), err.httpStatus);
      }
      throw err;
    }
  });
  app.post('/signout', { config: { access: 'signed-in' } }, async (req, reply) => {
    await auth.endSession(req, reply);
    return reply.redirect('/signin', 303);
  });
  app.get('/', { config: { access: 'signed-in' } }, async (req, reply) => {
    const a = principalOf(req);
    return reply.redirect(`/blocked?org=${encodeURIComponent(a.user.orgs[0] ?? '')}`, 303);
  });

  // Seed 000: Blocked callers — search, organisation picker, Caller ID / Blocked By / Blocked On, Unblock.
  app.get('/blocked', { config: { access: 'view' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/blocked', 'Blocked callers');
    const search = q(req, 'search');
    const pageNo = pageParam(req);
    const list = await ops.listEntries(a, org.slug, { search, limit: PAGE_SIZE, offset: (pageNo - 1) * PAGE_SIZE });
    return sendHtml(reply, page(f, renderBlocked(f, list, search, pageNo, PAGE_SIZE)));
  });

  app.get('/blocked/:id/unblock', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/blocked', 'Unblock caller');
    const e = await ops.entry(a, org.slug, idParam(req));
    const contact = e.kind === 'contact' && e.contactId !== null ? await ops.contact(a, org.slug, e.contactId) : null;
    return sendHtml(
      reply,
      page(
        f,
        html`<div class="card">
<p>Unblock <strong>${describeEntry(e, contact)}</strong> in <strong>${org.name}</strong>?</p>
<p>Blocked by <strong>${e.createdBy}</strong> on <strong>${when(e.createdAt)}</strong>${e.reason ? html` — reason: “${e.reason}”` : ''}.</p>
<p class="muted">After unblocking, the number can call and text ${org.name} again. Check the number is not also blocked by your carrier or phones.</p>
<form method="post" action="/blocked/${e.id}/unblock">
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${org.slug}">
  <div class="field"><label for="note">Note (why; kept in the audit log)</label><textarea id="note" name="note" rows="2" maxlength="1000"></textarea></div>
  <div class="actions"><button type="submit" class="danger">Confirm unblock</button><a class="button secondary" href="/blocked?org=${org.slug}">Cancel</a></div>
</form></div>`,
      ),
    );
  });

  app.post('/blocked/:id/unblock', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/blocked', 'Unblock caller');
    const e = await ops.unblock(a, org.slug, idParam(req), field(req.body, 'note'));
    return back(reply, '/blocked', org.slug, 'unblocked', { ref: e.id });
  });

  // Seed 001: Block — number, prefix, contact or unidentified; the two modes in the seed's words.
  app.get('/block', { config: { access: 'block' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/block', 'Block');
    const contacts = await ops.contacts(a, org.slug);
    // Links pre-fill the form: ?kind=contact&contact=ID, ?number=… (from Recent calls or a search).
    const values: BlockFormValues = {
      kind: q(req, 'kind') || 'number',
      number: q(req, 'number'),
      prefix: q(req, 'prefix'),
      pattern: q(req, 'pattern'),
      contactId: q(req, 'contact'),
      mode: '',
      name: '',
      reason: '',
      expires: '',
    };
    return sendHtml(
      reply,
      page(f, renderBlockForm(f, contacts, values, undefined, undefined, await deps.ctx.orgs.dids(org.id))),
    );
  });

  app.post('/block', { config: { access: 'block' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/block', 'Block');
    const b = req.body;
    const v: BlockFormValues = {
      kind: field(b, 'kind'),
      number: field(b, 'number'),
      prefix: field(b, 'prefix'),
      pattern: field(b, 'pattern'),
      contactId: field(b, 'contactId'),
      mode: field(b, 'mode'),
      name: field(b, 'name'),
      reason: field(b, 'reason'),
      expires: field(b, 'expires'),
      dids: fields(b, 'dids'),
      observe: field(b, 'observe') === 'on',
    };
    const kind = v.kind as BlockKind;
    const orgDids = await deps.ctx.orgs.dids(org.id);
    try {
      if (kind === 'contact' && v.contactId !== '' && !/^\d{1,15}$/.test(v.contactId)) {
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'choose a contact from the list', { field: 'contactId' });
      }
      // Only the chosen kind's field is read: the fieldsets of the other kinds may still hold text
      // (hidden by the stylesheet, or all shown in a browser without :has()).
      const input = {
        kind,
        ...(kind === 'number' ? { number: v.number } : {}),
        ...(kind === 'prefix' ? { prefix: v.prefix } : {}),
        ...(kind === 'pattern' ? { pattern: v.pattern } : {}),
        ...(kind === 'contact' && v.contactId !== '' ? { contactId: Number(v.contactId) } : {}),
        ...(v.mode ? { mode: v.mode as BlockMode } : {}),
        name: v.name,
        reason: v.reason,
        expires: v.expires || null,
        // Issue #16: none ticked = every call (as the API's absent `dids`); observe as `observe: true`.
        ...(v.dids && v.dids.length > 0 ? { dids: v.dids } : {}),
        ...(v.observe === true ? { observe: true } : {}),
      };
      // "Preview what it would have done" (what-if, issue #16): the figures, nothing saved.
      if (field(b, 'whatIf') !== '') {
        const report = await ops.whatIf(a, org.slug, { ...input, list: 'block' });
        return await sendHtml(
          reply,
          page(
            f,
            renderBlockForm(f, await ops.contacts(a, org.slug), v, undefined, renderWhatIf(report, 'preview'), orgDids),
          ),
        );
      }
      const e = await ops.block(a, org.slug, { ...input, confirm: field(b, 'confirm') === 'yes' });
      return await back(reply, '/blocked', org.slug, 'blocked', { ref: e.id });
    } catch (err) {
      const fe = formErrorOf(
        err,
        BLOCK_FIELDS,
        { contact: 'contactId', contactId: 'contactId' },
        kind === 'prefix' || kind === 'pattern' || kind === 'number' ? kind : null,
      );
      if (!fe) throw err;
      return sendHtml(
        reply,
        page(f, renderBlockForm(f, await ops.contacts(a, org.slug), v, fe, confirmStepOf(err), orgDids)),
        fe.status,
      );
    }
  });

  // The allow list: numbers and prefixes that always get through; admins add and remove.
  app.get('/allowed', { config: { access: 'view' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/allowed', 'Allowed callers');
    const pageNo = pageParam(req);
    const list = await ops.listEntries(a, org.slug, {
      list: 'allow',
      limit: PAGE_SIZE,
      offset: (pageNo - 1) * PAGE_SIZE,
    });
    return sendHtml(
      reply,
      page(
        f,
        renderAllowed(
          f,
          list,
          pageNo,
          PAGE_SIZE,
          EMPTY_ALLOW_FORM,
          undefined,
          undefined,
          await deps.ctx.orgs.dids(org.id),
        ),
      ),
    );
  });

  app.post('/allowed', { config: { access: 'allow' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/allowed', 'Allowed callers');
    const b = req.body;
    const v: AllowFormValues = {
      kind: field(b, 'kind'),
      number: field(b, 'number'),
      prefix: field(b, 'prefix'),
      pattern: field(b, 'pattern'),
      name: field(b, 'name'),
      reason: field(b, 'reason'),
      expires: field(b, 'expires'),
      dids: fields(b, 'dids'),
      attested: field(b, 'attested') === 'on',
    };
    const orgDids = await deps.ctx.orgs.dids(org.id);
    try {
      if (v.kind !== 'number' && v.kind !== 'prefix' && v.kind !== 'pattern')
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'choose a phone number, a prefix or a pattern to allow', {
          field: 'kind',
        });
      const input = {
        kind: v.kind as BlockKind,
        ...(v.kind === 'number'
          ? { number: v.number }
          : v.kind === 'prefix'
            ? { prefix: v.prefix }
            : { pattern: v.pattern }),
        name: v.name,
        reason: v.reason,
        expires: v.expires || null,
        ...(v.dids && v.dids.length > 0 ? { dids: v.dids } : {}),
        ...(v.attested === true ? { requireAttestation: true } : {}),
      };
      if (field(b, 'whatIf') !== '') {
        const report = await ops.whatIf(a, org.slug, { ...input, list: 'allow' });
        const list = await ops.listEntries(a, org.slug, { list: 'allow', limit: PAGE_SIZE, offset: 0 });
        return await sendHtml(
          reply,
          page(f, renderAllowed(f, list, 1, PAGE_SIZE, v, undefined, renderWhatIf(report, 'preview'), orgDids)),
        );
      }
      const e = await ops.allow(a, org.slug, { ...input, confirm: field(b, 'confirm') === 'yes' });
      return await back(reply, '/allowed', org.slug, 'allowed', { ref: e.id });
    } catch (err) {
      const fe = formErrorOf(err, ALLOW_FIELDS, {}, v.kind === 'prefix' || v.kind === 'pattern' ? v.kind : 'number');
      if (!fe) throw err;
      const list = await ops.listEntries(a, org.slug, { list: 'allow', limit: PAGE_SIZE, offset: 0 });
      return sendHtml(
        reply,
        page(f, renderAllowed(f, list, 1, PAGE_SIZE, v, fe, confirmStepOf(err), orgDids)),
        fe.status,
      );
    }
  });

  app.post('/allowed/:id/remove', { config: { access: 'allow' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/allowed', 'Allowed callers');
    const e = await ops.disallow(a, org.slug, idParam(req), field(req.body, 'note'));
    return back(reply, '/allowed', org.slug, 'disallowed', { ref: e.id });
  });

  // Seed 002: contacts, with Block / Unblock on each.
  app.get('/contacts', { config: { access: 'view' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/contacts', 'Contacts');
    const search = q(req, 'search');
    return sendHtml(reply, page(f, renderContacts(f, await ops.contacts(a, org.slug, search), search)));
  });

  app.post('/contacts', { config: { access: 'contacts' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/contacts', 'Contacts');
    const typed = { name: field(req.body, 'name'), numbers: field(req.body, 'numbers') };
    const numbers = typed.numbers
      .split(/[\n,;]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    try {
      const c = await ops.addContact(a, org.slug, typed.name, numbers);
      return await back(reply, '/contacts', org.slug, 'contact-added', { ref: c.id });
    } catch (err) {
      const fe = formErrorOf(err, CONTACT_FIELDS, { name: 'cname', numbers: 'cnumbers' }, 'cnumbers');
      if (!fe) throw err;
      return sendHtml(reply, page(f, renderContacts(f, await ops.contacts(a, org.slug), '', typed, fe)), fe.status);
    }
  });

  app.post('/contacts/:id/block', { config: { access: 'block' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/contacts', 'Contacts');
    const c = await ops.contact(a, org.slug, idParam(req));
    const mode = field(req.body, 'mode');
    try {
      await ops.block(a, org.slug, {
        kind: 'contact',
        contactId: c.id,
        name: c.name,
        reason: field(req.body, 'reason'),
        ...(mode ? { mode: mode as BlockMode } : {}),
      });
    } catch (err) {
      // A broad block (what-if, issue #16) is confirmed on the Block form, filled in with this contact.
      const step = confirmStepOf(err);
      if (!step) throw err;
      const { f } = await frame(req, '/block', 'Block');
      const v = {
        kind: 'contact',
        number: '',
        prefix: '',
        contactId: String(c.id),
        mode,
        name: c.name,
        reason: field(req.body, 'reason'),
        expires: '',
      };
      return sendHtml(
        reply,
        page(
          f,
          renderBlockForm(f, await ops.contacts(a, org.slug), v, formErrorOf(err, BLOCK_FIELDS) ?? undefined, step),
        ),
        409,
      );
    }
    return back(
      reply,
      field(req.body, 'return') === 'quarantine' ? '/quarantine' : '/contacts',
      org.slug,
      'contact-blocked',
      { ref: c.id },
    );
  });

  app.get('/contacts/:id/unblock', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/contacts', 'Unblock contact');
    const c = await ops.contact(a, org.slug, idParam(req));
    const held = await ops.quarantine(a, org.slug, { contactId: c.id });
    return sendHtml(
      reply,
      page(
        f,
        html`<div class="card">
<p>Unblock contact <strong>${c.name}</strong> (${c.numbers.join(', ')})?</p>
<form method="post" action="/contacts/${c.id}/unblock">
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${org.slug}">
  <fieldset><legend>${held.total} held message${held.total === 1 ? '' : 's'} from this contact</legend>
    <label><input type="radio" name="messages" value="release" checked> Release all — deliver them to the agents now</label>
    <label><input type="radio" name="messages" value="delete"> Delete all — remove them from the system and database</label>
  </fieldset>
  <div class="field"><label for="note">Note (kept in the audit log)</label><textarea id="note" name="note" rows="2" maxlength="1000"></textarea></div>
  <div class="actions"><button type="submit" class="danger">Confirm unblock</button><a class="button secondary" href="/quarantine?org=${org.slug}">Cancel</a></div>
</form></div>`,
      ),
    );
  });

  app.post('/contacts/:id/unblock', { config: { access: 'unblock' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/contacts', 'Unblock contact');
    const messages = field(req.body, 'messages') === 'delete' ? 'delete' : 'release';
    const r = await ops.unblockContact(a, org.slug, idParam(req), messages, field(req.body, 'note'));
    return back(
      reply,
      '/quarantine',
      org.slug,
      messages === 'release' ? 'contact-unblocked-released' : 'contact-unblocked-deleted',
      { ref: idParam(req), count: r.settled },
    );
  });

  // Seed 002: the supervisor's list of held messages, per contact.
  app.get('/quarantine', { config: { access: 'quarantine' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/quarantine', 'Quarantined messages');
    // Paged (issue #17: the list stopped at 500); Release all / Delete all still settle every held message of a sender.
    const pageNo = pageParam(req);
    const held = await ops.quarantine(a, org.slug, { limit: QUARANTINE_PAGE, offset: (pageNo - 1) * QUARANTINE_PAGE });
    return sendHtml(
      reply,
      page(
        f,
        html`${renderQuarantine(f, held.messages, held.total)}${pager('/quarantine', f, pageNo, held.total, QUARANTINE_PAGE, held.messages.length)}`,
      ),
    );
  });

  app.post('/quarantine/:id/release', { config: { access: 'quarantine' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/quarantine', 'Quarantined messages');
    await ops.releaseMessage(a, org.slug, idParam(req));
    return back(reply, '/quarantine', org.slug, 'released');
  });

  app.post('/quarantine/:id/delete', { config: { access: 'quarantine' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/quarantine', 'Quarantined messages');
    await ops.deleteMessage(a, org.slug, idParam(req));
    return back(reply, '/quarantine', org.slug, 'deleted');
  });

  app.post('/quarantine/settle', { config: { access: 'quarantine' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/quarantine', 'Quarantined messages');
    const action = field(req.body, 'action') === 'delete' ? 'delete' : 'release';
    const contact = field(req.body, 'contactId');
    const n = await ops.settleMessages(
      a,
      org.slug,
      contact ? { contactId: Number(contact) } : { from: field(req.body, 'from') },
      action,
    );
    return back(reply, '/quarantine', org.slug, action === 'release' ? 'settled-released' : 'settled-deleted', {
      count: n,
    });
  });

  // Recent calls, each with one-click "Block this caller".
  app.post('/calls/block', { config: { access: 'block' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/calls', 'Recent calls');
    const number = field(req.body, 'number');
    try {
      const e = await ops.block(a, org.slug, { kind: 'number', number, reason: 'blocked from recent calls' });
      return await back(reply, '/calls', org.slug, 'blocked', { ref: e.id });
    } catch (err) {
      // A broad block (what-if, issue #16) is confirmed on the Block form, filled in with this number.
      const step = confirmStepOf(err);
      if (!step) throw err;
      const { f } = await frame(req, '/block', 'Block');
      const v = {
        kind: 'number',
        number,
        prefix: '',
        contactId: '',
        mode: '',
        name: '',
        reason: 'blocked from recent calls',
        expires: '',
      };
      return sendHtml(
        reply,
        page(
          f,
          renderBlockForm(f, await ops.contacts(a, org.slug), v, formErrorOf(err, BLOCK_FIELDS) ?? undefined, step),
        ),
        409,
      );
    }
  });

  app.get('/dashboard', { config: { access: 'dashboard' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/dashboard', 'Dashboard');
    // Handset block requests are rare: waiting ones are announced here rather than in the navigation.
    const waiting = f.perms.audit ? (await ops.blockRequests(a, org.slug, 'pending')).length : null;
    return sendHtml(reply, page(f, renderDashboard(await ops.dashboard(a, org.slug, 14), waiting, org.slug)));
  });

  app.get('/audit', { config: { access: 'audit' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/audit', 'Audit log');
    const filter = { actor: q(req, 'actor'), action: q(req, 'action'), target: q(req, 'target') };
    const pageNo = pageParam(req);
    const r = await ops.audit(a, org.slug, { ...filter, limit: 50, offset: (pageNo - 1) * 50 });
    return sendHtml(reply, page(f, renderAudit(f, r, filter, pageNo)));
  });

  app.get('/settings', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/settings', 'Settings');
    const orgSection = renderOrgSection(f, await deps.ctx.orgs.dids(org.id), {
      orgName: org.name,
      region: org.policy.region,
      dids: '',
    });
    const ruleSection = renderRuleSettings(f, await ruleSettingsView(deps.rules, a, org.slug));
    return sendHtml(
      reply,
      page(f, html`${renderSettings(f, settingsValues(await ops.settings(a, org.slug)))}${orgSection}${ruleSection}`),
    );
  });

  // Account: own password and API tokens (every role).
  app.get('/account', { config: { access: 'signed-in' } }, async (req, reply) => {
    const { a, f } = await frame(req, '/account', 'Account');
    return sendHtml(reply, page(f, renderAccount(f, await deps.users.listTokens(a.user.name))));
  });

  app.post('/account/tokens', { config: { access: 'signed-in' } }, async (req, reply) => {
    const { a, f } = await frame(req, '/account', 'Account');
    const days = field(req.body, 'days') || '90';
    if (!/^\d{1,3}$/.test(days))
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'form field "days" must be a whole number of days', {
        field: 'days',
      });
    const role = field(req.body, 'role');
    const t = await deps.users.createToken(
      a.user.name,
      {
        name: field(req.body, 'name'),
        ...(role ? { role: role as Role } : {}),
        readOnly: field(req.body, 'readOnly') === 'on',
        expiresInDays: Number(days),
      },
      a.actor,
      highestRole(a.user),
    );
    // The secret is shown on this answer only (not after a redirect: it must never be in a URL).
    return sendHtml(
      reply,
      page(f, renderAccount(f, await deps.users.listTokens(a.user.name), { name: t.name, token: t.token })),
      201,
    );
  });

  app.post('/account/tokens/:id/revoke', { config: { access: 'signed-in' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/account', 'Account');
    await deps.users.revokeToken(a.user.name, idParam(req), a.actor);
    return back(reply, '/account', org.slug, 'token-revoked');
  });

  app.post('/account/password', { config: { access: 'signed-in' } }, async (req, reply) => {
    const { a, org } = await frame(req, '/account', 'Account');
    await signIn.confirmPassword(a.user, field(req.body, 'current'), req.ip);
    await deps.users.setPassword(a.user.name, field(req.body, 'password'), a.actor, {
      self: true,
      ...(a.sessionHash ? { keepSessionHash: a.sessionHash } : {}),
    });
    return back(reply, '/account', org.slug, 'password-changed');
  });

  app.post('/settings', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org, f } = await frame(req, '/settings', 'Settings');
    const b = req.body;
    const v: SettingsFormValues = {
      agentsMayBlock: field(b, 'agentsMayBlock') === 'on',
      defaultMode: field(b, 'defaultMode'),
      rejectCode: field(b, 'rejectCode'),
      outboundPolicy: field(b, 'outboundPolicy'),
      supervisorMinPrefixDigits: field(b, 'supervisorMinPrefixDigits'),
      note: field(b, 'note'),
      attestationFailed: field(b, 'attestationFailed'),
      ownDidUnattested: field(b, 'ownDidUnattested'),
      standinsUnidentified: field(b, 'standinsUnidentified') === 'on',
    };
    try {
      await ops.updateSettings(
        a,
        org.slug,
        {
          agentsMayBlock: v.agentsMayBlock,
          defaultMode: v.defaultMode as BlockMode,
          rejectCode: Number(v.rejectCode) as RejectCode,
          outboundPolicy: v.outboundPolicy as OutboundPolicy,
          supervisorMinPrefixDigits: minDigitsField(v.supervisorMinPrefixDigits),
          // The identity selects only when posted (a form from before #16 leaves them as they are).
          ...(v.attestationFailed !== '' ? { attestationFailed: v.attestationFailed as IdentityAction } : {}),
          ...(v.ownDidUnattested !== '' ? { ownDidUnattested: v.ownDidUnattested as IdentityAction } : {}),
          standinsUnidentified: v.standinsUnidentified,
        },
        v.note,
      );
      return await back(reply, '/settings', org.slug, 'settings-saved');
    } catch (err) {
      const fe = formErrorOf(err, SETTINGS_FIELDS, {
        minPrefixDigits: 'supervisorMinPrefixDigits',
        attestation_failed: 'attestationFailed',
        own_did_unattested: 'ownDidUnattested',
      });
      if (!fe) throw err;
      return sendHtml(reply, page(f, renderSettings(f, v, fe)), fe.status);
    }
  });

  // Issue #17's pages, each in its own module.
  const more = { ops, ctx: deps.ctx };
  registerEntryEditPages(app, more);
  registerBulkPages(app, { ...more, bulk: deps.bulk });
  registerCallsPage(app, { ...more, pageParam });
  registerTransferPages(app, { ...more, transfer: deps.transfer });
  registerUserPages(app, { ...more, userAdmin: deps.userAdmin });
  registerOrgPages(app, {
    ...more,
    moreSettings: async (f, a) => renderRuleSettings(f, await ruleSettingsView(deps.rules, a, f.org.slug)),
  });
  registerDidRulePages(app, { ...more, rules: deps.rules });
  registerFloodPages(app, more);
  registerContactPages(app, more);
  registerCheckPage(app, more);
}
