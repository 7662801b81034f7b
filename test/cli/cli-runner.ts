/**
 * Runs `callscreen` in-process (runCli) on a fresh, initialised SQLite file in a temp dir, with an
 * organisation "acme" (US), and captures stdout/stderr. For the command tests of issue #17.
 */
import { join } from 'node:path';
import { Database } from '../../daemon/store/database.js';
import { captureCli, type CliRun } from '../support/cli-capture.js';
import { tempDir, type TapLike } from '../support/harness.js';

export type Run = CliRun;

export interface CliRunner {
  readonly db: string;
  readonly dir: string;
  run(...argv: string[]): Promise<Run>;
  /** Like run, with stderr claiming to be a terminal (the import progress bar is drawn). */
  runTty(...argv: string[]): Promise<Run>;
  /** One number from the database (read-only connection). */
  scalar(sql: string, params?: Array<string | number>): Promise<number>;
}

/** One `callscreen --db DB …` in-process, output captured; `stdin` is what it reads, `tty` a terminal stderr. */
export function runOn(
  db: string,
  argv: readonly string[],
  options: { stdin?: string; tty?: boolean } = {},
): Promise<Run> {
  return captureCli(['--db', db, ...argv], { env: { USER: 'tester' }, ...options });
}

export async function cliWithOrg(t: TapLike): Promise<CliRunner> {
  const dir = tempDir(t);
  const db = join(dir, 'callscreen.db');
  const exec = (tty: boolean, argv: string[]): Promise<Run> => runOn(db, argv, { tty });
  for (const argv of [['init'], ['org', 'add', 'acme', '--name', 'Acme', '--region', 'US']]) {
    const r = await exec(false, argv);
    if (r.code !== 0) throw new Error(`callscreen ${argv.join(' ')} failed: ${r.err}`);
  }
  return {
    db,
    dir,
    run: (...argv) => exec(false, argv),
    runTty: (...argv) => exec(true, argv),
    async scalar(sql, params = []) {
      const d = await Database.open(db, { readOnly: true });
      try {
        const row = await d.get<{ v: number }>(sql, params);
        return row?.v ?? Number.NaN;
      } finally {
        await d.close();
      }
    },
  };
}

/**
 * What a terminal shows after `text` is written to it: \r returns to the line's start, \n ends it;
 * of the escapes, `CSI n G` moves to column n, `CSI 0K`/`CSI K` erases right of the cursor,
 * `CSI 2K` the whole line, `ESC 7`/`ESC 8` save and restore the column; other CSI sequences
 * (cursor visibility, line wrapping) change nothing shown.
 */
export function screen(text: string): string[] {
  const lines: string[] = [];
  let cur: string[] = [];
  let col = 0;
  let saved = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch === '\x1b') {
      if (text[i + 1] === '7') {
        saved = col;
        i++;
        continue;
      }
      if (text[i + 1] === '8') {
        col = saved;
        i++;
        continue;
      }
      // The CSI sequence after the ESC at i: `[`, parameters, one final letter.
      const csi = /^\[([?0-9;]*)([A-Za-z])/.exec(text.slice(i + 1, i + 16));
      if (!csi)
        throw new Error(`screen(): an escape it does not know at ${i}: ${JSON.stringify(text.slice(i, i + 8))}`);
      const [whole, arg = '', cmd] = csi;
      if (cmd === 'G') col = Math.max(0, Number(arg || '1') - 1);
      else if (cmd === 'K' && (arg === '' || arg === '0')) cur.length = Math.min(cur.length, col);
      else if (cmd === 'K' && arg === '2') cur = [];
      i += whole.length; // ESC and the sequence; the loop's i++ steps past the last.
      continue;
    }
    if (ch === '\n') {
      lines.push(cur.join(''));
      cur = [];
      col = 0;
      continue;
    }
    if (ch === '\r') {
      col = 0;
      continue;
    }
    cur[col++] = ch;
  }
  if (cur.length) lines.push(cur.join(''));
  return lines.map((l) => l.trimEnd());
}
