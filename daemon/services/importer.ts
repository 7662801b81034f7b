/**
 * CSV import and export of block/allow entries.
 *
 * Import is all or nothing: every row is checked first and every bad row reported with its line;
 * only a fully valid file is written, in one transaction (a crash half-way leaves the database as
 * it was). `dryRun` reports what would change without writing.
 *
 * Columns (header row required, any order, only `number` required except for unidentified rows):
 * number, kind (exact|prefix|pattern|unidentified), list (block|allow), mode (voicemail|reject), name,
 * reason, expires (ISO-8601 or 30d…), blocked_by, blocked_at (ISO-8601), dids (the org's DIDs the
 * entry is limited to, space-separated; empty = every call), observe (yes: a block in observe mode),
 * disabled (yes: kept, never matches), attested (yes: an allow only for attested callers). `export`
 * writes the same, so a CSV export re-imports whole.
 * A pattern row (issue #16) is checked like `block --pattern`, the org's minimum included. A file
 * without the dids/observe/disabled/attested columns leaves those of existing entries as they are
 * (new ones: whole-org, enforced).
 */
import { readFileSync, statSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import {
  csvField,
  CSV_DELIMITERS,
  CsvSyntaxError,
  delimiterName,
  readCsvBatches,
  sniffDelimiter,
  type CsvDelimiter,
} from '../core/csv.js';
import { parseExpiry } from '../core/duration.js';
import { emergencyNumbers } from '../core/emergency-numbers.js';
import { BLOCK_MODES, type BlockMode, type EntryKind, type ListKind } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import { checkBreadth, compilePattern, PATTERN_MIN_DIGITS_DEFAULT } from '../core/number-pattern.js';
import type { NumberNormalizer } from '../core/phone-number.js';
import type { Database, SqlParam } from '../store/database.js';
import type { Org } from '../store/rows.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';
import { cleanText, MAX_NAME, MAX_REASON, toListItem, type BlocklistService } from './blocklist-service.js';
import type { OrgService } from './org-service.js';

export interface ImportRow {
  readonly line: number;
  readonly list: ListKind;
  readonly kind: Exclude<EntryKind, 'contact'>;
  readonly value: string;
  readonly mode: BlockMode;
  readonly name: string;
  readonly reason: string;
  readonly expiresAt: number | null;
  readonly createdBy: string;
  readonly createdAt: number;
  /** Columns of issue #16; null when the file has no such column (an existing entry keeps its own). */
  readonly dids: string | null;
  readonly observe: boolean | null;
  readonly disabled: boolean | null;
  readonly attested: boolean | null;
}

export interface RowError {
  readonly line: number;
  readonly message: string;
}

export interface ImportResult {
  readonly rows: number;
  readonly added: number;
  readonly updated: number;
  readonly duplicates: number;
  readonly dryRun: boolean;
}

export interface ImportOptions {
  readonly dryRun?: boolean;
  /** The file's separator; when absent it is sniffed from the header line (comma, semicolon, tab). */
  readonly delimiter?: CsvDelimiter;
  /** Called as rows are checked and written: (phase, done, total). */
  readonly onProgress?: (phase: 'check' | 'write', done: number, total: number) => void;
}

/** Largest file accepted (bytes, 512 MiB): ~10 million rows. */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;
/** Rows an export reads and formats per turn of the event loop (~2–5 ms of work). */
const EXPORT_PAGE = 500;
/** Rows checked between two turns of the event loop (~2–5 ms of work). */
const YIELD_EVERY = 256;
/** Rows checked between two progress reports. */
const PROGRESS_EVERY = 50_000;
/** Bad rows reported at most; the count of the rest is given. */
const MAX_REPORTED = 200;
const KNOWN_COLUMNS = [
  'number',
  'kind',
  'list',
  'mode',
  'name',
  'reason',
  'expires',
  'blocked_by',
  'blocked_at',
  'dids',
  'observe',
  'disabled',
  'attested',
] as const;
type KnownColumn = (typeof KNOWN_COLUMNS)[number];
/** Where each known column is in a header: its index, or -1 when the header does not name it (the first when named twice). */
type Columns = Readonly<Record<KnownColumn, number>>;

function columnsOf(header: readonly string[]): Columns {
  const at = (c: KnownColumn): number => header.indexOf(c);
  return {
    number: at('number'),
    kind: at('kind'),
    list: at('list'),
    mode: at('mode'),
    name: at('name'),
    reason: at('reason'),
    expires: at('expires'),
    blocked_by: at('blocked_by'),
    blocked_at: at('blocked_at'),
    dids: at('dids'),
    observe: at('observe'),
    disabled: at('disabled'),
    attested: at('attested'),
  };
}

/** A yes/no cell (yes, y, true, 1 / no, n, false, 0, empty); null when the header has no such column. */
function flag(fields: readonly string[], at: number, column: string): boolean | null {
  if (at < 0) return null;
  const v = cell(fields, at).toLowerCase();
  if (v === '' || v === 'no' || v === 'n' || v === 'false' || v === '0') return false;
  if (v === 'yes' || v === 'y' || v === 'true' || v === '1') return true;
  throw new CallscreenError('CS_ERR_INVALID_VALUE', `${column} "${clipText(v)}" is not yes or no`);
}

/** A row's cell in column `at` (trimmed), or '' when the header has no such column. */
function cell(fields: readonly string[], at: number): string {
  return at < 0 ? '' : (fields[at] ?? '').trim();
}

export class Importer {
  constructor(
    private readonly db: Database,
    private readonly orgs: OrgService,
    private readonly blocklist: BlocklistService,
    private readonly audit: AuditLog,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
  ) {}

  async importFile(path: string, orgSlug: string, actor: Actor, options: ImportOptions = {}): Promise<ImportResult> {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new CallscreenError('CS_ERR_FILE_NOT_FOUND', `cannot read ${path}`, { path });
    }
    if (size > MAX_IMPORT_BYTES) {
      throw new CallscreenError(
        'CS_ERR_IMPORT_INVALID',
        `${path} is ${size} bytes; the largest import is ${MAX_IMPORT_BYTES} bytes — split it`,
        { path, size },
      );
    }
    const text = decodeText(readFileSync(path), path);
    return this.importText(text, orgSlug, actor, { ...options, fileName: path });
  }

  async importText(
    text: string,
    orgSlug: string,
    actor: Actor,
    options: ImportOptions & { fileName?: string } = {},
  ): Promise<ImportResult> {
    const { org, unique, result } = await this.plan(text, orgSlug, actor, options);
    if (options.dryRun) return result;
    await this.write(org, [...unique.values()], actor, options.fileName ?? '(text)', result, options.onProgress);
    return result;
  }

  /**
   * A dry run that also returns the checked rows, in file order (the panel's preview lists the
   * first ones): the text is parsed and checked once. Throws CS_ERR_IMPORT_INVALID as importText does.
   */
  async preview(
    text: string,
    orgSlug: string,
    actor: Actor,
    options: Pick<ImportOptions, 'delimiter'> = {},
  ): Promise<{ result: ImportResult; rows: readonly ImportRow[] }> {
    const { rows, result } = await this.plan(text, orgSlug, actor, { ...options, dryRun: true });
    return { result, rows };
  }

  /** Checks every row and counts what writing them would add and update; writes nothing. */
  private async plan(
    text: string,
    orgSlug: string,
    actor: Actor,
    options: ImportOptions,
  ): Promise<{ org: Org; rows: ImportRow[]; unique: Map<string, ImportRow>; result: ImportResult }> {
    const org = await this.orgs.require(orgSlug);
    const rows = await this.check(text, org, actor, options.onProgress, options.delimiter);
    const unique = new Map<string, ImportRow>();
    for (const r of rows) unique.set(`${r.list}|${r.kind}|${r.value}`, r); // a later row wins
    const duplicates = rows.length - unique.size;
    const existing = await this.existingKeys(org.id);
    let updated = 0;
    for (const k of unique.keys()) if (existing.has(k)) updated++;
    const result = {
      rows: rows.length,
      added: unique.size - updated,
      updated,
      duplicates,
      dryRun: options.dryRun === true,
    };
    return { org, rows, unique, result };
  }

  /**
   * Parses and validates every row; throws CS_ERR_IMPORT_INVALID listing bad rows by line. The
   * separator is `delimiter` when given, else sniffed from the header line (csv.ts).
   */
  async check(
    text: string,
    org: Org,
    actor: Actor,
    onProgress?: ImportOptions['onProgress'],
    delimiter?: CsvDelimiter,
  ): Promise<ImportRow[]> {
    const errors: RowError[] = [];
    let errorCount = 0;
    const fail = (line: number, message: string): void => {
      errorCount++;
      if (errors.length < MAX_REPORTED) errors.push({ line, message });
    };
    const ownDids = await this.orgs.dids(org.id);
    const protectedSet = new Set([...emergencyNumbers(org.policy.region), ...ownDids]);
    const minPatternDigits =
      (
        await this.db.get<{ m: number | null }>(
          'SELECT min_pattern_digits AS m FROM org_admin_policy WHERE org_id = ?',
          [org.id],
        )
      )?.m ?? PATTERN_MIN_DIGITS_DEFAULT;
    const now = this.clock.now();
    const out: ImportRow[] = [];
    let header: string[] | null = null;
    // Where each known column is in the header (-1: absent), found once rather than per row.
    let cols: Columns | null = null;
    const approxTotal = Math.max(1, text.match(/\n/g)?.length ?? 0);
    const layout = headerLayout(text, delimiter);
    if ('error' in layout) fail(layout.line, layout.error);
    const sep = 'delimiter' in layout ? layout.delimiter : ',';
    let sinceYield = 0;
    let sinceProgress = 0;
    try {
      const batches = errorCount
        ? []
        : readCsvBatches(
            text,
            sep,
            'delimiter' in layout ? layout.start : 0,
            'delimiter' in layout ? layout.startLine : 1,
          );
      records: for await (const batch of batches) {
        for (const rec of batch) {
          // Checking a row costs ~10 µs (number parsing): a 1M-row file is seconds of CPU. Give the
          // event loop back every YIELD_EVERY rows so that calls screened by this process meanwhile
          // wait at most a few ms, not for the whole file (issue #13).
          if (++sinceYield >= YIELD_EVERY) {
            sinceYield = 0;
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
          if (header === null || cols === null) {
            const names = rec.fields.map((f) => f.trim().toLowerCase());
            header = names;
            cols = columnsOf(names);
            for (const problem of headerProblems(names, sep, delimiter !== undefined)) fail(rec.line, problem);
            if (errorCount) break records;
            continue;
          }
          if (onProgress && ++sinceProgress >= PROGRESS_EVERY) {
            sinceProgress = 0;
            onProgress('check', rec.line, approxTotal);
          }
          if (rec.fields.length !== header.length) {
            fail(
              rec.line,
              `has ${rec.fields.length} field${rec.fields.length === 1 ? '' : 's'}, the header has ${header.length}${otherSeparatorHint(rec.fields, header.length, sep)}`,
            );
            continue;
          }
          try {
            out.push(this.row(rec.line, rec.fields, cols, org, protectedSet, actor, now, minPatternDigits, ownDids));
          } catch (err) {
            fail(rec.line, err instanceof CallscreenError ? err.message : String(err));
          }
        }
      }
    } catch (err) {
      if (err instanceof CsvSyntaxError) fail(err.line, err.message.replace(/^line \d+: /, ''));
      else throw err;
    }
    if (header === null && errorCount === 0)
      fail(1, `the file is empty; expected a header row such as "number,mode,name,reason"`);
    if (errorCount > 0) {
      const more = errorCount > errors.length ? ` (and ${errorCount - errors.length} more)` : '';
      throw new CallscreenError(
        'CS_ERR_IMPORT_INVALID',
        `${errorCount} bad row(s); nothing was imported${more}:\n` +
          errors.map((e) => `  line ${e.line}: ${e.message}`).join('\n'),
        { errors, errorCount },
      );
    }
    onProgress?.('check', approxTotal, approxTotal);
    return out;
  }

  private row(
    line: number,
    fields: readonly string[],
    cols: Columns,
    org: Org,
    protectedSet: ReadonlySet<string>,
    actor: Actor,
    now: number,
    minPatternDigits: number,
    ownDids: readonly string[],
  ): ImportRow {
    const kindText = (cell(fields, cols.kind) || 'exact').toLowerCase();
    if (kindText !== 'exact' && kindText !== 'prefix' && kindText !== 'unidentified' && kindText !== 'pattern') {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `kind "${kindText}" is not one of exact, prefix, pattern, unidentified`,
      );
    }
    let kind: ImportRow['kind'] = kindText;
    const listText = (cell(fields, cols.list) || 'block').toLowerCase();
    if (listText !== 'block' && listText !== 'allow')
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `list "${listText}" is not block or allow`);
    const list = listText;
    const modeText = (cell(fields, cols.mode) || org.policy.defaultMode).toLowerCase();
    if (!BLOCK_MODES.includes(modeText as BlockMode))
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `mode "${modeText}" is not voicemail or reject`);
    let value = '';
    const number = cell(fields, cols.number);
    if (kind !== 'unidentified' && /^\d+(?:[.,]\d+)?e\+?\d+$/i.test(number)) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `number "${number}" is a spreadsheet's scientific notation, not the number: format the column as Text (or write ="+15551234567") and save again`,
      );
    }
    if (kind === 'exact') {
      value = this.normalizer.normalizeNumber(number, org.policy.region);
      if (list === 'block' && protectedSet.has(value))
        throw new CallscreenError(
          'CS_ERR_PROTECTED_NUMBER',
          `${value} is protected (emergency number or own DID) and cannot be blocked`,
        );
    } else if (kind === 'prefix') {
      value = this.normalizer.normalizePrefix(number, org.policy.region);
    } else if (kind === 'pattern') {
      value = this.blocklist.normalizePattern(number, org.policy.region);
      if (/^\+\d+\*$/.test(value)) {
        // Only a trailing "*": a prefix, stored as one (as `block --pattern` does).
        kind = 'prefix';
        value = value.slice(0, -1);
      } else checkBreadth(compilePattern(value), minPatternDigits);
    } else if (list === 'allow') {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'the unidentified class can only be blocked');
    }
    const expiresText = cell(fields, cols.expires);
    const blockedAt = cell(fields, cols.blocked_at);
    let createdAt = now;
    if (blockedAt) {
      createdAt = Date.parse(blockedAt);
      if (Number.isNaN(createdAt))
        throw new CallscreenError('CS_ERR_INVALID_VALUE', `blocked_at "${blockedAt}" is not an ISO-8601 time`);
    }
    const observe = flag(fields, cols.observe, 'observe');
    if (observe === true && list === 'allow')
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'observe mode is for blocks, not allow entries');
    const attested = flag(fields, cols.attested, 'attested');
    if (attested === true && list === 'block')
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        'attested is for allow entries (allow only when the carrier attested the caller)',
      );
    let dids: string | null = null;
    if (cols.dids >= 0) {
      const own = new Set<string>();
      for (const d of cell(fields, cols.dids)
        .split(/[\s;,]+/)
        .filter(Boolean)) {
        const n = this.normalizer.normalizeNumber(d, org.policy.region);
        if (!ownDids.includes(n))
          throw new CallscreenError(
            'CS_ERR_INVALID_VALUE',
            `dids: ${n} is not one of organisation "${org.slug}"'s numbers (DIDs)`,
          );
        own.add(n);
      }
      dids = [...own].sort().join(' ');
    }
    return {
      line,
      list,
      kind,
      value,
      dids,
      observe,
      disabled: flag(fields, cols.disabled, 'disabled'),
      attested,
      mode: modeText as BlockMode,
      name: cleanText(cell(fields, cols.name), 'name', MAX_NAME),
      reason: cleanText(cell(fields, cols.reason), 'reason', MAX_REASON),
      expiresAt: expiresText ? parseExpiry(expiresText, now) : null,
      createdBy: cleanText(cell(fields, cols.blocked_by), 'blocked_by', MAX_NAME) || actor.name,
      createdAt,
    };
  }

  private async existingKeys(orgId: number): Promise<Set<string>> {
    const keys = new Set<string>();
    await this.db.each(
      "SELECT list || '|' || kind || '|' || value AS k FROM entries WHERE org_id = ? AND removed_at IS NULL AND kind != 'contact'",
      [orgId],
      (r) => keys.add((r as { k: string }).k),
    );
    return keys;
  }

  private async write(
    org: Org,
    rows: readonly ImportRow[],
    actor: Actor,
    fileName: string,
    result: ImportResult,
    onProgress?: ImportOptions['onProgress'],
  ): Promise<void> {
    const COLS = 16;
    const PER_STATEMENT = 500; // 8,000 parameters, well under SQLite's 32,766
    // The columns of issue #16 are set on existing entries only when the file has them (one header, so
    // the same for every row); an entry already observing or disabled keeps when it started.
    const first = rows[0];
    const also = [
      first?.dids !== null ? 'dids = excluded.dids' : '',
      first?.observe !== null
        ? 'observe_since = CASE WHEN excluded.observe_since IS NULL THEN NULL ELSE coalesce(entries.observe_since, excluded.observe_since) END'
        : '',
      first?.disabled !== null
        ? 'disabled_at = CASE WHEN excluded.disabled_at IS NULL THEN NULL ELSE coalesce(entries.disabled_at, excluded.disabled_at) END, disabled_by = CASE WHEN excluded.disabled_at IS NULL THEN NULL ELSE coalesce(entries.disabled_by, excluded.disabled_by) END'
        : '',
      first?.attested !== null ? 'require_attestation = excluded.require_attestation' : '',
    ]
      .filter(Boolean)
      .map((c) => `, ${c}`)
      .join('');
    const now = this.clock.now();
    await this.db.transaction(async () => {
      for (let i = 0; i < rows.length; i += PER_STATEMENT) {
        const chunk = rows.slice(i, i + PER_STATEMENT);
        const params: SqlParam[] = [];
        for (const r of chunk) {
          params.push(
            org.id,
            r.list,
            r.kind,
            r.value,
            r.mode,
            r.name,
            r.reason,
            r.createdBy,
            r.createdAt,
            r.expiresAt,
            actor.source,
            r.dids ?? '',
            r.observe === true ? now : null,
            r.disabled === true ? now : null,
            r.disabled === true ? actor.name : null,
            r.attested === true ? 1 : 0,
          );
        }
        await this.db.run(
          `INSERT INTO entries (org_id, list, kind, value, mode, name, reason, created_by, created_at, expires_at, source, dids, observe_since, disabled_at, disabled_by, require_attestation)
           VALUES ${chunk.map(() => `(${new Array(COLS).fill('?').join(', ')})`).join(', ')}
           ON CONFLICT (org_id, value, kind, list) WHERE removed_at IS NULL
           DO UPDATE SET mode = excluded.mode, name = excluded.name, reason = excluded.reason, expires_at = excluded.expires_at${also}`,
          params,
        );
        if (onProgress && (i / PER_STATEMENT) % 100 === 0) onProgress('write', i + chunk.length, rows.length);
      }
      await this.audit.append(org.id, actor, 'import', fileName, '', { ...result });
    });
    onProgress?.('write', rows.length, rows.length);
  }

  /**
   * Streams every active entry of an org (no limit) to `write`, page by page, oldest first, from one
   * snapshot. `write` may return a promise (backpressure: the next page is read once it resolves);
   * an error from it or from SQLite ends the export with that error, so a caller never mistakes a
   * partial export for a whole one. CSV rows re-import as is; contact blocks are JSON only (a CSV
   * row holds one number) and are counted in `skippedContacts`.
   */
  async exportTo(
    orgSlug: string,
    format: 'csv' | 'json',
    write: (chunk: string) => void | Promise<void>,
  ): Promise<{ rows: number; skippedContacts: number }> {
    await this.orgs.require(orgSlug); // not-found before any output
    return this.db.readTransaction(async () => {
      let rows = 0;
      let skippedContacts = 0;
      await write(format === 'json' ? '[' : KNOWN_COLUMNS.join(',') + '\n');
      // Pages of EXPORT_PAGE rows: turning a page into JS objects and text runs on the event loop
      // that also answers calls, so a page must stay a few ms of work (issue #13).
      for await (const page of this.blocklist.pages(orgSlug, EXPORT_PAGE)) {
        let chunk = '';
        if (format === 'json') {
          const now = this.clock.now();
          for (const r of page) chunk += (rows++ === 0 ? '\n  ' : ',\n  ') + JSON.stringify(toListItem(r, now));
        } else {
          for (const r of page) {
            if (r.kind === 'contact') {
              skippedContacts++;
              continue;
            }
            rows++;
            chunk +=
              `${r.value},${r.kind},${r.list},${r.mode},${csvField(r.name, true)},${csvField(r.reason, true)},` +
              `${r.expires_at !== null ? new Date(r.expires_at).toISOString() : ''},${csvField(r.created_by, true)},${new Date(r.created_at).toISOString()},` +
              `${r.dids},${r.observe_since !== null ? 'yes' : ''},${r.disabled_at !== null ? 'yes' : ''},${r.require_attestation === 1 ? 'yes' : ''}\n`;
          }
        }
        await write(chunk);
      }
      if (format === 'json') await write(rows === 0 ? ']\n' : '\n]\n');
      return { rows, skippedContacts };
    });
  }

  /** The whole export as one string (small lists, tests); exportTo streams. */
  async export(
    orgSlug: string,
    format: 'csv' | 'json',
  ): Promise<{ text: string; rows: number; skippedContacts: number }> {
    const parts: string[] = [];
    const r = await this.exportTo(orgSlug, format, (chunk) => {
      parts.push(chunk);
    });
    return { text: parts.join(''), ...r };
  }
}

