/**
 * The top functions by self time of a `node --cpu-prof` profile, as a Markdown table (the
 * benchmarks' reports). Self time: the sampled time with that function on top of the stack.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/**
 * The `.cpuprofile` files in `dir` (one from `node --cpu-prof`, or one per profiled point from
 * bench-pbx-daemon's CS_BENCH_PROF_DIR), merged and summarised in `top` rows; '' when there is none.
 */
export function profileTable(dir: string, top = 20): string {
  if (!existsSync(dir)) return '';
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return '';
  const self = new Map<string, number>();
  let totalUs = 0;
  for (const file of files) {
    const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      nodes: ProfileNode[];
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    prof.samples.forEach((id, i) => {
      const dt = prof.timeDeltas[i] ?? 0;
      totalUs += dt;
      const n = byId.get(id);
      if (!n) return;
      const url = n.callFrame.url.replace(/^.*\/(daemon|node_modules)\//, '$1/');
      const key =
        `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
      self.set(key, (self.get(key) ?? 0) + dt);
    });
  }
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([k, us]) =>
        `| \`${k.replace(/\|/g, '\\|')}\` | ${(us / 1000).toFixed(0)} | ${((100 * us) / totalUs).toFixed(1)} % |`,
    );
  return `| function | self ms | share |\n| --- | ---: | ---: |\n${rows.join('\n')}\n`;
}
