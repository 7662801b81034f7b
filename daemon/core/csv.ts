/**
 * An RFC 4180 CSV reader with the separator as a parameter (comma, semicolon or tab: what
 * spreadsheets write in different locales): quoted fields, doubled quotes, CRLF or LF. Each record
 * carries the line it started on so every bad row can be reported by line number.
 *
 * One spreadsheet habit is accepted on purpose: Excel's `="+15551234567"` cell (a formula that keeps
 * a leading + or 0 from being eaten), unquoted or quoted (`"=""+1555…"""`), reads as its text.
 */
export interface CsvRecord {
  readonly line: number;
  readonly fields: readonly string[];
}

export class CsvSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
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

/** Longest field accepted (bytes of text); guards against a file that is one endless quoted field. */
const MAX_FIELD = 10_000;

/** Reads records from `start` (a character offset at a line start), numbering lines from `firstLine`. */
export function* readCsv(text: string, delimiter: CsvDelimiter = ',', start = 0, firstLine = 1): Generator<CsvRecord> {
  const sep = delimiter.charCodeAt(0);
  let i = start;
  let line = firstLine;
  const n = text.length;
  while (i < n) {
    const recordLine = line;
    const fields: string[] = [];
    let field = '';
    let done = false;
    while (!done) {
      // Excel's ="…" cell: skip the = and read the rest as a quoted field.
      const excel = text.charCodeAt(i) === 61 /* = */ && text.charCodeAt(i + 1) === 34;
      if (excel) i++;
      if (i < n && text.charCodeAt(i) === 34 /* " */) {
        i++;
        for (;;) {
          if (i >= n) throw new CsvSyntaxError(recordLine, `line ${recordLine}: a quoted field is never closed`);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
          if (field.length > MAX_FIELD) throw new CsvSyntaxError(recordLine, `line ${recordLine}: a field is longer than ${MAX_FIELD} characters`);
        }
        const next = text.charCodeAt(i);
        if (i < n && next !== sep && next !== 10 && next !== 13) {
          throw new CsvSyntaxError(line, `line ${line}: unexpected text after a closing quote`
            + (CSV_DELIMITERS.includes(text[i] as CsvDelimiter) ? ` (a ${delimiterName(text[i] as CsvDelimiter)}: the file is read as separated by ${delimiterName(delimiter)})` : ''));
        }
        if (!excel) field = unwrapExcel(field);
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === sep || c === 10 || c === 13) break;
          j++;
        }
        field = text.slice(i, j);
        if (field.length > MAX_FIELD) throw new CsvSyntaxError(recordLine, `line ${recordLine}: a field is longer than ${MAX_FIELD} characters`);
        if (field.includes('"')) throw new CsvSyntaxError(line, `line ${line}: a quote inside an unquoted field (a field with quotes must be quoted whole, its quotes doubled)`);
        i = j;
      }
      fields.push(field);
      field = '';
      const c = text.charCodeAt(i);
      if (i < n && c === sep) { i++; continue; }
      if (c === 13) i++;
      if (text.charCodeAt(i) === 10) i++;
      line++;
      done = true;
    }
    // Blank lines are skipped, not reported.
    if (!(fields.length === 1 && fields[0] === '')) yield { line: recordLine, fields };
  }
}

/** `="+1555…"` (a quoted field's text after unquoting) → `+1555…`; anything else as is. */
function unwrapExcel(field: string): string {
  return field.length >= 3 && field.startsWith('="') && field.endsWith('"') && !field.slice(2, -1).includes('"') ? field.slice(2, -1) : field;
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
  if (sep && CSV_DELIMITERS.includes(sep[1] as CsvDelimiter)) return { delimiter: sep[1] as CsvDelimiter, why: 'sep-line' };
  const unquoted = headerLine.replace(/"(?:[^"]|"")*"/g, '');
  const present = CSV_DELIMITERS.filter((d) => unquoted.includes(d));
  if (present.length === 0) return { delimiter: ',', why: 'none' };
  if (present.length === 1) return { delimiter: present[0]!, why: 'only' };
  const score = (d: CsvDelimiter): number => headerLine.split(d).filter((f) => isColumn(f.replace(/"/g, '').trim().toLowerCase())).length;
  const ranked = present.map((d) => ({ d, s: score(d) })).sort((a, b) => b.s - a.s);
  if (ranked[0]!.s > 0 && ranked[0]!.s > ranked[1]!.s) return { delimiter: ranked[0]!.d, why: 'columns' };
  return { delimiter: null, candidates: present };
}

/** Quotes a field when needed, and defuses spreadsheet formulas (=, +, -, @) in text columns. */
export function csvField(value: string, text = false): string {
  let v = value;
  if (text && /^[=+\-@]/.test(v)) v = "'" + v;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