/** Where the CSV starts and which separator it uses, or why that cannot be told. */
type HeaderLayout = { delimiter: CsvDelimiter; start: number; startLine: number } | { error: string; line: number };

function headerLayout(text: string, given: CsvDelimiter | undefined): HeaderLayout {
  // The header is the first non-blank line (readCsv skips blank lines the same way).
  let start = 0;
  let line = 1;
  for (;;) {
    const end = text.indexOf('\n', start);
    const first = text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
    if (first.trim() !== '' || end < 0) {
      // Excel's `sep=;` line names the separator; it is not the header.
      const sep = /^sep=(.)$/i.exec(first);
      if (sep) {
        const d = sep[1] as CsvDelimiter;
        if (!CSV_DELIMITERS.includes(d))
          return { error: `"${first}" names a separator callscreen does not read; use comma, semicolon or tab`, line };
        if (end < 0) return { delimiter: given ?? d, start: text.length, startLine: line + 1 };
        return { delimiter: given ?? d, start: end + 1, startLine: line + 1 };
      }
      if (given) return { delimiter: given, start: 0, startLine: 1 };
      const sniffed = sniffDelimiter(first, isKnownColumn);
      if (sniffed.delimiter !== null) return { delimiter: sniffed.delimiter, start: 0, startLine: 1 };
      return {
        line,
        error:
          `the header "${clipText(first)}" contains ${sniffed.candidates.map(delimiterName).join(' and ')} and none of them splits it into known columns` +
          ` (${KNOWN_COLUMNS.join(', ')}): say which separates the columns with --delimiter (${sniffed.candidates.map(cliSpelling).join(', ')})`,
      };
    }
    start = end + 1;
    line++;
  }
}

