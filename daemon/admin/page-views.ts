/** The bodies of the panel pages (the frame is page-layout.ts). Pure functions: data in, escaped HTML out. */
import type { BlockMode } from '../core/entry.js';
import type { OrgPolicy } from '../core/org-policy.js';
import type { AuditEvent } from '../services/audit-log.js';
import type { EntryListItem } from '../services/blocklist-service.js';
import type { Contact } from '../services/contact-service.js';
import type { QuarantinedMessage } from '../services/quarantine-service.js';
import type { EntryRecord } from '../store/rows.js';
import type { Dashboard } from './dashboard-query.js';
import { html, type SafeHtml } from './html-escape.js';
import { entryStateActions, entryStateTags } from './page-entry-state.js';
import { when, type Frame } from './page-layout.js';
import { roleIn } from './user-service.js';
import { errorSummary, fieldError, invalidAttrs, type FormError } from './panel-form-error.js';

/** Seed 001's words for the two modes. */
export const MODE_LABEL: Readonly<Record<BlockMode, string>> = {
  voicemail: 'Block and allow voicemails',
  reject: 'Block all communications',
};

const csrfField = (f: Frame) =>
  html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;

export function describeEntry(
  e: EntryRecord & { contact?: { name: string; numbers: readonly string[] } },
  contact?: Contact | null,
): string {
  switch (e.kind) {
    case 'exact':
      return e.value;
    case 'prefix':
      return `${e.value}… (every number starting so)`;
    case 'pattern':
      return `${e.value} (pattern)`;
    case 'contact': {
      const c = contact ?? e.contact;
      return `Contact ${c?.name ?? e.value}${c && c.numbers.length ? ` (${c.numbers.join(', ')})` : ''}`;
    }
    case 'unidentified':
      return 'Unidentified callers (withheld / anonymous)';
  }
}

export function pager(
  path: string,
  f: Frame,
  pageNo: number,
  total: number | null,
  size: number,
  shown: number,
  extra: Record<string, string> = {},
): SafeHtml {
  const qs = (n: number) => `${path}?${new URLSearchParams({ org: f.org.slug, ...extra, page: String(n) }).toString()}`;
  const hasNext = total === null ? shown === size : pageNo * size < total;
  if (pageNo === 1 && !hasNext) return html``;
  return html`<nav class="pager" aria-label="Pages">${pageNo > 1 ? html`<a href="${qs(pageNo - 1)}">← Previous</a>` : ''}<span>Page ${pageNo}${total !== null ? html` of ${Math.max(1, Math.ceil(total / size))}` : ''}</span>${hasNext ? html`<a href="${qs(pageNo + 1)}">Next →</a>` : ''}</nav>`;
}

