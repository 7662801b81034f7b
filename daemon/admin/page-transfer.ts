/**
 * Import / export page (issue #17). Export: the block and allow lists as CSV (re-imports as is) or
 * JSON (contact blocks too), downloaded. Import (admins): paste the CSV or pick a file (panel.js
 * reads it into the text box; without script, paste), choose the separator or let it be told from
 * the header, then Preview: a dry run that checks every row and shows what would change, or every
 * bad row by line. Nothing is written until "Import N rows" on the preview, which re-posts the same
 * text; the import is all or nothing.
 */
import type { FastifyInstance } from 'fastify';
import { parseDelimiter, type CsvDelimiter } from '../core/csv.js';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { AdminOperations } from './admin-operations.js';
import { API_IMPORT_BYTES } from './api-door-routes.js';
import { html, type SafeHtml } from './html-escape.js';
import { back, field, frameOf, query, sendHtml } from './page-kit.js';
import { page, when, type Frame } from './page-layout.js';
import { MODE_LABEL } from './page-views.js';
import type { ImportPreview, TransferOperations } from './transfer-operations.js';

interface ImportForm {
  readonly csv: string;
  readonly delimiter: string;
}

const SEPARATORS: ReadonlyArray<{ value: string; label: string }> = [
  { value: '', label: 'Tell from the header line' },
  { value: 'comma', label: 'Comma ,' },
  { value: 'semicolon', label: 'Semicolon ;' },
  { value: 'tab', label: 'Tab' },
];

function delimiterOf(raw: string): CsvDelimiter | undefined {
  if (raw === '') return undefined;
  const d = parseDelimiter(raw);
  if (d === null)
    throw new CallscreenError('CS_ERR_INVALID_VALUE', 'choose a separator from the list', { field: 'delimiter' });
  return d;
}

export function renderTransfer(f: Frame, v: ImportForm, preview?: ImportPreview): SafeHtml {
  const csrf = html`<input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}">`;
  const exportCard = html`<section class="card" aria-labelledby="export-h"><h2 id="export-h">Export</h2>
<p>The block and allow lists of ${f.org.name}. The CSV re-imports as is (here or with <code>callscreen import</code>); contact blocks are in the JSON only.</p>
<div class="actions"><a class="button" href="/export?org=${f.org.slug}&amp;format=csv" download>Download CSV</a><a class="button secondary" href="/export?org=${f.org.slug}&amp;format=json" download>Download JSON</a></div></section>`;
  if (!f.perms.import) return html`${exportCard}<p class="muted">Admins import lists.</p>`;
  return html`${preview ? renderPreview(f, v, preview) : ''}
<section class="card" aria-labelledby="import-h"><h2 id="import-h">Import</h2>
<p class="muted">A header row names the columns: <code>number</code> (required), and any of <code>kind</code>, <code>list</code>, <code>mode</code>, <code>name</code>, <code>reason</code>, <code>expires</code>, <code>blocked_by</code>, <code>blocked_at</code>. Comma, semicolon or tab separated; Excel's <code>="+1555…"</code> cells are read as text. You see a preview first; nothing is written until you confirm, and then all rows or none.</p>
<form method="post" action="/import" novalidate>${csrf}<input type="hidden" name="action" value="preview">
  <div class="field"><label for="file">CSV file <span class="hint">read into the box below</span></label><input id="file" type="file" accept=".csv,.txt,text/csv,text/plain" data-into="csv"></div>
  <div class="field"><label for="csv">CSV text</label><textarea id="csv" name="csv" rows="8" spellcheck="false">${v.csv}</textarea></div>
  <div class="field"><label for="delimiter">Separator</label><select id="delimiter" name="delimiter">${SEPARATORS.map((s) => html`<option value="${s.value}"${s.value === v.delimiter ? html` selected` : ''}>${s.label}</option>`)}</select></div>
  <button type="submit">Preview import</button>
</form></section>
${exportCard}`;
}

