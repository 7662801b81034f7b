/**
 * `callscreen …` run in this process (runCli) with what it prints captured, for the suites that check
 * a command's output and exit code without spawning the bin.
 */
import { Readable } from 'node:stream';
import { runCli } from '../../daemon/cli/program.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export interface CaptureOptions {
  /** The command's environment (default: empty; USER names the actor in the audit). */
  readonly env?: Readonly<Record<string, string>>;
  /** What it reads on stdin (default: nothing). */
  readonly stdin?: string;
  /** stderr claims to be a terminal (the import progress bar is drawn); default false. */
  readonly tty?: boolean;
}

export async function captureCli(argv: readonly string[], options: CaptureOptions = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runCli([...argv], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s), isTTY: options.tty === true },
    env: options.env ?? {},
    ...(options.stdin !== undefined ? { stdin: Readable.from([options.stdin]) } : {}),
  });
  return { code, out, err };
}