export function renderBlocked(
  f: Frame,
  list: { total: number; entries: EntryListItem[] },
  search: string,
  pageNo: number,
  size: number,
): SafeHtml {
  // Bulk selection (admins): each row's box belongs to the bulk form below the table (form="bulk"),
  // so the per-row links stay plain links and no form is nested.
  const bulk = f.perms.unblock && list.entries.length > 0;
  const rows = list.entries.map(
    (e) => html`<tr>
  ${bulk ? html`<td data-label="Select"><input type="checkbox" name="ids" value="${e.id}" form="bulk" aria-label="Select ${describeEntry(e)}"></td>` : ''}
  <td data-label="Caller ID">${describeEntry(e)}${e.expired ? html` <span class="tag">expired</span>` : ''}${entryStateTags(e)}</td>
  <td data-label="Name">${e.name}</td>
  <td data-label="Blocked By">${e.createdBy}</td>
  <td data-label="Blocked On">${when(e.createdAt)}</td>
  <td data-label="Mode">${MODE_LABEL[e.mode]}</td>
  <td data-label="Reason">${e.reason}</td>
  <td data-label="Expires">${e.expiresAt === null ? 'never' : when(e.expiresAt)}</td>
  <td data-label="Hits">${e.hitCount}</td>
  <td data-label="Action"><div class="actions">${f.perms.block && (roleIn(f.user, f.org.slug) !== 'agent' || e.kind === 'contact') ? html`<a class="button secondary" href="/blocked/${e.id}/edit?org=${f.org.slug}" aria-label="Edit ${describeEntry(e)}">Edit</a>` : ''}${f.perms.unblock ? html`<a class="button secondary" href="/blocked/${e.id}/unblock?org=${f.org.slug}" aria-label="Unblock ${describeEntry(e)}">Unblock</a>` : html`<span class="muted">admins unblock</span>`}${entryStateActions(f, e)}</div></td>
</tr>`,
  );
  return html`<form class="search" method="get" action="/blocked" role="search">
  <input type="hidden" name="org" value="${f.org.slug}">
  <div class="field"><label for="search">Search <span class="hint">full or partial number, any format, or name</span></label>
  <input id="search" name="search" type="search" value="${search}" inputmode="tel"></div>
  <div class="field"><button type="submit">Search</button></div>
  ${search ? html`<div class="field"><a class="button secondary" href="/blocked?org=${f.org.slug}">Clear</a></div>` : ''}
  ${f.perms.block ? html`<div class="field"><a class="button secondary" href="/block?org=${f.org.slug}">Block a number…</a></div>` : ''}
</form>
<p class="muted">${list.total} blocked ${list.total === 1 ? 'entry' : 'entries'}${search ? html` matching “${search}”` : ''}.</p>
${
  list.entries.length === 0
    ? html`<p class="empty">${search ? html`No blocked callers match “${search}” in ${f.org.name}.` : html`There are no blocked callers for ${f.org.name}. Try another organisation.`}</p>`
    : html`<div class="table-wrap"><table class="stack"><caption class="skip">Blocked callers of ${f.org.name}</caption><thead><tr>${bulk ? html`<th scope="col"><input type="checkbox" data-select-all aria-label="Select every entry on this page"></th>` : ''}<th scope="col">Caller ID</th><th scope="col">Name</th><th scope="col">Blocked By</th><th scope="col">Blocked On</th><th scope="col">Mode</th><th scope="col">Reason</th><th scope="col">Expires</th><th scope="col">Hits</th><th scope="col"><span class="skip">Action</span></th></tr></thead><tbody>${rows}</tbody></table></div>`
}
${
  bulk
    ? html`<form id="bulk" method="post" action="/blocked/bulk" class="card bulk">
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}"><input type="hidden" name="search" value="${search}">
  <label><input type="checkbox" name="all" value="1"> Every one of the ${list.total} ${list.total === 1 ? 'entry' : 'entries'}${search ? html` matching “${search}”` : ''}, not only the ticked ones</label>
  <button type="submit" class="danger">Unblock selected… (<span data-selected-count>0</span>)</button>
  <span class="hint">You confirm on the next page.</span>
</form>`
    : ''
}
${pager('/blocked', f, pageNo, list.total, size, list.entries.length, search ? { search } : {})}`;
}

/** The Add-a-contact form's ids; a refused post is shown with what was typed (`typed`) and the error (`fe`). */
export const CONTACT_FIELDS = ['cname', 'cnumbers'] as const;

export function renderContacts(
  f: Frame,
  contacts: readonly Contact[],
  search: string,
  typed: { name: string; numbers: string } = { name: '', numbers: '' },
  fe?: FormError,
): SafeHtml {
  const rows = contacts.map(
    (c) => html`<tr>
  <td data-label="Name"><a href="/contacts/${c.id}?org=${f.org.slug}">${c.name}</a></td><td data-label="Numbers">${c.numbers.join(', ')}</td>
  <td data-label="Status">${c.blocked ? html`<span class="tag">Blocked</span>` : 'Active'}</td>
  <td data-label="Action">${
    c.blocked
      ? f.perms.unblock
        ? html`<a class="button secondary" href="/contacts/${c.id}/unblock?org=${f.org.slug}">Unblock</a>`
        : ''
      : f.perms.block
        ? html`<form class="inline" method="post" action="/contacts/${c.id}/block">${csrfField(f)}<button type="submit" class="danger" aria-label="Block ${c.name}">Block</button></form>`
        : ''
  }</td>
</tr>`,
  );
  return html`<form class="search" method="get" action="/contacts" role="search"><input type="hidden" name="org" value="${f.org.slug}">
  <div class="field"><label for="search">Search contacts</label><input id="search" name="search" type="search" value="${search}"></div>
  <div class="field"><button type="submit">Search</button></div></form>
${
  contacts.length === 0
    ? html`<p class="empty">No contacts${search ? html` match “${search}”` : ''} in ${f.org.name}.</p>`
    : html`<table class="stack"><thead><tr><th scope="col">Name</th><th scope="col">Numbers</th><th scope="col">Status</th><th scope="col"><span class="skip">Action</span></th></tr></thead><tbody>${rows}</tbody></table>`
}
${
  f.perms.contacts
    ? html`<h2 id="add-contact">Add a contact</h2>${errorSummary(fe)}<form method="post" action="/contacts" class="card" novalidate>${csrfField(f)}
  <div class="field"><label for="cname">Name</label><input id="cname" name="name" type="text" required maxlength="200" value="${typed.name}"${invalidAttrs(fe, 'cname')}>${fieldError(fe, 'cname')}</div>
  <div class="field"><label for="cnumbers">Numbers <span class="hint">one per line or comma-separated</span></label><textarea id="cnumbers" name="numbers" rows="2"${invalidAttrs(fe, 'cnumbers')}>${typed.numbers}</textarea>${fieldError(fe, 'cnumbers')}</div>
  <button type="submit">Add contact</button></form>`
    : ''
}`;
}

