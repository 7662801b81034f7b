/**
 * Edit a block or allow entry in place (issue #17): its name, reason, mode (blocks) and expiry
 * change; the entry keeps its id, history and hit count. The form keeps what was typed on a refusal
 * (a supervisor weakening a block, a bad expiry) and shows the error at the field. Access is the
 * API's: `block` for block entries (weakening also needs `unblock`), `allow` for allow entries.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BLOCK_MODES, type BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { EntryRecord } from '../store/rows.js';
import type { AdminOperations, EntryEdit } from './admin-operations.js';
import { html, type SafeHtml } from './html-escape.js';
import { back, field, frameOf, idParam, sendHtml } from './page-kit.js';
import { page, when, type Frame } from './page-layout.js';
import { describeEntry, MODE_LABEL } from './page-views.js';
import { entryRulesCard } from './page-entry-state.js';
import { errorSummary, fieldError, formErrorOf, invalidAttrs, type FormError } from './panel-form-error.js';

export interface EditFormValues {
  readonly mode: string;
  readonly name: string;
  readonly reason: string;
  readonly expires: string;
}

const EDIT_FIELDS = ['mode', 'name', 'reason', 'expires'] as const;

/** The expiry as the form shows it: the exact instant (re-posting it unchanged changes nothing), or '' = never. */
function expiryValue(e: EntryRecord): string {
  return e.expiresAt === null ? '' : new Date(e.expiresAt).toISOString().replace('.000Z', 'Z');
}

export function renderEntryEdit(f: Frame, e: EntryRecord, v: EditFormValues, fe?: FormError): SafeHtml {
  const list = e.list === 'allow' ? 'allowed' : 'blocked';
  const input = (
    name: 'name' | 'reason' | 'expires',
    label: SafeHtml,
    attrs: SafeHtml,
  ) => html`<div class="field"><label for="${name}">${label}</label>
    <input id="${name}" name="${name}" value="${v[name]}"${attrs}${invalidAttrs(fe, name)}>${fieldError(fe, name)}</div>`;
  return html`<p>${e.list === 'allow' ? 'Allow' : 'Block'} entry <strong>${describeEntry(e)}</strong>, added by ${e.createdBy} on ${when(e.createdAt)}. Changes keep its history and hit count; the audit log records them.</p>
<form method="post" action="/${list}/${e.id}/edit" class="card" novalidate>${errorSummary(fe)}
  <input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">
  ${
    e.list === 'block'
      ? html`<fieldset><legend>How to block</legend>
    ${BLOCK_MODES.map((m) => html`<label><input type="radio" name="mode" value="${m}"${v.mode === m ? html` checked` : ''}> ${MODE_LABEL[m]}</label>`)}
    ${fieldError(fe, 'mode')}
    ${f.perms.unblock ? '' : html`<p class="hint">Only admins may make a block weaker (voicemail instead of reject, or an earlier end).</p>`}
  </fieldset>`
      : ''
  }
  ${input('name', html`Name <span class="hint">optional</span>`, html` type="text" maxlength="200"`)}
  ${input('reason', html`Reason <span class="hint">optional</span>`, html` type="text" maxlength="1000"`)}
  ${input('expires', html`Expires <span class="hint">empty = never; 30d, 12h, 2w or a date like 2026-12-31; a time ending in Z is UTC</span>`, html` type="text" maxlength="40"`)}
  <div class="field"><label for="note">Note <span class="hint">why you changed it; kept in the audit log</span></label><input id="note" name="note" type="text" maxlength="1000"></div>
  <div class="actions"><button type="submit">Save changes</button><a class="button secondary" href="/${list}?org=${f.org.slug}">Cancel</a></div>
</form>
${entryRulesCard(f, e)}`;
}

export function registerEntryEditPages(
  app: FastifyInstance,
  deps: { readonly ops: AdminOperations; readonly ctx: DaemonContext },
): void {
  const { ops, ctx } = deps;
  for (const list of ['block', 'allow'] as const) {
    const path = list === 'block' ? '/blocked' : '/allowed';
    const title = list === 'block' ? 'Edit blocked caller' : 'Edit allowed caller';

    const load = async (req: FastifyRequest) => {
      const fr = await frameOf(ctx, ops, req, path, title);
      const e = await ops.entry(fr.a, fr.org.slug, idParam(req));
      if (e.list !== list)
        throw new CallscreenError(
          'CS_ERR_ENTRY_NOT_FOUND',
          `entry ${e.id} is on the ${e.list} list, not the ${list} list`,
          { entry: e.id, list: e.list },
        );
      return { ...fr, e };
    };

    app.get(`${path}/:id/edit`, { config: { access: list } }, async (req, reply) => {
      const { f, e } = await load(req);
      return sendHtml(
        reply,
        page(f, renderEntryEdit(f, e, { mode: e.mode, name: e.name, reason: e.reason, expires: expiryValue(e) })),
      );
    });

    app.post(`${path}/:id/edit`, { config: { access: list } }, async (req, reply) => {
      const { a, org, f, e } = await load(req);
      const b = req.body;
      const v: EditFormValues = {
        mode: field(b, 'mode'),
        name: field(b, 'name'),
        reason: field(b, 'reason'),
        expires: field(b, 'expires'),
      };
      // Only what changed is sent: an untouched expiry is not re-read (it could not be weaker), and a
      // form posted with nothing changed is a no-op that still says "saved".
      const changes: EntryEdit = {
        ...(list === 'block' && v.mode !== '' && v.mode !== e.mode ? { mode: v.mode as BlockMode } : {}),
        ...(v.name !== e.name ? { name: v.name } : {}),
        ...(v.reason !== e.reason ? { reason: v.reason } : {}),
        ...(v.expires.trim() !== expiryValue(e) ? { expires: v.expires.trim() === '' ? null : v.expires.trim() } : {}),
      };
      try {
        if (list === 'block' && v.mode !== '' && !(BLOCK_MODES as readonly string[]).includes(v.mode)) {
          throw new CallscreenError(
            'CS_ERR_INVALID_VALUE',
            `choose how to block: ${MODE_LABEL.voicemail} or ${MODE_LABEL.reject}`,
            { field: 'mode' },
          );
        }
        if (Object.keys(changes).length > 0) await ops.editEntry(a, org.slug, e.id, list, changes, field(b, 'note'));
        return await back(reply, path, org.slug, 'edited', { ref: e.id });
      } catch (err) {
        const fe = formErrorOf(err, EDIT_FIELDS, { expiresAt: 'expires' }, null);
        if (!fe) throw err;
        return sendHtml(reply, page(f, renderEntryEdit(f, e, v, fe)), fe.status);
      }
    });
  }
}
