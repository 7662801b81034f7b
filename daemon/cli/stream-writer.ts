/**
 * Writing large output (an export of a million rows) with backpressure: the next chunk is produced
 * only once the stream has taken the previous one, so memory stays flat whatever the reader's pace.
 * A stream that fails (a full disk, a closed pipe) rejects the pending write, so the command stops
 * at once instead of producing rows nobody receives.
 */
import { once } from 'node:events';
import { CallscreenError } from '../core/errors.js';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** The part of a Writable this needs; the in-process test streams have only `write`. */
export interface WritableLike {
  write(chunk: string): unknown;
  once?(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Writes `chunk`; when the stream says its buffer is full, waits for 'drain' (or its error). */
export async function writeAll(stream: WritableLike, chunk: string): Promise<void> {
  if (chunk === '') return;
  const accepted = stream.write(chunk);
  if (accepted !== false || typeof stream.once !== 'function') return;
  // events.once rejects on 'error', so a closed pipe or a failed disk ends the wait.
  await once(stream as unknown as NodeJS.EventEmitter, 'drain').catch((err: unknown) => {
    // The output failed, not the program: one line saying so, no stack trace.
    throw new CallscreenError(
      'CS_ERR_OUTPUT',
      `cannot write the output: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
}

/**
 * A file written whole or not at all: chunks go to `<file>.partial-<pid>`, which is fsynced and
 * renamed over `file` by `commit()`; `abort()` (or any failure) removes it. Mode 0640: an export
 * holds the numbers and names of an organisation's blocklist.
 */
export class AtomicFile {
  private readonly tmp: string;
  private fd: number | null;

  constructor(readonly file: string) {
    this.tmp = `${file}.partial-${process.pid}`;
    this.fd = openSync(this.tmp, 'w', 0o640);
  }

  write(chunk: string): void {
    if (this.fd === null) throw new Error(`${this.file}: write after close`);
    const buf = Buffer.from(chunk, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
  }

  commit(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    renameSync(this.tmp, this.file);
  }

  abort(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    rmSync(this.tmp, { force: true });
  }
}