export function renderQuarantine(f: Frame, messages: readonly QuarantinedMessage[], total: number): SafeHtml {
  if (messages.length === 0)
    return html`<p class="empty">No messages are held for ${f.org.name}. Messages from blocked contacts appear here.</p>`;
  // A group is never empty: its first message names the sender.
  const groups = new Map<string, [QuarantinedMessage, ...QuarantinedMessage[]]>();
  for (const m of messages) {
    const key = m.contactId !== null ? `c${m.contactId}` : `n${m.from}`;
    const held = groups.get(key);
    groups.set(key, held ? [...held, m] : [m]);
  }
  const cards = [...groups.values()].map((ms) => {
    const [first] = ms;
    const who = first.contactId !== null ? (first.contactName ?? `Contact ${first.contactId}`) : first.from;
    const selector =
      first.contactId !== null
        ? html`<input type="hidden" name="contactId" value="${first.contactId}">`
        : html`<input type="hidden" name="from" value="${first.from}">`;
    return html`<section class="card" aria-label="Messages from ${who}">
  <h2>${who} <span class="muted">${ms.length} held</span></h2>
  <div class="actions">
    <form class="inline" method="post" action="/quarantine/settle">${csrfField(f)}${selector}<input type="hidden" name="action" value="release"><button type="submit">Release all</button></form>
    <form class="inline" method="post" action="/quarantine/settle" data-confirm="Delete all held messages from ${who}? This cannot be undone.">${csrfField(f)}${selector}<input type="hidden" name="action" value="delete"><button type="submit" class="danger">Delete all</button></form>
    ${first.contactId !== null && f.perms.unblock ? html`<a class="button secondary" href="/contacts/${first.contactId}/unblock?org=${f.org.slug}">Unblock contact…</a>` : ''}
  </div>
  <table class="stack"><thead><tr><th scope="col">Received</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Message</th><th scope="col"><span class="skip">Actions</span></th></tr></thead><tbody>
  ${ms.map(
    (
      m,
    ) => html`<tr><td data-label="Received">${when(m.receivedAt)}</td><td data-label="From">${m.from}</td><td data-label="To">${m.to}</td><td data-label="Message">${m.body}</td>
    <td data-label="Actions"><div class="actions"><form class="inline" method="post" action="/quarantine/${m.id}/release">${csrfField(f)}<button type="submit" class="secondary">Release</button></form>
    <form class="inline" method="post" action="/quarantine/${m.id}/delete" data-confirm="Delete this message for good?">${csrfField(f)}<button type="submit" class="secondary">Delete</button></form></div></td></tr>`,
  )}
  </tbody></table></section>`;
  });
  return html`<p class="muted">${total} held message${total === 1 ? '' : 's'} from blocked senders. Release delivers a message to the agent now; Delete removes it from the system for good.</p>${cards}`;
}