function isKnownColumn(name: string): boolean {
  return (KNOWN_COLUMNS as readonly string[]).includes(name);
}

/** Column names that people use for the number; named in the message so the fix is obvious. */
const NUMBER_ALIASES = new Set([
  'phone',
  'phone number',
  'phone_number',
  'telephone',
  'tel',
  'caller',
  'caller id',
  'callerid',
  'caller_id',
  'cid',
  'msisdn',
  'mobile',
  'e164',
]);

/** What is wrong with a header (already trimmed and lower-cased), in words that say what was expected. */
function headerProblems(header: readonly string[], sep: CsvDelimiter, given: boolean): string[] {
  const unknown = header.filter((h) => !isKnownColumn(h));
  if (unknown.length === 0)
    return header.includes('number') ? [] : ['the header row must name a "number" column (the only one required)'];
  const [only] = header.length === 1 ? header : [];
  const other = only === undefined ? undefined : CSV_DELIMITERS.find((d) => d !== sep && only.includes(d));
  if (only !== undefined && other !== undefined) {
    return [
      `the header has one column \`${clipText(only)}\`: is the file separated by ${delimiterName(other)}? pass --delimiter ${cliSpelling(other)}` +
        (given ? ` (it was read with --delimiter ${cliSpelling(sep)})` : ''),
    ];
  }
  const alias = unknown.find((h) => NUMBER_ALIASES.has(h));
  const hint = alias !== undefined && !header.includes('number') ? `; rename "${alias}" to "number"` : '';
  return [
    `unknown column(s) ${unknown.map((u) => clipText(u)).join(', ')}; expected column names from: number (required), ${KNOWN_COLUMNS.filter((c) => c !== 'number').join(', ')}${hint}`,
  ];
}

