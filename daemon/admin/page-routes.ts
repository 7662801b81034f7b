/**
 * The server-rendered panel. Pages read through AdminOperations (the same calls as the JSON API)
 * and change things with plain HTML forms (POST + `_csrf` field, then a 303 redirect back), so
 * every page works with the keyboard and without script. Every user-supplied string is rendered
 * through the `html` template (escaped).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { OutboundPolicy, RejectCode } from '../core/org-policy.js';
import type { DaemonContext } from '../main.js';
import type { Org } from '../store/rows.js';
import { permissionsFor } from './access-policy.js';
import type { AdminOperations, BlockKind } from './admin-operations.js';
import { html } from './html-escape.js';
import { PANEL_CSS, PANEL_JS } from './panel-assets.js';
import { document, page, when, type Frame } from './page-layout.js';
import type { AuthState, RequestAuth } from './request-auth.js';
import type { SignInService } from './sign-in-service.js';
import { describeEntry, renderAudit, renderBlockForm, renderBlocked, renderCalls, renderContacts, renderDashboard, renderQuarantine, renderSettings } from './page-views.js';

export interface PageDeps {
  readonly ops: AdminOperations;
  readonly auth: RequestAuth;
  readonly signIn: SignInService;
  readonly ctx: DaemonContext;
}

type Form = Record<string, string | string[] | undefined>;
export const PAGE_SIZE = 25;

function field(body: unknown, key: string): string {
  const v = (body as Form | undefined)?.[key];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? '') : '';
}

function q(req: FastifyRequest, key: string): string {
  const v = (req.query as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : '';
}

function idParam(req: FastifyRequest): number {
  const n = Number((req.params as { id: string }).id);
  if (!Number.isSafeInteger(n) || n <= 0) throw new CallscreenError('CS_ERR_INVALID_VALUE', 'id must be a positive integer', { field: 'id' });
  return n;
}

/** Only local paths: `next` must not send a user to another site after sign-in. */
export function safeNext(next: string): string {
  return /^\/(?![/\\])/.test(next) ? next : '/';
}

export function renderErrorPage(status: number, message: string): string {
  return document(`Error ${status}`, html`<main id="content" class="signin"><h1>Something went wrong</h1>
<p class="error" role="alert">${message}</p><p>Status ${status}. <a href="/">Back to the panel</a></p></main>`);
}

function signInPage(next: string, error = ''): string {
  return document('Sign in', html`<main id="content" class="signin"><h1>Sign in to callscreen</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/signin">
  <input type="hidden" name="next" value="${next}">
  <div class="field"><label for="name">User name</label><input id="name" name="name" type="text" autocomplete="username" required autofocus></div>
  <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
  <button type="submit">Sign in</button>
</form></main>`);
}

