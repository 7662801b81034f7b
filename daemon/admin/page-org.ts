/**
 * The organisation on the Settings page (issue #17): its name and region (the numbering plan that
 * reads national numbers and gives the protected emergency numbers), and its inbound numbers (DIDs):
 * add some, remove one. Admins (`settings`), the same operations as the API.
 */
import type { FastifyInstance } from 'fastify';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { AdminOperations, Principal } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { back, field, frameOf, sendHtml } from './page-kit.js';
import { page, type Frame } from './page-layout.js';
import { renderSettings, settingsValues } from './page-views.js';
import { errorSummary, fieldError, formErrorOf, invalidAttrs, type FormError } from './panel-form-error.js';

export interface OrgFormValues {
  readonly orgName: string;
  readonly region: string;
  readonly dids: string;
}
const ORG_FIELDS = ['orgName', 'region', 'dids'] as const;

export function renderOrgSection(
  f: Frame,
  dids: readonly string[],
  v: OrgFormValues,
  fe?: FormError,
  which: 'org' | 'dids' | null = null,
): SafeHtml {
  const csrf = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;
  const orgFe = which === 'org' ? fe : undefined;
  const didFe = which === 'dids' ? fe : undefined;
  return html`<h2 id="org-h">Organisation</h2>
<form method="post" action="/settings/org" class="card" novalidate>${errorSummary(orgFe)}${csrf}
  <div class="field"><label for="orgName">Name</label><input id="orgName" name="name" type="text" maxlength="200" value="${v.orgName}"${invalidAttrs(orgFe, 'orgName')}>${fieldError(orgFe, 'orgName')}</div>
  <div class="field"><label for="region">Region <span class="hint">two-letter country code (US, GB, DE…): how national numbers are read, and which emergency numbers can never be blocked</span></label><input id="region" name="region" type="text" maxlength="2" autocomplete="off" value="${v.region}"${invalidAttrs(orgFe, 'region')}>${fieldError(orgFe, 'region')}</div>
  <button type="submit">Save name and region</button></form>
<h2 id="dids-h">Inbound numbers (DIDs)</h2>
<p class="muted">Calls to these numbers are screened for ${f.org.name}. They can never be blocked.</p>
${dids.length === 0 ? html`<p class="empty">No inbound numbers yet: calls find no organisation until one is added.</p>` : html`<ul class="plain">${dids.map((d) => html`<li>${d} <form class="inline" method="post" action="/settings/dids/remove" data-confirm="Remove ${d}? Calls to it will no longer find ${f.org.name}.">${csrf}<input type="hidden" name="numbers" value="${d}"><button type="submit" class="secondary" aria-label="Remove ${d}">Remove</button></form></li>`)}</ul>`}
<form method="post" action="/settings/dids" class="card" novalidate>${errorSummary(didFe)}${csrf}
  <div class="field"><label for="dids">Add inbound numbers <span class="hint">one per line or comma-separated, any format</span></label><textarea id="dids" name="numbers" rows="2"${invalidAttrs(didFe, 'dids')}>${v.dids}</textarea>${fieldError(didFe, 'dids')}</div>
  <button type="submit">Add numbers</button></form>`;
}

export interface OrgPageDeps {
  readonly ops: AdminOperations;
  readonly ctx: DaemonContext;
  /** The Settings page's sections after this one (issue #16's DID rules), drawn again on a refused form. */
  readonly moreSettings?: (f: Frame, a: Principal) => Promise<SafeHtml>;
}

export function registerOrgPages(app: FastifyInstance, deps: OrgPageDeps): void {
  const { ops, ctx } = deps;
  const numbersOf = (raw: string) =>
    raw
      .split(/[\n,;]+/)
      .map((s) => s.trim())
      .filter(Boolean);

  /** The whole Settings page again with this section's error at its field and what was typed. */
  const again = async (req: Parameters<typeof frameOf>[2], v: OrgFormValues, err: unknown, which: 'org' | 'dids') => {
    const fe = formErrorOf(
      err,
      ORG_FIELDS,
      { name: 'orgName', region: 'region', numbers: 'dids', number: 'dids' },
      'dids',
    );
    if (!fe) throw err;
    const { a, org, f } = await frameOf(ctx, ops, req, '/settings', 'Settings');
    const more = deps.moreSettings ? await deps.moreSettings(f, a) : html``;
    const body = html`${renderSettings(f, settingsValues(await ops.settings(a, org.slug)))}${renderOrgSection(f, await ctx.orgs.dids(org.id), v, fe, which)}${more}`;
    return { html: page(f, body), status: fe.status };
  };

  app.post('/settings/org', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/settings', 'Settings');
    const v: OrgFormValues = {
      orgName: field(req.body, 'name'),
      region: field(req.body, 'region').trim().toUpperCase(),
      dids: '',
    };
    try {
      await ops.updateOrgSettings(
        a,
        org.slug,
        {
          ...(v.orgName !== org.name ? { name: v.orgName } : {}),
          ...(v.region !== org.policy.region ? { region: v.region } : {}),
        },
        field(req.body, 'note'),
      );
      return await back(reply, '/settings', org.slug, 'org-saved');
    } catch (err) {
      const r = await again(req, v, err, 'org');
      return sendHtml(reply, r.html, r.status);
    }
  });

  app.post('/settings/dids', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/settings', 'Settings');
    const v: OrgFormValues = { orgName: org.name, region: org.policy.region, dids: field(req.body, 'numbers') };
    try {
      if (numbersOf(v.dids).length === 0)
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'type at least one inbound number', { field: 'dids' });
      const r = await ops.addDids(a, org.slug, numbersOf(v.dids));
      return await back(reply, '/settings', org.slug, 'dids-added', { count: r.added.length });
    } catch (err) {
      const r = await again(req, v, err, 'dids');
      return sendHtml(reply, r.html, r.status);
    }
  });

  app.post('/settings/dids/remove', { config: { access: 'settings' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/settings', 'Settings');
    const r = await ops.removeDids(a, org.slug, numbersOf(field(req.body, 'numbers')), field(req.body, 'note'));
    return back(reply, '/settings', org.slug, 'dids-removed', { count: r.removed.length });
  });
}
