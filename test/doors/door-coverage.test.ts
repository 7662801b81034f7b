/**
 * Issue #17's door-coverage proof: every action of test/doors/door-actions.ts is reachable from the
 * API (a route the running admin server registered), the CLI (a command of the one commander tree)
 * and the panel (a page route) — or docs/doors.md says why that door does not offer it, in the same
 * words as the list. docs/doors.md's table is checked row by row against the list, so it cannot
 * drift. (What each route does is proven by the route's own tests; this one proves none is missing.)
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { Command } from 'commander';
import { buildProgram } from '../../daemon/cli/program.js';
import { startPanel } from '../support/panel.js';
import { DOOR_ACTIONS, type Door } from './door-actions.js';

const DOCS = readFileSync(new URL('../../docs/doors.md', import.meta.url), 'utf8');

function cliPaths(program: Command): Set<string> {
  const out = new Set<string>();
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      const words = [...prefix, sub.name()];
      out.add(words.join(' '));
      walk(sub, words);
    }
  };
  walk(program, []);
  return out;
}

/** The docs row of an action: `| id | what | api | cli | panel |`. */
export function docsRow(a: (typeof DOOR_ACTIONS)[number]): string {
  const cell = (d: Door) => (a[d] === null ? 'no — see below' : `\`${a[d]}\``);
  return `| \`${a.id}\` | ${a.what} | ${cell('api')} | ${cell('cli')} | ${cell('panel')} |`;
}

t.test('every action has every door, or docs/doors.md says why not', async (t) => {
  const { server } = await startPanel(t);
  const routes = new Set(server.routes.map((r) => `${r.method} ${r.url}`));
  const { program, session } = buildProgram({ stdout: { write: () => true }, stderr: { write: () => true }, env: {} });
  t.teardown(() => session.close());
  const commands = cliPaths(program);

  const ids = new Set<string>();
  for (const a of DOOR_ACTIONS) {
    t.notOk(ids.has(a.id), `${a.id}: listed once`);
    ids.add(a.id);
    if (a.api !== null) {
      const [method = '', path = ''] = a.api.split(' ');
      t.ok(routes.has(`${method} /api/v1${path}`), `${a.id}: API ${a.api}`);
    }
    if (a.cli !== null) t.ok(commands.has(a.cli), `${a.id}: CLI callscreen ${a.cli}`);
    if (a.panel !== null) {
      t.ok(routes.has(a.panel), `${a.id}: panel ${a.panel}`);
      t.notOk(a.panel.includes('/api/'), `${a.id}: the panel door is a page, not the API`);
    }
    for (const d of ['api', 'cli', 'panel'] as const) {
      const why = a.why?.[d];
      if (a[d] === null) {
        t.ok(why && why.length > 20, `${a.id}: why the ${d} does not offer it`);
        if (why) t.ok(DOCS.includes(`\`${a.id}\` — ${d}: ${why}`), `${a.id}: docs/doors.md gives the ${d} reason`);
      } else {
        t.equal(why, undefined, `${a.id}: no excuse for a ${d} door that exists`);
      }
    }
    t.ok(DOCS.includes(docsRow(a)), `${a.id}: its row in docs/doors.md matches the list`);
  }
});
