/** `callscreen import | export`: move a block list in and out as CSV, JSON or a FreePBX AstDB. */
import { Option, type Command } from 'commander';
import { parseDelimiter, type CsvDelimiter } from '../../core/csv.js';
import { CallscreenError } from '../../core/errors.js';
import type { Actor } from '../../services/actor.js';
import { AstdbImport, type AstdbImportResult } from '../../services/astdb-import.js';
import type { ImportResult } from '../../services/importer.js';
import type { CliContext } from '../cli-context.js';
import { exactlyOne } from '../options.js';
import { ProgressBar } from '../progress-bar.js';
import { AtomicFile, writeAll } from '../stream-writer.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('import [file]')
    .description(
      'import a CSV (number,kind,list,mode,name,reason,expires,blocked_by,blocked_at) or a FreePBX AstDB; all or nothing',
    )
    .requiredOption('--org <org>', 'organisation')
    .option('--from-astdb <path>', "read the FreePBX blacklist from Asterisk's astdb.sqlite3 instead of a CSV")
    .option(
      '--delimiter <sep>',
      "the CSV's separator: ',' ';' or tab (default: told from the header line)",
      csvDelimiter,
    )
    .option('--dry-run', 'check every row and report what would change; write nothing')
    .option('--by <user>', 'who is importing (default $SUDO_USER/$USER)')
    .option('--json', 'print the summary as JSON')
    .action(
      async (
        file: string | undefined,
        o: { org: string; fromAstdb?: string; delimiter?: CsvDelimiter; dryRun?: boolean; by?: string; json?: boolean },
      ) => {
        const source = exactlyOne<{ csv: string } | { astdb: string }>('FILE.csv or --from-astdb PATH', [
          file !== undefined && { csv: file },
          o.fromAstdb !== undefined && { astdb: o.fromAstdb },
        ]);
        if ('astdb' in source && o.delimiter !== undefined) {
          throw new CallscreenError('CS_ERR_USAGE', '--delimiter applies to a CSV file, not to --from-astdb', {
            key: 'delimiter',
          });
        }
        const by = ctx.actor(o.by);
        const s = await ctx.services();
        const bar = ctx.io.stderr.isTTY ? new ProgressBar(ctx.io.stderr) : null;
        const options = {
          dryRun: o.dryRun === true,
          ...(o.delimiter !== undefined ? { delimiter: o.delimiter } : {}),
          ...(bar
            ? { onProgress: (phase: 'check' | 'write', done: number, total: number) => bar.update(phase, done, total) }
            : {}),
        };
        let result: ImportResult | AstdbImportResult;
        try {
          if ('csv' in source) {
            const actor: Actor = { ...by, source: 'import' };
            result = await s.importer.importFile(source.csv, o.org, actor, options);
          } else {
            const actor: Actor = { ...by, source: 'astdb' };
            result = await new AstdbImport(s.importer).importFile(source.astdb, o.org, actor, options);
          }
        } finally {
          bar?.done();
        }
        if (o.json) {
          ctx.json(result);
          return;
        }
        ctx.out(
          `${result.dryRun ? 'dry run (nothing written): ' : ''}rows: ${result.rows}, added: ${result.added}, updated: ${result.updated}, duplicates: ${result.duplicates}`,
        );
        if ('skipped' in result) for (const k of result.skipped) ctx.out(`skipped ${k.key}: ${k.why}`);
      },
    );

  program
    .command('export')
    .description('export the block and allow lists (CSV re-imports as is; contact blocks only in JSON)')
    .requiredOption('--org <org>', 'organisation')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .option('--output <file>', 'write to a file instead of stdout')
    .action(async (o: { org: string; format: 'csv' | 'json'; output?: string }) => {
      const s = await ctx.services();
      await s.orgs.require(o.org); // a wrong org fails before any file is made
      let result: { rows: number; skippedContacts: number };
      if (o.output !== undefined) {
        // Whole or nothing: a failure half-way leaves no partial file under the name asked for.
        const file = new AtomicFile(o.output);
        try {
          result = await s.importer.exportTo(o.org, o.format, (chunk) => file.write(chunk));
          file.commit();
        } finally {
          file.abort();
        }
      } else {
        result = await s.importer.exportTo(o.org, o.format, (chunk) => writeAll(ctx.io.stdout, chunk));
      }
      if (result.skippedContacts > 0)
        ctx.err(
          `note: ${result.skippedContacts} contact block(s) are not in the CSV (a CSV row holds one number); use --format json`,
        );
    });
}

/** --delimiter: the character (`,` `;` a real tab) or its name (comma, semicolon, tab, \t). */
function csvDelimiter(text: string): CsvDelimiter {
  const d = parseDelimiter(text);
  if (d === null)
    throw new CallscreenError('CS_ERR_USAGE', `--delimiter "${text}" is not one of ',' ';' tab (or comma, semicolon)`, {
      key: 'delimiter',
    });
  return d;
}
