/** The page frame every panel page shares: header with the organisation picker, navigation, notices. */
import type { Org } from '../store/rows.js';
import type { Permission } from './access-policy.js';
import { html, type SafeHtml } from './html-escape.js';
import { roleIn, type User } from './user-service.js';

export interface Frame {
  readonly title: string;
  readonly user: User;
  readonly csrf: string;
  readonly org: Org;
  readonly orgs: readonly Org[];
  readonly perms: Record<Permission, boolean>;
  /** Path of this page: the organisation picker reloads it for the chosen org. */
  readonly path: string;
  readonly notice?: string | undefined;
  /** Set while the shared PostgreSQL store cannot be reached (issue #15): the panel is read-only. */
  readonly readOnly?: string | undefined;
}

const NAV: ReadonlyArray<{ path: string; label: string; perm: Permission }> = [
  { path: '/blocked', label: 'Blocked callers', perm: 'view' },
  { path: '/block', label: 'Block', perm: 'block' },
  { path: '/allowed', label: 'Allowed callers', perm: 'view' },
  { path: '/stale', label: 'Stale entries', perm: 'view' },
  { path: '/contacts', label: 'Contacts', perm: 'view' },
  { path: '/quarantine', label: 'Quarantined messages', perm: 'quarantine' },
  { path: '/calls', label: 'Recent calls', perm: 'view' },
  { path: '/dashboard', label: 'Dashboard', perm: 'dashboard' },
  { path: '/audit', label: 'Audit log', perm: 'audit' },
  { path: '/import', label: 'Import / export', perm: 'view' },
  { path: '/users', label: 'Users', perm: 'users' },
  { path: '/settings', label: 'Settings', perm: 'settings' },
];

export function document(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · callscreen</title><link rel="stylesheet" href="/assets/panel.css"><script src="/assets/panel.js" defer></script></head>
<body>${body}</body></html>`.value;
}

export function page(f: Frame, content: SafeHtml): string {
  const orgQ = `?org=${encodeURIComponent(f.org.slug)}`;
  return document(
    f.title,
    html`<a class="skip" href="#content">Skip to content</a>
<header class="top">
  <span class="brand">callscreen</span>
  <form method="get" action="${f.path}">
    <label for="org-picker">Organisation</label>
    <select id="org-picker" name="org">${f.orgs.map((o) => html`<option value="${o.slug}"${o.slug === f.org.slug ? html` selected` : ''}>${o.name} (${o.slug})</option>`)}</select>
    <button type="submit" class="secondary">Switch</button>
  </form>
  <span><a href="/account${orgQ}"${f.path === '/account' ? html` aria-current="page"` : ''}>${f.user.name}</a> <span class="tag">${roleIn(f.user, f.org.slug)}</span></span>
  <form method="post" action="/signout"><input type="hidden" name="_csrf" value="${f.csrf}"><button type="submit" class="link">Sign out</button></form>
</header>
<nav class="main" aria-label="Main"><ul>${NAV.filter((n) => f.perms[n.perm]).map((n) => html`<li><a href="${n.path + orgQ}"${n.path === f.path ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}</ul></nav>
<main id="content">
<h1>${f.title}</h1>
${f.readOnly ? html`<p class="notice read-only" role="alert">Read-only: ${f.readOnly}</p>` : ''}
${f.notice ? html`<p class="notice" role="status">${f.notice}</p>` : ''}
${content}
</main>`,
  );
}

/** Epoch ms as "2026-11-01 14:03 UTC". */
export function utcText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/**
 * Epoch ms as a `<time>`: the server writes UTC (it does not know the reader's zone, and UTC is
 * unambiguous without script); panel.js rewrites the text in the viewer's own zone and keeps the
 * UTC time in the title, shown on hover.
 */
export function when(ms: number | null | undefined): SafeHtml {
  if (ms === null || ms === undefined) return html``;
  const utc = utcText(ms);
  return html`<time datetime="${new Date(ms).toISOString()}" title="${utc}">${utc}</time>`;
}
