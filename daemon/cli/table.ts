/** Plain aligned text tables and time formatting for human CLI output. */

/** Columns padded to the widest cell, separated by two spaces; trailing spaces trimmed. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** `2026-11-01 09:30` in UTC (the CLI runs on servers; UTC avoids ambiguity), '' for null. */
export function formatTime(ms: number | null): string {
  if (ms === null) return '';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';
}

/** Shortens text for a table cell (full text is in --json). */
export function clip(text: string, max = 40): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? oneLine.slice(0, max - 1) + '…' : oneLine;
}