/** `waiting`: pending handset block requests, for those who may read them (null: not shown). */
export function renderDashboard(d: Dashboard, waiting: number | null = null, org = ''): SafeHtml {
  const max = Math.max(1, ...d.days.map((x) => x.calls + x.messages));
  const w = 28,
    gap = 6,
    h = 140,
    top = 10;
  const width = d.days.length * (w + gap);
  const bars = d.days.map((x, i) => {
    const ch = Math.round((x.calls / max) * h);
    const mh = Math.round((x.messages / max) * h);
    const xPos = i * (w + gap);
    return html`<g><title>${x.day}: ${x.calls} calls, ${x.messages} messages blocked</title>
<rect x="${xPos}" y="${top + h - ch - mh}" width="${w}" height="${mh}" fill="#e07b00"></rect>
<rect x="${xPos}" y="${top + h - ch}" width="${w}" height="${ch}" fill="#0b5cad"></rect>
<text x="${xPos + w / 2}" y="${top + h + 14}" text-anchor="middle">${x.day.slice(8)}</text></g>`;
  });
  const requests =
    waiting === null
      ? html``
      : waiting > 0
        ? html`<p class="notice" role="status">${waiting} block request${waiting === 1 ? '' : 's'} from phones ${waiting === 1 ? 'is' : 'are'} waiting for an admin: <a href="/requests?org=${org}">review ${waiting === 1 ? 'it' : 'them'}</a>.</p>`
        : html`<p class="muted"><a href="/requests?org=${org}">Block requests from phones</a>: none waiting.</p>`;
  // Several nodes on one PostgreSQL (issue #15): the figures are the site's; each node's totals below them.
  const nodes = d.nodes
    ? html`${d.scope === 'node' ? html`<p class="hint">The shared store cannot be reached: these figures are this node's calls only.</p>` : ''}
<table class="stack"><caption>Screened per node</caption><thead><tr><th scope="col">Node</th><th scope="col">Screened</th><th scope="col">Blocked</th></tr></thead><tbody>
${d.nodes.map((n) => html`<tr><td data-label="Node">${n.node}</td><td data-label="Screened">${n.screened}</td><td data-label="Blocked">${n.blocked}</td></tr>`)}</tbody></table>`
    : '';
  return html`${requests}<p>${d.totals.blocked} of ${d.totals.screened} screened calls and messages were blocked in the last ${d.days.length} days.</p>
${nodes}
<h2>Blocked per day</h2>
<p class="legend"><span class="calls"></span>calls<span class="msgs"></span>messages</p>
<svg class="bars" role="img" aria-label="Blocked calls and messages per day" viewBox="0 0 ${width} ${top + h + 20}" width="100%" height="${top + h + 20}" preserveAspectRatio="xMinYMin meet">${bars}</svg>
<h2>Top blocked numbers</h2>
${
  d.top.length === 0
    ? html`<p class="empty">Nothing blocked in this period.</p>`
    : html`<table class="stack"><thead><tr><th scope="col">Number</th><th scope="col">Blocked</th><th scope="col">Last</th></tr></thead><tbody>
${d.top.map((t) => html`<tr><td data-label="Number">${t.number}</td><td data-label="Blocked">${t.count}</td><td data-label="Last">${when(t.lastAt)}</td></tr>`)}</tbody></table>`
}`;
}

export function renderAudit(
  f: Frame,
  r: { total: number; events: AuditEvent[] },
  filter: { actor: string; action: string; target: string },
  pageNo: number,
): SafeHtml {
  return html`<form class="search" method="get" action="/audit" role="search"><input type="hidden" name="org" value="${f.org.slug}">
  <div class="field"><label for="actor">Who</label><input id="actor" name="actor" type="text" value="${filter.actor}"></div>
  <div class="field"><label for="action">Action <span class="hint">block, unblock…</span></label><input id="action" name="action" type="text" value="${filter.action}"></div>
  <div class="field"><label for="target">Number or target contains</label><input id="target" name="target" type="text" value="${filter.target}"></div>
  <div class="field"><button type="submit">Filter</button></div></form>
${
  r.events.length === 0
    ? html`<p class="empty">No audit events match.</p>`
    : html`<table class="stack"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Reason / note</th><th scope="col">From</th></tr></thead><tbody>
${r.events.map((e) => html`<tr><td data-label="When">${when(e.at)}</td><td data-label="Who">${e.actor}</td><td data-label="Action">${e.action}</td><td data-label="Target">${e.target}</td><td data-label="Reason">${e.reason}</td><td data-label="From">${e.origin}</td></tr>`)}</tbody></table>`
}
${pager('/audit', f, pageNo, r.total, 50, r.events.length, Object.fromEntries(Object.entries(filter).filter(([, v]) => v)))}`;
}

/** The settings form as posted (strings), so a refused post shows what was chosen. */
export interface SettingsFormValues {
  readonly agentsMayBlock: boolean;
  readonly defaultMode: string;
  readonly rejectCode: string;
  readonly outboundPolicy: string;
  readonly supervisorMinPrefixDigits: string;
  readonly note: string;
  /** Caller identity (docs/caller-identity.md); '' when the post did not carry the field. */
  readonly attestationFailed: string;
  readonly ownDidUnattested: string;
  readonly standinsUnidentified: boolean;
}

export const SETTINGS_FIELDS = [
  'defaultMode',
  'rejectCode',
  'outboundPolicy',
  'supervisorMinPrefixDigits',
  'note',
  'attestationFailed',
  'ownDidUnattested',
] as const;

export function settingsValues(s: OrgPolicy & { supervisorMinPrefixDigits: number | null }): SettingsFormValues {
  return {
    agentsMayBlock: s.agentsMayBlock,
    defaultMode: s.defaultMode,
    rejectCode: String(s.rejectCode),
    outboundPolicy: s.outboundPolicy,
    supervisorMinPrefixDigits: s.supervisorMinPrefixDigits === null ? '' : String(s.supervisorMinPrefixDigits),
    note: '',
    attestationFailed: s.attestationFailed,
    ownDidUnattested: s.ownDidUnattested,
    standinsUnidentified: s.standinsUnidentified,
  };
}

export function renderSettings(f: Frame, s: SettingsFormValues, fe?: FormError): SafeHtml {
  const opt = (value: string | number, current: string, label: string) =>
    html`<option value="${value}"${String(value) === current ? html` selected` : ''}>${label}</option>`;
  const sel = (id: keyof SettingsFormValues) => html` id="${id}" name="${id}"${invalidAttrs(fe, id)}`;
  return html`${errorSummary(fe)}<form method="post" action="/settings" class="card" novalidate>${csrfField(f)}
  <div class="field"><label><input type="checkbox" name="agentsMayBlock"${s.agentsMayBlock ? html` checked` : ''}> Agents may block contacts <span class="hint">— off: only supervisors and admins block</span></label></div>
  <div class="field"><label for="defaultMode">Default block mode</label><select${sel('defaultMode')}>${opt('voicemail', s.defaultMode, MODE_LABEL.voicemail)}${opt('reject', s.defaultMode, MODE_LABEL.reject)}</select>${fieldError(fe, 'defaultMode')}</div>
  <div class="field"><label for="rejectCode">SIP code for rejected calls</label><select${sel('rejectCode')}>${opt(603, s.rejectCode, '603 Decline')}${opt(486, s.rejectCode, '486 Busy Here')}${opt(607, s.rejectCode, '607 Unwanted')}${opt(404, s.rejectCode, '404 Not Found')}</select>${fieldError(fe, 'rejectCode')}</div>
  <div class="field"><label for="outboundPolicy">When an agent dials a blocked number</label><select${sel('outboundPolicy')}>${opt('off', s.outboundPolicy, 'Off — say nothing')}${opt('warn', s.outboundPolicy, 'Warn the agent, let the call go on')}${opt('confirm', s.outboundPolicy, 'Ask the agent to confirm (proceed or abort)')}${opt('deny', s.outboundPolicy, 'Refuse the call')}</select>${fieldError(fe, 'outboundPolicy')}</div>
  <div class="field"><label for="supervisorMinPrefixDigits">Shortest prefix a supervisor may block (digits after +) <span class="hint">— empty: country code + 3</span></label><input${sel('supervisorMinPrefixDigits')} type="number" min="1" max="15" value="${s.supervisorMinPrefixDigits}">${fieldError(fe, 'supervisorMinPrefixDigits')}</div>
  <div class="field"><label for="attestationFailed">Calls whose caller ID the carrier could not verify (STIR/SHAKEN failed)</label><select${sel('attestationFailed')}>${opt('allow', s.attestationFailed, 'Let them through')}${opt('voicemail', s.attestationFailed, 'Send to voicemail')}${opt('reject', s.attestationFailed, 'Reject')}</select>${fieldError(fe, 'attestationFailed')}</div>
  <div class="field"><label for="ownDidUnattested">Callers showing one of our own numbers, not verified by the carrier <span class="hint">— usually spoofed</span></label><select${sel('ownDidUnattested')}>${opt('voicemail', s.ownDidUnattested, 'Send to voicemail')}${opt('reject', s.ownDidUnattested, 'Reject')}${opt('allow', s.ownDidUnattested, 'Let them through')}</select>${fieldError(fe, 'ownDidUnattested')}</div>
  <div class="field"><label><input type="checkbox" name="standinsUnidentified"${s.standinsUnidentified ? html` checked` : ''}> Treat carriers' stand-in numbers for hidden callers as unidentified</label></div>
  <div class="field"><label for="note">Note (kept in the audit log)</label><input${sel('note')} type="text" maxlength="1000" value="${s.note}">${fieldError(fe, 'note')}</div>
  <button type="submit">Save settings</button></form>
<p><a href="/flood?org=${f.org.slug}">Flood and robocall detection settings</a> <span class="hint">— numbers calling too often are held for a while by themselves</span></p>`;
}