export function registerPageRoutes(app: FastifyInstance, deps: PageDeps): void {
  const { ops, auth, signIn } = deps;

  const sendHtml = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(body);

  /** The signed-in user, the organisation chosen (query/form `org`, else their first) and the page frame. */
  async function frame(req: FastifyRequest, path: string, title: string): Promise<{ a: AuthState; org: Org; f: Frame }> {
    const a = await auth.require(req);
    const orgs = await ops.orgs(a);
    const wanted = field(req.body, 'org') || q(req, 'org') || orgs[0]?.slug || '';
    const org = await ops.org(a, wanted, 'view');
    return { a, org, f: { title, user: a.user, csrf: a.csrf ?? '', org, orgs, perms: permissionsFor(a.user, org), path, notice: q(req, 'notice') || undefined } };
  }

  const back = (reply: FastifyReply, path: string, org: string, notice: string, extra = '') =>
    reply.redirect(`${path}?org=${encodeURIComponent(org)}&notice=${encodeURIComponent(notice)}${extra}`, 303);

  app.get('/assets/panel.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(PANEL_CSS));
  app.get('/assets/panel.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=3600').send(PANEL_JS));

  // Browsers ask for it on every page; an empty answer keeps logs and consoles free of 404s.
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).header('cache-control', 'max-age=86400').send());
  app.get('/signin', async (req, reply) => sendHtml(reply, signInPage(safeNext(q(req, 'next') || '/'))));
  app.post('/signin', async (req, reply) => {
    const next = safeNext(field(req.body, 'next') || '/');
    try {
      const user = await signIn.check(field(req.body, 'name'), field(req.body, 'password'), req.ip);
      await auth.startSession(req, reply, user);
      return reply.redirect(next, 303);
    } catch (err) {
      if (err instanceof CallscreenError && (err.code === 'CS_ERR_UNAUTHENTICATED' || err.code === 'CS_ERR_THROTTLED')) {
        const retry = err.details.retryAfterSeconds;
        if (typeof retry === 'number') reply.header('retry-after', String(retry));
        return sendHtml(reply, signInPage(next, err.message), err.httpStatus);
      }
      throw err;
    }
  });
  app.post('/signout', async (req, reply) => {
    await auth.require(req);
    await auth.endSession(req, reply);
    return reply.redirect('/signin', 303);
  });
  app.get('/', async (req, reply) => {
    const a = await auth.require(req);
    return reply.redirect(`/blocked?org=${encodeURIComponent(a.user.orgs[0] ?? '')}`, 303);
  });

  // Seed 000: Blocked callers — search, organisation picker, Caller ID / Blocked By / Blocked On, Unblock.
  app.get('/blocked', async (req, reply) => {
    const { a, org, f } = await frame(req, '/blocked', 'Blocked callers');
    const search = q(req, 'search');
    const pageNo = Math.max(1, Number(q(req, 'page')) || 1);
    const list = await ops.listEntries(a, org.slug, { search, limit: PAGE_SIZE, offset: (pageNo - 1) * PAGE_SIZE });
    return sendHtml(reply, page(f, renderBlocked(f, list, search, pageNo, PAGE_SIZE)));
  });

  app.get('/blocked/:id/unblock', async (req, reply) => {
    const { a, org, f } = await frame(req, '/blocked', 'Unblock caller');
    await ops.org(a, org.slug, 'unblock');
    const e = await ops.entry(a, org.slug, idParam(req));
    const contact = e.kind === 'contact' && e.contactId !== null ? await ops.contact(a, org.slug, e.contactId) : null;
    return sendHtml(reply, page(f, html`<div class="card">
<p>Unblock <strong>${describeEntry(e, contact)}</strong> in <strong>${org.name}</strong>?</p>
<p>Blocked by <strong>${e.createdBy}</strong> on <strong>${when(e.createdAt)}</strong>${e.reason ? html` — reason: “${e.reason}”` : ''}.</p>
<p class="muted">After unblocking, the number can call and text ${org.name} again. Check the number is not also blocked by your carrier or phones.</p>
<form method="post" action="/blocked/${e.id}/unblock">
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${org.slug}">
  <div class="field"><label for="note">Note (why; kept in the audit log)</label><textarea id="note" name="note" rows="2" maxlength="1000"></textarea></div>
  <div class="actions"><button type="submit" class="danger">Confirm unblock</button><a class="button secondary" href="/blocked?org=${org.slug}">Cancel</a></div>
</form></div>`));
  });

  app.post('/blocked/:id/unblock', async (req, reply) => {
    const { a, org } = await frame(req, '/blocked', 'Unblock caller');
    const e = await ops.unblock(a, org.slug, idParam(req), field(req.body, 'note'));
    return back(reply, '/blocked', org.slug, `Unblocked ${e.kind === 'exact' ? e.value : `entry ${e.id}`}.`);
  });

  // Seed 001: Block — number, prefix, contact or unidentified; the two modes in the seed's words.
  app.get('/block', async (req, reply) => {
    const { a, org, f } = await frame(req, '/block', 'Block');
    await ops.org(a, org.slug, 'block');
    const contacts = await ops.contacts(a, org.slug);
    return sendHtml(reply, page(f, renderBlockForm(f, contacts, { kind: q(req, 'kind') || 'number', number: q(req, 'number'), contact: q(req, 'contact') })));
  });

  app.post('/block', async (req, reply) => {
    const { a, org } = await frame(req, '/block', 'Block');
    const kind = field(req.body, 'kind') as BlockKind;
    const contactField = field(req.body, 'contactId');
    // Seed 001 "Block Contact": a number chosen with a contact and the box ticked blocks the whole contact.
    const asContact = kind === 'number' && field(req.body, 'blockContact') === 'on' && contactField !== '';
    const e = await ops.block(a, org.slug, {
      kind: asContact ? 'contact' : kind,
      number: field(req.body, 'number'),
      prefix: field(req.body, 'prefix'),
      ...(contactField ? { contactId: Number(contactField) } : {}),
      ...(field(req.body, 'mode') ? { mode: field(req.body, 'mode') as BlockMode } : {}),
      name: field(req.body, 'name'),
      reason: field(req.body, 'reason'),
      expires: field(req.body, 'expires') || null,
    });
    return back(reply, '/blocked', org.slug, `Blocked ${e.kind === 'exact' ? e.value : e.kind === 'contact' ? `contact ${e.name || e.value}` : e.kind === 'prefix' ? `numbers starting ${e.value}` : 'unidentified callers'}.`);
  });

  // Seed 002: contacts, with Block / Unblock on each.
  app.get('/contacts', async (req, reply) => {
    const { a, org, f } = await frame(req, '/contacts', 'Contacts');
    const search = q(req, 'search');
    return sendHtml(reply, page(f, renderContacts(f, await ops.contacts(a, org.slug, search), search)));
  });

  app.post('/contacts', async (req, reply) => {
    const { a, org } = await frame(req, '/contacts', 'Contacts');
    const numbers = field(req.body, 'numbers').split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean);
    const c = await ops.addContact(a, org.slug, field(req.body, 'name'), numbers);
    return back(reply, '/contacts', org.slug, `Added contact ${c.name}.`);
  });

  app.post('/contacts/:id/block', async (req, reply) => {
    const { a, org } = await frame(req, '/contacts', 'Contacts');
    const c = await ops.contact(a, org.slug, idParam(req));
    await ops.block(a, org.slug, { kind: 'contact', contactId: c.id, name: c.name, reason: field(req.body, 'reason'), ...(field(req.body, 'mode') ? { mode: field(req.body, 'mode') as BlockMode } : {}) });
    return back(reply, field(req.body, 'return') === 'quarantine' ? '/quarantine' : '/contacts', org.slug, `Blocked contact ${c.name}: all their numbers.`);
  });

  app.get('/contacts/:id/unblock', async (req, reply) => {
    const { a, org, f } = await frame(req, '/contacts', 'Unblock contact');
    await ops.org(a, org.slug, 'unblock');
    const c = await ops.contact(a, org.slug, idParam(req));
    const held = await ops.quarantine(a, org.slug, { contactId: c.id });
    return sendHtml(reply, page(f, html`<div class="card">
<p>Unblock contact <strong>${c.name}</strong> (${c.numbers.join(', ')})?</p>
<form method="post" action="/contacts/${c.id}/unblock">
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${org.slug}">
  <fieldset><legend>${held.total} held message${held.total === 1 ? '' : 's'} from this contact</legend>
    <label><input type="radio" name="messages" value="release" checked> Release all — deliver them to the agents now</label>
    <label><input type="radio" name="messages" value="delete"> Delete all — remove them from the system and database</label>
  </fieldset>
  <div class="field"><label for="note">Note (kept in the audit log)</label><textarea id="note" name="note" rows="2" maxlength="1000"></textarea></div>
  <div class="actions"><button type="submit" class="danger">Confirm unblock</button><a class="button secondary" href="/quarantine?org=${org.slug}">Cancel</a></div>
</form></div>`));
  });

  app.post('/contacts/:id/unblock', async (req, reply) => {
    const { a, org } = await frame(req, '/contacts', 'Unblock contact');
    const messages = field(req.body, 'messages') === 'delete' ? 'delete' : 'release';
    const r = await ops.unblockContact(a, org.slug, idParam(req), messages, field(req.body, 'note'));
    return back(reply, '/quarantine', org.slug, `Unblocked contact ${r.entry.name || r.entry.value}; ${messages === 'release' ? 'released' : 'deleted'} ${r.settled} message${r.settled === 1 ? '' : 's'}.`);
  });

  // Seed 002: the supervisor's list of held messages, per contact.
  app.get('/quarantine', async (req, reply) => {
    const { a, org, f } = await frame(req, '/quarantine', 'Quarantined messages');
    await ops.org(a, org.slug, 'quarantine');
    const held = await ops.quarantine(a, org.slug, { limit: 500 });
    return sendHtml(reply, page(f, renderQuarantine(f, held.messages, held.total)));
  });

  app.post('/quarantine/:id/release', async (req, reply) => {
    const { a, org } = await frame(req, '/quarantine', 'Quarantined messages');
    const m = await ops.releaseMessage(a, org.slug, idParam(req));
    return back(reply, '/quarantine', org.slug, `Released the message from ${m.from}.`);
  });

  app.post('/quarantine/:id/delete', async (req, reply) => {
    const { a, org } = await frame(req, '/quarantine', 'Quarantined messages');
    await ops.deleteMessage(a, org.slug, idParam(req));
    return back(reply, '/quarantine', org.slug, 'Deleted the message.');
  });

  app.post('/quarantine/settle', async (req, reply) => {
    const { a, org } = await frame(req, '/quarantine', 'Quarantined messages');
    const action = field(req.body, 'action') === 'delete' ? 'delete' : 'release';
    const contact = field(req.body, 'contactId');
    const n = await ops.settleMessages(a, org.slug, contact ? { contactId: Number(contact) } : { from: field(req.body, 'from') }, action);
    return back(reply, '/quarantine', org.slug, `${action === 'release' ? 'Released' : 'Deleted'} ${n} message${n === 1 ? '' : 's'}.`);
  });

  // Recent calls, each with one-click "Block this caller".
  app.get('/calls', async (req, reply) => {
    const { a, org, f } = await frame(req, '/calls', 'Recent calls');
    const pageNo = Math.max(1, Number(q(req, 'page')) || 1);
    const calls = await ops.recentCalls(a, org.slug, { limit: PAGE_SIZE, offset: (pageNo - 1) * PAGE_SIZE });
    return sendHtml(reply, page(f, renderCalls(f, calls, pageNo, PAGE_SIZE)));
  });

  app.post('/calls/block', async (req, reply) => {
    const { a, org } = await frame(req, '/calls', 'Recent calls');
    const e = await ops.block(a, org.slug, { kind: 'number', number: field(req.body, 'number'), reason: 'blocked from recent calls' });
    return back(reply, '/calls', org.slug, `Blocked ${e.value}.`);
  });

  app.get('/dashboard', async (req, reply) => {
    const { a, org, f } = await frame(req, '/dashboard', 'Dashboard');
    return sendHtml(reply, page(f, renderDashboard(await ops.dashboard(a, org.slug, 14))));
  });

  app.get('/audit', async (req, reply) => {
    const { a, org, f } = await frame(req, '/audit', 'Audit log');
    const filter = { actor: q(req, 'actor'), action: q(req, 'action'), target: q(req, 'target') };
    const pageNo = Math.max(1, Number(q(req, 'page')) || 1);
    const r = await ops.audit(a, org.slug, { ...filter, limit: 50, offset: (pageNo - 1) * 50 });
    return sendHtml(reply, page(f, renderAudit(f, r, filter, pageNo)));
  });

  app.get('/settings', async (req, reply) => {
    const { a, org, f } = await frame(req, '/settings', 'Settings');
    return sendHtml(reply, page(f, renderSettings(f, await ops.settings(a, org.slug))));
  });

  app.post('/settings', async (req, reply) => {
    const { a, org } = await frame(req, '/settings', 'Settings');
    await ops.updateSettings(a, org.slug, {
      agentsMayBlock: field(req.body, 'agentsMayBlock') === 'on',
      defaultMode: field(req.body, 'defaultMode') as BlockMode,
      rejectCode: Number(field(req.body, 'rejectCode')) as RejectCode,
      outboundPolicy: field(req.body, 'outboundPolicy') as OutboundPolicy,
    }, field(req.body, 'note'));
    return back(reply, '/settings', org.slug, 'Settings saved.');
  });

}
