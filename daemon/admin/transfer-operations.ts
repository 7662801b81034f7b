/**
 * Import and export from the panel and the API (issue #17), over the same Importer as the CLI.
 * Import is previewed first (a dry run: every row checked, what would change counted, bad rows
 * listed by line) and written all or nothing; it may add allow entries and weaken blocks, so it
 * needs the `import` action (admins). Export needs only `view`: it is the list the pages show.
 */
import type { CsvDelimiter } from '../core/csv.js';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { ImportResult, ImportRow, RowError } from '../services/importer.js';
import type { AdminOperations, Principal } from './admin-operations.js';

/** Rows a preview shows (the counts cover every row). */
export const PREVIEW_ROWS = 50;

export type ImportPreview =
  | { readonly ok: true; readonly result: ImportResult; readonly sample: readonly ImportRow[] }
  | { readonly ok: false; readonly errors: readonly RowError[]; readonly errorCount: number; readonly message: string };

export class TransferOperations {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly ops: AdminOperations,
  ) {}

  /** Checks every row and counts what would change; writes nothing. Bad rows come back listed, not thrown. */
  async preview(p: Principal, slug: string, text: string, delimiter?: CsvDelimiter): Promise<ImportPreview> {
    await this.ops.org(p, slug, 'import');
    const actor = { ...p.actor, source: 'import' as const };
    try {
      // One pass over the text: the counts and the sample come from the same checked rows.
      const { result, rows } = await this.ctx.importer.preview(text, slug, actor, delimiter ? { delimiter } : {});
      return { ok: true, result, sample: rows.slice(0, PREVIEW_ROWS) };
    } catch (err) {
      if (err instanceof CallscreenError && err.code === 'CS_ERR_IMPORT_INVALID') {
        const errors = Array.isArray(err.details.errors) ? (err.details.errors as RowError[]) : [];
        const errorCount = typeof err.details.errorCount === 'number' ? err.details.errorCount : errors.length;
        return { ok: false, errors, errorCount, message: err.message.split('\n')[0] ?? err.message };
      }
      throw err;
    }
  }

  /** Imports all or nothing (a bad row throws CS_ERR_IMPORT_INVALID, 422, listing the rows). */
  async import(
    p: Principal,
    slug: string,
    text: string,
    options: { dryRun?: boolean; delimiter?: CsvDelimiter; fileName?: string } = {},
  ): Promise<ImportResult> {
    await this.ops.org(p, slug, 'import');
    return this.ctx.importer.importText(
      text,
      slug,
      { ...p.actor, source: 'import' },
      {
        dryRun: options.dryRun === true,
        fileName: options.fileName ?? 'upload',
        ...(options.delimiter ? { delimiter: options.delimiter } : {}),
      },
    );
  }

  async export(p: Principal, slug: string, format: 'csv' | 'json') {
    await this.ops.org(p, slug, 'view');
    return this.ctx.importer.export(slug, format);
  }
}
