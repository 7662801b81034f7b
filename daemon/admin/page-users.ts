/**
 * Users page (issue #17): an organisation's admins see who works in it, add a user (role, this
 * organisation; a password generated and shown once, or typed), disable or enable one, and reset a
 * password (generated, shown once). The rules are user-admin-operations.ts's: users who also work in
 * organisations this admin does not manage are listed but not changed here.
 */
import type { FastifyInstance } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { AdminOperations } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { back, field, frameOf, sendHtml } from './page-kit.js';
import { page, type Frame } from './page-layout.js';
import { errorSummary, fieldError, formErrorOf, invalidAttrs, type FormError } from './panel-form-error.js';
import type { UserAdminOperations } from './user-admin-operations.js';
import { MIN_PASSWORD, ROLES, type Role, type User } from './user-service.js';

interface AddUserForm {
  readonly name: string;
  readonly role: string;
}
const USER_FIELDS = ['uname', 'role', 'password'] as const;

export function renderUsers(
  f: Frame,
  users: ReadonlyArray<User & { orgRole: Role; manageable: boolean }>,
  v: AddUserForm,
  extra?: { fe?: FormError; secret?: { name: string; password: string } },
): SafeHtml {
  const fe = extra?.fe;
  const csrf = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;
  const act = (u: User, action: string, label: string, cls: string, confirm: string) =>
    html`<form class="inline" method="post" action="/users/${u.name}" data-confirm="${confirm}">${csrf}<input type="hidden" name="action" value="${action}"><button type="submit" class="${cls}" aria-label="${label} ${u.name}">${label}</button></form>`;
  const rows = users.map(
    (u) => html`<tr>
  <td data-label="User">${u.name}${u.id === f.user.id ? html` <span class="tag">you</span>` : ''}</td><td data-label="Role">${
    u.manageable && u.id !== f.user.id
      ? html`<form class="inline role" method="post" action="/users/${u.name}">${csrf}<input type="hidden" name="action" value="role"><label class="skip" for="role-${u.name}">Role of ${u.name} in ${f.org.name}</label><select id="role-${u.name}" name="role">${ROLES.map((r) => html`<option value="${r}"${r === u.orgRole ? html` selected` : ''}>${r}</option>`)}</select> <button type="submit" class="secondary" aria-label="Change role of ${u.name}">Change</button></form>`
      : u.orgRole
  }</td>
  <td data-label="Organisations">${u.orgs.map((o) => `${o} (${u.roles[o] ?? u.role})`).join(', ')}</td><td data-label="State">${u.disabled ? html`<span class="tag">disabled</span>` : 'active'}</td>
  <td data-label="Action"><div class="actions">${
    !u.manageable
      ? html`<span class="muted">works in other organisations too: their admins or the CLI</span>`
      : u.id === f.user.id
        ? html`<a href="/account?org=${f.org.slug}">Your account</a>`
        : html`${act(u, 'password', 'Reset password', 'secondary', `Reset the password of ${u.name}? They are signed out everywhere and need the new one.`)}
    ${u.disabled ? act(u, 'enable', 'Enable', 'secondary', `Let ${u.name} sign in again?`) : act(u, 'disable', 'Disable', 'danger', `Disable ${u.name}? They are signed out everywhere and their API tokens are revoked for good.`)}`
  }</div></td>
</tr>`,
  );
  return html`${extra?.secret ? html`<div class="card" role="status"><p>Password of <strong>${extra.secret.name}</strong> — give it to them now; it is not shown again:</p><p><code class="secret">${extra.secret.password}</code></p></div>` : ''}
<table class="stack"><caption class="skip">Users of ${f.org.name}</caption><thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Organisations</th><th scope="col">State</th><th scope="col"><span class="skip">Action</span></th></tr></thead><tbody>${rows}</tbody></table>
<h2 id="add-user">Add a user to ${f.org.name}</h2>
<form method="post" action="/users" class="card" novalidate>${errorSummary(fe)}${csrf}
  <div class="field"><label for="uname">User name <span class="hint">letters, digits, . _ @ -</span></label><input id="uname" name="name" type="text" maxlength="64" autocomplete="off" value="${v.name}"${invalidAttrs(fe, 'uname')}>${fieldError(fe, 'uname')}</div>
  <div class="field"><label for="role">Role</label><select id="role" name="role"${invalidAttrs(fe, 'role')}>${ROLES.map((r) => html`<option value="${r}"${r === (v.role || 'agent') ? html` selected` : ''}>${r}</option>`)}</select>${fieldError(fe, 'role')}</div>
  <div class="field"><label for="password">Password <span class="hint">empty = generate one (shown once); else at least ${MIN_PASSWORD} characters</span></label><input id="password" name="password" type="password" autocomplete="new-password"${invalidAttrs(fe, 'password')}>${fieldError(fe, 'password')}</div>
  <p class="muted">The role is this organisation's; a user who works in several has one in each. Admins manage users, settings and the allow list; supervisors block, handle held messages and read the audit log; agents see the lists and block contacts when settings allow.</p>
  <button type="submit">Add user</button></form>`;
}