/** A row of one field that another separator would split into the header's count. */
function otherSeparatorHint(fields: readonly string[], headerLength: number, sep: CsvDelimiter): string {
  const [only] = fields;
  if (fields.length !== 1 || only === undefined || headerLength < 2) return '';
  const other = CSV_DELIMITERS.find((d) => d !== sep && only.split(d).length === headerLength);
  return other === undefined
    ? ''
    : ` (this row is separated by ${delimiterName(other)}, the header by ${delimiterName(sep)})`;
}

function cliSpelling(d: CsvDelimiter): string {
  return d === '\t' ? 'tab' : `'${d}'`;
}

function clipText(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

/** UTF-8 (BOM optional) or UTF-16 with a BOM; anything else is refused with the line of the first bad byte. */
export function decodeText(buf: Buffer, name: string): string {
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
  else if (buf[0] === 0xff && buf[1] === 0xfe) return new TextDecoder('utf-16le').decode(buf.subarray(2));
  else if (buf[0] === 0xfe && buf[1] === 0xff) return new TextDecoder('utf-16be').decode(buf.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= buf.length; i++) {
      if (i === buf.length || buf[i] === 0x0a) {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(start, i));
        } catch {
          break;
        }
        line++;
        start = i + 1;
      }
    }
    throw new CallscreenError(
      'CS_ERR_IMPORT_INVALID',
      `${name} is not UTF-8 text (first bad byte on line ${line}); save it as UTF-8 CSV`,
      { line },
    );
  }
}
