/** A one-line progress bar for a terminal (redrawn with \r); used by import when stderr is a TTY. */
export class ProgressBar {
  private last = '';

  constructor(
    private readonly write: (s: string) => unknown,
    /** Bar width in characters (default 30). */
    private readonly width = 30,
  ) {}

  update(label: string, done: number, total: number): void {
    const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
    const filled = Math.round(frac * this.width);
    const text = `\r${label.padEnd(6)} [${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% ${done}/${total}`;
    if (text === this.last) return;
    this.last = text;
    this.write(text);
  }

  /** Ends the bar's line so the summary starts on its own. */
  done(): void {
    if (this.last) this.write('\n');
    this.last = '';
  }
}