export function registerUserPages(
  app: FastifyInstance,
  deps: { readonly ops: AdminOperations; readonly ctx: DaemonContext; readonly userAdmin: UserAdminOperations },
): void {
  const { ops, ctx, userAdmin } = deps;
  const empty: AddUserForm = { name: '', role: 'agent' };

  app.get('/users', { config: { access: 'users' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/users', 'Users');
    return sendHtml(reply, page(f, renderUsers(f, await userAdmin.list(a, org.slug), empty)));
  });

  app.post('/users', { config: { access: 'users' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/users', 'Users');
    const v: AddUserForm = { name: field(req.body, 'name'), role: field(req.body, 'role') };
    try {
      if (!(ROLES as readonly string[]).includes(v.role))
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'choose a role', { field: 'role' });
      const r = await userAdmin.add(a, org.slug, v.name, v.role as Role, field(req.body, 'password'));
      const secret = r.password ? { name: r.user.name, password: r.password } : undefined;
      // A generated password is shown on this answer only (never in a URL or after a redirect).
      return await sendHtml(
        reply,
        page(
          { ...f, notice: `Added ${r.user.role} ${r.user.name}.` },
          renderUsers(f, await userAdmin.list(a, org.slug), empty, secret ? { secret } : {}),
        ),
        201,
      );
    } catch (err) {
      const fe = formErrorOf(err, USER_FIELDS, { name: 'uname', user: 'uname' });
      if (!fe) throw err;
      return sendHtml(reply, page(f, renderUsers(f, await userAdmin.list(a, org.slug), v, { fe })), fe.status);
    }
  });

  app.post('/users/:name', { config: { access: 'users' } }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/users', 'Users');
    const name = (req.params as { name: string }).name;
    const action = field(req.body, 'action');
    if (action === 'disable' || action === 'enable') {
      await userAdmin.setDisabled(a, org.slug, name, action === 'disable');
      return back(reply, '/users', org.slug, action === 'disable' ? 'user-disabled' : 'user-enabled');
    }
    if (action === 'role') {
      const role = field(req.body, 'role');
      if (!(ROLES as readonly string[]).includes(role))
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'choose a role', { field: 'role' });
      await userAdmin.setRole(a, org.slug, name, role as Role);
      return back(reply, '/users', org.slug, 'user-role');
    }
    if (action === 'password') {
      const r = await userAdmin.resetPassword(a, org.slug, name);
      return sendHtml(
        reply,
        page(
          { ...f, notice: `Password of ${r.user.name} reset; their sessions ended.` },
          renderUsers(
            f,
            await userAdmin.list(a, org.slug),
            empty,
            r.password ? { secret: { name: r.user.name, password: r.password } } : {},
          ),
        ),
      );
    }
    throw new CallscreenError('CS_ERR_INVALID_VALUE', 'form field "action" must be role, disable, enable or password', {
      field: 'action',
    });
  });
}
