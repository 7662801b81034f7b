/**
 * A strict RFC 4180 CSV reader: quoted fields, doubled quotes, CRLF or LF. Each record carries the
 * line it started on so every bad row can be reported by line number.
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

/** Longest field accepted (bytes of text); guards against a file that is one endless quoted field. */
const MAX_FIELD = 10_000;

export function* readCsv(text: string): Generator<CsvRecord> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let done = false;
    while (!done) {
      if (i < n && text.charCodeAt(i) === 34 /* " */) {
        i++;
        for (;;) {
          if (i >= n) throw new CsvSyntaxError(start, `line ${start}: a quoted field is never closed`);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
          if (field.length > MAX_FIELD) throw new CsvSyntaxError(start, `line ${start}: a field is longer than ${MAX_FIELD} characters`);
        }
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new CsvSyntaxError(line, `line ${line}: unexpected text after a closing quote`);
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 || c === 10 || c === 13) break;
          j++;
        }
        field = text.slice(i, j);
        if (field.length > MAX_FIELD) throw new CsvSyntaxError(start, `line ${start}: a field is longer than ${MAX_FIELD} characters`);
        if (field.includes('"')) throw new CsvSyntaxError(line, `line ${line}: a quote inside an unquoted field`);
        i = j;
      }
      fields.push(field);
      field = '';
      const c = text[i];
      if (c === ',') { i++; continue; }
      if (c === '\r') i++;
      if (text[i] === '\n') i++;
      line++;
      done = true;
    }
    // Blank lines are skipped, not reported.
    if (!(fields.length === 1 && fields[0] === '')) yield { line: start, fields };
  }
}

/** Quotes a field when needed, and defuses spreadsheet formulas (=, +, -, @) in text columns. */
export function csvField(value: string, text = false): string {
  let v = value;
  if (text && /^[=+\-@]/.test(v)) v = "'" + v;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
