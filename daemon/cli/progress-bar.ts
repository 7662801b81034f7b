/**
 * The import's one-line progress bar on a terminal (stderr a TTY), drawn by cli-progress: each
 * redraw moves to the line's start and erases what is right of the new text (ANSI `CSI 1G`,
 * `CSI 0K`), so a shorter line (the write phase's `500/200000` after the check phase's
 * `200001/200001`) leaves no stale characters of the longer one.
 *
 * This class only adapts the importer's `(phase, done, total)` reports: the phase is the bar's
 * label and a new total re-scales it. Every report that changes the line is drawn at once (the
 * importer reports every few thousand rows), not on cli-progress's timer, so what is shown depends
 * on the reports alone; `done()` draws the last state and ends the line.
 */
import { SingleBar } from 'cli-progress';

/** What the bar writes to: the CLI's stderr (tests pass a capture). */
export interface ProgressOutput {
  write(s: string): unknown;
}

export class ProgressBar {
  private bar: SingleBar | null = null;

  constructor(
    private readonly out: ProgressOutput,
    /** Bar width in characters (default 30). */
    private readonly width = 30,
  ) {}

  update(label: string, done: number, total: number): void {
    const value = Math.max(0, Math.min(done, total));
    const payload = { label: label.padEnd(6) };
    if (this.bar === null) {
      this.bar = new SingleBar({
        // cli-progress writes, asks isTTY and reads columns; nothing else of a stream.
        stream: {
          write: (s: string) => {
            this.out.write(s);
            return true;
          },
          isTTY: true,
          columns: 200,
        } as unknown as NodeJS.WritableStream,
        format: '{label} [{bar}] {percentage}% {value}/{total}',
        formatValue: (v, _o, type) => (type === 'percentage' ? String(v).padStart(3) : String(v)),
        barsize: this.width,
        barCompleteChar: '#',
        barIncompleteChar: '.',
        // Drawn per report (below); cli-progress's own timer redraws only a changed line, which only
        // a report makes. No SIGINT handler of its own: the CLI's stays in charge.
        fps: 1,
        synchronousUpdate: false,
        gracefulExit: false,
        linewrap: true,
      });
      this.bar.start(total, value, payload);
      return;
    }
    this.bar.setTotal(total);
    this.bar.update(value, payload);
    this.bar.render();
  }

  /** Draws the last state and ends the bar's line so the summary starts on its own. */
  done(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
