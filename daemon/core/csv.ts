/**
 * CSV for imports and exports. Reading is csv-parse's (RFC 4180: quoted fields, doubled quotes,
 * CRLF or LF), with the separator as a parameter (comma, semicolon or tab: what spreadsheets write
 * in different locales). This module adds what is ours: each record carries the line it started on
 * so every bad row is reported by line number, csv-parse's errors are said in the words the import
 * messages use, and the separator is sniffed from the header line.
 *
 * One spreadsheet habit is accepted on purpose: Excel's `="+15551234567"` cell (a formula that keeps
 * a leading + or 0 from being eaten), unquoted or quoted (`"=""+1555…"""`), reads as its text.
 */
import { CsvError, parse } from 'csv-parse';

export interface CsvRecord {
  readonly line: number;
  readonly fields: readonly string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** The separators sniffed and accepted, with the name a message uses for each. */
export const CSV_DELIMITERS = [',', ';', '\t'] as const;
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

export function delimiterName(d: CsvDelimiter): string {
  return d === '\t' ? 'tab' : `\`${d}\``;
}

/** How a --delimiter value is spelled on a command line: the character, or its name. */
export function parseDelimiter(text: string): CsvDelimiter | null {
  const t = text.trim().toLowerCase();
  if (text === '\t' || t === '\\t' || t === 'tab') return '\t';
  if (t === ',' || t === 'comma') return ',';
  if (t === ';' || t === 'semicolon') return ';';
  return null;
}

/** Longest field accepted (characters); guards against a file that is one endless quoted field. */
const MAX_FIELD = 10_000;

/**
 * The text is handed to the parser this many characters at a time (64 Ki): each piece is parsed in
 * one go (~1,500 rows, a few ms), and the event loop runs between pieces, so a million-row import
 * never holds the daemon's call path for the whole file.
 */
const FEED_CHARS = 65_536;

/**
 * An unquoted Excel cell `="…"` (at a field start, ending at a separator or line end) becomes the
 * quoted field `"…"`, which the parser reads as its text. Inside a well-formed quoted field quotes
 * come doubled, so this pattern can only match a cell of its own.
 */
function quoteExcelCells(text: string, sep: CsvDelimiter): string {
  const d = sep === '\t' ? '\\t' : sep;
  return text.replace(new RegExp(`(^|${d})="([^"\\r\\n]*)"(?=${d}|\\r?\\n|$)`, 'gm'), '$1"$2"');
}

/**
 * Reads records from `start` (a character offset at a line start), numbering lines from
 * `firstLine`, a batch per piece of FEED_CHARS (~1,500 records): the importer checks a batch in one
 * synchronous loop, where one `for await` turn per record cost a promise and a microtask each
 * (a million of them in a 1M-row import). Blank lines are skipped, not reported. Throws
 * CsvSyntaxError with the line. After quoteExcelCells an unquoted field never holds a quote (the
 * parser refuses one), so unwrapping `="…"` applies to quoted fields only.
 */
export async function* readCsvBatches(
  text: string,
  delimiter: CsvDelimiter = ',',
  start = 0,
  firstLine = 1,
): AsyncGenerator<CsvRecord[]> {
  const body = quoteExcelCells(start === 0 ? text : text.slice(start), delimiter);
  const offset = firstLine - 1;
  const parser = parse({
    delimiter,
    // The importer reports a row with the wrong number of fields itself, by line, with a hint.
    relax_column_count: true,
    // CRLF, LF or a lone CR, mixed in one file as spreadsheets and editors leave them.
    record_delimiter: ['\r\n', '\n', '\r'],
    // Bounds what one unterminated quoted field can buffer (characters of one record).
    max_record_size: MAX_FIELD * 8,
  });
  let parsed: string[][] = [];
  let failure: unknown = null;
  parser.on('data', (record: string[]) => parsed.push(record));
  parser.on('error', (err) => {
    failure ??= err;
  });
  // Lines are counted here rather than with csv-parse's `info` (an object per record, about twice
  // the parse time): blank lines come through as one empty field and are skipped (one line each);
  // a record takes one line plus the line breaks inside its quoted fields.
  let line = offset + 1;
  for (let i = 0, last = false; !last; i += FEED_CHARS) {
    last = i + FEED_CHARS >= body.length;
    parser.write(body.slice(i, i + FEED_CHARS));
    if (last) parser.end();
    // Records of this piece arrive in 'data' events before the next turn of the event loop, which
    // also lets timers and sockets (the call path) run between pieces.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const records = parsed;
    parsed = [];
    const batch: CsvRecord[] = [];
    for (const fields of records) {
      const at = line;
      line++;
      if (fields.length === 1 && fields[0] === '') continue;
      // csv-parse's array is ours: fields are unwrapped in place rather than copied.
      for (let k = 0; k < fields.length; k++) {
        const f = fields[k] ?? '';
        if (f.length > MAX_FIELD) {
          // The records before it are still checked (and their problems reported) first.
          if (batch.length > 0) yield batch;
          throw new CsvSyntaxError(at, `line ${at}: a field is longer than ${MAX_FIELD} characters`);
        }
        for (let nl = f.indexOf('\n'); nl >= 0; nl = f.indexOf('\n', nl + 1)) line++;
        if (f.length >= 3 && f.charCodeAt(0) === 61 /* = */) fields[k] = unwrapExcel(f);
      }
      batch.push({ line: at, fields });
    }
    if (batch.length > 0) yield batch;
    if (failure !== null) throw toSyntaxError(failure, offset, delimiter);
  }
}

/** readCsvBatches one record at a time (small files, tests). */
export async function* readCsv(
  text: string,
  delimiter: CsvDelimiter = ',',
  start = 0,
  firstLine = 1,
): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvBatches(text, delimiter, start, firstLine)) yield* batch;
}

