/**
 * Writes a benchmark's generated part into a report that people also write in (BENCHMARKS.md):
 * only the text between `<!-- generated: NAME (begin) -->` and `<!-- generated: NAME (end) -->` is
 * replaced, so findings written by hand around it are kept, and live only in the report (never as
 * text inside a script). A file that does not exist yet is created with the section alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const begin = (name: string): string => `<!-- generated: ${name} (begin) -->`;
const end = (name: string): string => `<!-- generated: ${name} (end) -->`;

/** Replaces section `name` of `file` with `text`; throws naming the markers when they are missing. */
export function writeSection(file: string, name: string, text: string): void {
  const block = `${begin(name)}\n${text.trim()}\n${end(name)}`;
  if (!existsSync(file)) {
    writeFileSync(file, `${block}\n`);
    return;
  }
  const old = readFileSync(file, 'utf8');
  const from = old.indexOf(begin(name));
  const to = old.indexOf(end(name));
  if (from < 0 || to < from) {
    throw new Error(
      `${file} has no section ${name}: add the lines "${begin(name)}" and "${end(name)}" where it belongs`,
    );
  }
  writeFileSync(file, old.slice(0, from) + block + old.slice(to + end(name).length));
}
