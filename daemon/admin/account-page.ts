/**
 * The Account page: change your own password (your other sessions end) and manage your API tokens
 * (create — the secret shown once on the page that answers the form —, list with last use, revoke).
 * Every role has it; what a token may do is capped by the role (user-service.ts createToken).
 */
import { html, type SafeHtml } from './html-escape.js';
import { when, type Frame } from './page-layout.js';
import { highestRole, MIN_PASSWORD, ROLES, type TokenInfo } from './user-service.js';

const csrf = (f: Frame) =>
  html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;

export function renderAccount(
  f: Frame,
  tokens: readonly TokenInfo[],
  created?: { name: string; token: string },
): SafeHtml {
  // A token may carry at most the highest role the user has in any organisation; it is capped by
  // their role in each organisation when used.
  const top = highestRole(f.user);
  const roles = ROLES.slice(ROLES.indexOf(top));
  return html`${
    created
      ? html`<div class="card" role="status"><p>New token <strong>${created.name}</strong> — copy it now, it is not shown again:</p>
<p><code class="secret">${created.token}</code></p></div>`
      : ''
  }
<h2>API tokens</h2>
${
  tokens.length === 0
    ? html`<p class="muted">No tokens yet.</p>`
    : html`<table><thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col">Action</th></tr></thead><tbody>
${tokens.map(
  (
    t,
  ) => html`<tr><td data-label="Name">${t.name}</td><td data-label="Role">${t.role ?? top}${t.readOnly ? ' (read-only)' : ''}</td><td data-label="Created">${when(t.createdAt)}</td>
<td data-label="Expires">${t.expiresAt === null ? 'never (old token)' : when(t.expiresAt)}</td><td data-label="Last used">${t.lastUsedAt === null ? 'never' : when(t.lastUsedAt)}</td><td data-label="State">${t.state}</td>
<td data-label="Action">${t.state === 'active' ? html`<form class="inline" method="post" action="/account/tokens/${t.id}/revoke">${csrf(f)}<button type="submit" class="danger" aria-label="Revoke ${t.name}">Revoke</button></form>` : ''}</td></tr>`,
)}
</tbody></table>`
}
<h2>New token</h2>
<form method="post" action="/account/tokens" class="card">${csrf(f)}
  <div class="field"><label for="token-name">Name (what it is for)</label><input id="token-name" name="name" type="text" maxlength="100" required></div>
  <div class="field"><label for="token-role">Role</label><select id="token-role" name="role">${roles.map((r) => html`<option value="${r}"${r === top ? html` selected` : ''}>${r}</option>`)}</select></div>
  <div class="field"><label><input type="checkbox" name="readOnly"> Read-only</label></div>
  <div class="field"><label for="token-days">Expires after (days)</label><input id="token-days" name="days" type="number" min="1" max="366" value="90"></div>
  <button type="submit">Create token</button></form>
<h2>Change password</h2>
<form method="post" action="/account/password" class="card">${csrf(f)}
  <div class="field"><label for="current">Current password</label><input id="current" name="current" type="password" autocomplete="current-password" required></div>
  <div class="field"><label for="new-password">New password (at least ${MIN_PASSWORD} characters)</label><input id="new-password" name="password" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD}" required></div>
  <p class="muted">Your other sessions are signed out.</p>
  <button type="submit">Change password</button></form>`;
}
