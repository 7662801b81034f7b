/**
 * Child process for the FastAGI flood (test/faults/fastagi-hostile.test.ts): opens the hostile
 * connections from its own event loop, as a real peer would, and prints one JSON line with how long
 * the server kept each. Usage: node --import tsx faults-agi-flood.ts <port> '<json [[kind, n], …]>'
 * Loopback only; every client gives up after 20 s, so the process always ends.
 */
import { randomBytes } from 'node:crypto';
import { drip, rawClient } from './faults-agi.js';

const KINDS: Record<string, Parameters<typeof rawClient>[1]> = {
  silent: () => undefined,
  'random 4 KiB': (s) => {
    s.write(randomBytes(4096));
  },
  '64 KiB line': (s) => {
    s.write(Buffer.alloc(64 * 1024, 0x62));
  },
  'never-ending line': drip('z'.repeat(200), 20),
  'endless env lines': drip('agi_y: 1\n'.repeat(10), 20),
  'slow drip': (s) => {
    s.write('agi_network: yes\n');
    return drip('a', 300)(s);
  },
};

const port = Number(process.argv[2]);
const spec = JSON.parse(process.argv[3] ?? '[]') as Array<[string, number]>;
const jobs = spec.flatMap(([kind, n]) => {
  const act = KINDS[kind];
  if (!act) throw new Error(`unknown kind ${kind}`);
  return Array.from({ length: n }, () => rawClient(port, act, 20_000).then((r) => ({ kind, ...r })));
});
const results = await Promise.all(jobs);
process.stdout.write(`${JSON.stringify(results)}\n`);
