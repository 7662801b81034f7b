/**
 * The benchmarks' blocklist: org `bench` (region US) with its DIDs and N blocked numbers, imported from
 * a CSV as a site would. The numbering is bench-core's, shared by every bench that answers calls.
 * No Asterisk here (pbx-bench-kit.ts, which re-exports the numbering, needs the sandbox).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Services } from '../daemon/daemon-context.js';

/** The i-th blocked number: NANP, distinct for i < 8e9. */
export const blocked = (i: number): string => '+1' + String(2_000_000_000 + i * 7);
/** A caller that is never blocked (≡ 3 mod 7). */
export const random = (i: number): string => '+1' + String(2_000_000_000 + i * 7 + 3);

export interface BenchListOptions {
  /** Blocked numbers imported (mode reject). */
  readonly n: number;
  readonly dids: readonly string[];
  /** The i-th number (default `blocked`). */
  readonly number?: (i: number) => string;
  /**
   * Flood detection off for the org: the benches' callers are numbered neighbours, a flood by its
   * rules, whose holds would reject them all (default false).
   */
  readonly floodOff?: boolean;
}

/** Adds org `bench` to `s` and imports the list through `work/blocked.csv`. */
export async function importBenchList(s: Services, work: string, o: BenchListOptions): Promise<void> {
  const actor = { name: 'bench', source: 'cli', origin: 'bench' } as const;
  await s.orgs.add('bench', 'Bench', 'US', actor);
  await s.orgs.addDids('bench', o.dids, actor);
  if (o.floodOff === true) await s.flood.set('bench', { enabled: false }, actor);
  const number = o.number ?? blocked;
  const csv = join(work, 'blocked.csv');
  writeFileSync(
    csv,
    ['number,mode,name,reason', ...Array.from({ length: o.n }, (_, i) => `${number(i)},reject,,bench`)].join('\n') +
      '\n',
  );
  await s.importer.importFile(csv, 'bench', { ...actor, source: 'import' });
}