/** csv-parse's error → ours, in the words the import messages use, with the file's line. */
function toSyntaxError(err: unknown, offset: number, delimiter: CsvDelimiter): unknown {
  if (!(err instanceof CsvError)) return err;
  const line = offset + (typeof err.lines === 'number' ? err.lines : 1);
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new CsvSyntaxError(line, `line ${line}: a quoted field is never closed`);
    case 'CSV_MAX_RECORD_SIZE':
      return new CsvSyntaxError(line, `line ${line}: a field is longer than ${MAX_FIELD} characters`);
    case 'CSV_INVALID_CLOSING_QUOTE': {
      const got = /got "(.)"/.exec(err.message)?.[1];
      const hint =
        got !== undefined && CSV_DELIMITERS.includes(got as CsvDelimiter)
          ? ` (a ${delimiterName(got as CsvDelimiter)}: the file is read as separated by ${delimiterName(delimiter)})`
          : '';
      return new CsvSyntaxError(line, `line ${line}: unexpected text after a closing quote${hint}`);
    }
    case 'INVALID_OPENING_QUOTE':
      return new CsvSyntaxError(
        line,
        `line ${line}: a quote inside an unquoted field (a field with quotes must be quoted whole, its quotes doubled)`,
      );
    default:
      return new CsvSyntaxError(line, `line ${line}: ${err.message}`);
  }
}

/** `="+1555…"` (a quoted field's text after unquoting) → `+1555…`; anything else as is. */
function unwrapExcel(field: string): string {
  return field.length >= 3 && field.startsWith('="') && field.endsWith('"') && !field.slice(2, -1).includes('"')
    ? field.slice(2, -1)
    : field;
}

export type SniffResult =
  | { readonly delimiter: CsvDelimiter; readonly why: 'only' | 'columns' | 'sep-line' | 'none' }
  | { readonly delimiter: null; readonly candidates: readonly CsvDelimiter[] };

/**
 * Which separator a file uses, from its header line. An Excel `sep=;` line decides; else the only
 * candidate that occurs (outside quotes); else the one that splits the header into the most names
 * `isColumn` knows; a header with none of them is one column (comma: nothing to split). When
 * several occur and none names more known columns, the answer is null with the candidates.
 */
export function sniffDelimiter(headerLine: string, isColumn: (name: string) => boolean): SniffResult {
  const sep = /^sep=(.)$/i.exec(headerLine.replace(/\r$/, ''));
  if (sep && CSV_DELIMITERS.includes(sep[1] as CsvDelimiter))
    return { delimiter: sep[1] as CsvDelimiter, why: 'sep-line' };
  const unquoted = headerLine.replace(/"(?:[^"]|"")*"/g, '');
  const present = CSV_DELIMITERS.filter((d) => unquoted.includes(d));
  const [only, ...others] = present;
  if (only === undefined) return { delimiter: ',', why: 'none' };
  if (others.length === 0) return { delimiter: only, why: 'only' };
  const score = (d: CsvDelimiter): number =>
    headerLine.split(d).filter((f) => isColumn(f.replace(/"/g, '').trim().toLowerCase())).length;
  const ranked = present.map((d) => ({ d, s: score(d) })).sort((a, b) => b.s - a.s);
  const [best, next] = ranked;
  if (best && next && best.s > 0 && best.s > next.s) return { delimiter: best.d, why: 'columns' };
  return { delimiter: null, candidates: present };
}

/** Quotes a field when needed, and defuses spreadsheet formulas (=, +, -, @) in text columns. */
export function csvField(value: string, text = false): string {
  let v = value;
  if (text && /^[=+\-@]/.test(v)) v = "'" + v;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