function renderPreview(f: Frame, v: ImportForm, p: ImportPreview): SafeHtml {
  if (!p.ok) {
    return html`<section class="card error" role="alert" aria-labelledby="preview-h"><h2 id="preview-h">Not imported: ${p.errorCount} bad ${p.errorCount === 1 ? 'row' : 'rows'}</h2>
<p>Nothing was written. Fix these rows and preview again${p.errorCount > p.errors.length ? html` (the first ${p.errors.length} are listed)` : ''}:</p>
<table class="stack"><thead><tr><th scope="col">Line</th><th scope="col">Problem</th></tr></thead><tbody>
${p.errors.map((e) => html`<tr><td data-label="Line">${e.line}</td><td data-label="Problem">${e.message}</td></tr>`)}</tbody></table></section>`;
  }
  const r = p.result;
  return html`<section class="card" aria-labelledby="preview-h"><h2 id="preview-h">Preview: nothing written yet</h2>
<p role="status">${r.rows} ${r.rows === 1 ? 'row' : 'rows'} checked: <strong>${r.added} new</strong>, <strong>${r.updated} updating</strong> an existing entry${r.duplicates ? html`, ${r.duplicates} repeated in the file (the last one counts)` : ''}.</p>
<table class="stack"><caption class="skip">The first rows of the file</caption><thead><tr><th scope="col">Line</th><th scope="col">List</th><th scope="col">Number or prefix</th><th scope="col">Mode</th><th scope="col">Name</th><th scope="col">Reason</th><th scope="col">Expires</th></tr></thead><tbody>
${p.sample.map(
  (
    row,
  ) => html`<tr><td data-label="Line">${row.line}</td><td data-label="List">${row.list}</td><td data-label="Number">${row.kind === 'unidentified' ? 'unidentified callers' : row.kind === 'prefix' ? `${row.value}…` : row.value}</td>
<td data-label="Mode">${row.list === 'block' ? MODE_LABEL[row.mode] : ''}</td><td data-label="Name">${row.name}</td><td data-label="Reason">${row.reason}</td><td data-label="Expires">${row.expiresAt === null ? 'never' : when(row.expiresAt)}</td></tr>`,
)}
</tbody></table>
${r.rows > p.sample.length ? html`<p class="muted">The first ${p.sample.length} of ${r.rows} rows are shown.</p>` : ''}
<form method="post" action="/import"><input type="hidden" name="_csrf" value="${f.csrf}"><input type="hidden" name="org" value="${f.org.slug}"><input type="hidden" name="action" value="import">
  <input type="hidden" name="csv" value="${v.csv}"><input type="hidden" name="delimiter" value="${v.delimiter}">
  <div class="actions"><button type="submit">Import ${r.rows} ${r.rows === 1 ? 'row' : 'rows'}</button><a class="button secondary" href="/import?org=${f.org.slug}">Cancel</a></div>
</form></section>`;
}

export function registerTransferPages(
  app: FastifyInstance,
  deps: { readonly ops: AdminOperations; readonly ctx: DaemonContext; readonly transfer: TransferOperations },
): void {
  const { ops, ctx, transfer } = deps;

  app.get('/import', { config: { access: 'view' } }, async (req, reply) => {
    const { f } = await frameOf(ctx, ops, req, '/import', 'Import / export');
    return sendHtml(reply, page(f, renderTransfer(f, { csv: '', delimiter: '' })));
  });

  // A pasted list can be far larger than an ordinary form (64 KiB): up to the API's import size.
  app.post('/import', { config: { access: 'import' }, bodyLimit: API_IMPORT_BYTES }, async (req, reply) => {
    const { a, org, f } = await frameOf(ctx, ops, req, '/import', 'Import / export');
    const v: ImportForm = { csv: field(req.body, 'csv'), delimiter: field(req.body, 'delimiter') };
    const delimiter = delimiterOf(v.delimiter);
    if (field(req.body, 'action') === 'import') {
      const r = await transfer
        .import(a, org.slug, v.csv, { ...(delimiter ? { delimiter } : {}), fileName: 'panel upload' })
        .catch((err: unknown) => {
          // The list changed between preview and import (or the text was altered): show why, again.
          if (err instanceof CallscreenError && err.code === 'CS_ERR_IMPORT_INVALID') return null;
          throw err;
        });
      if (r) return back(reply, '/import', org.slug, 'imported', { count: r.rows });
    }
    const preview = await transfer.preview(a, org.slug, v.csv, delimiter);
    return sendHtml(reply, page(f, renderTransfer(f, v, preview)), preview.ok ? 200 : 422);
  });

  app.get('/export', { config: { access: 'view' } }, async (req, reply) => {
    const { a, org } = await frameOf(ctx, ops, req, '/import', 'Import / export');
    const format = query(req, 'format') || 'csv';
    if (format !== 'csv' && format !== 'json')
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'query parameter "format" must be csv or json', {
        field: 'format',
        in: 'querystring',
      });
    const r = await transfer.export(a, org.slug, format);
    return reply
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${org.slug}-blocklist.${format}"`)
      .send(r.text);
  });
}
