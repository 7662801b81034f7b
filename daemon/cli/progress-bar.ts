/**
 * A one-line progress bar for a terminal (redrawn with \r); used by import when stderr is a TTY.
 *
 * A redraw that is shorter than the one before (the write phase's `500/200000` after the check
 * phase's `200000/200001`) is padded with spaces to the earlier length: \r only moves the cursor,
 * so without the padding the old line's tail would stay on screen (`0% 500/2000001`). Spaces
 * rather than an erase-line escape, so a terminal or log that does not understand escapes shows
 * nothing odd.
 */
export class ProgressBar {
  private last = '';
  /** Length of the longest line drawn since the bar started (characters). */
  private drawn = 0;

  constructor(
    private readonly write: (s: string) => unknown,
    /** Bar width in characters (default 30). */
    private readonly width = 30,
  ) {}

  update(label: string, done: number, total: number): void {
    const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
    const filled = Math.round(frac * this.width);
    const shown = Math.min(done, total);
    const line = `${label.padEnd(6)} [${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% ${shown}/${total}`;
    if (line === this.last) return;
    this.last = line;
    this.write(`\r${line.padEnd(this.drawn)}`);
    this.drawn = Math.max(this.drawn, line.length);
  }

  /** Ends the bar's line so the summary starts on its own. */
  done(): void {
    if (this.last) this.write('\n');
    this.last = '';
    this.drawn = 0;
  }
}
