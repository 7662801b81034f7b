/** `callscreen dashboard`: the panel's Dashboard as text — blocked calls and messages per day, top blocked numbers. */
import type { Command } from 'commander';
import { DashboardQuery } from '../../admin/dashboard-query.js';
import type { CliContext } from '../cli-context.js';
import { positiveInt } from '../options.js';
import { formatTime, renderTable } from '../table.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('dashboard')
    .description("blocked calls and messages per day and the top blocked numbers (the panel's Dashboard)")
    .requiredOption('--org <org>', 'organisation')
    .option('--days <n>', 'how many days back (default 14, at most 366)', positiveInt('--days'))
    .option('--json', 'one JSON document')
    .action(async (o: { org: string; days?: number; json?: boolean }) => {
      const s = await ctx.services();
      const org = await s.orgs.require(o.org);
      // With several nodes on one PostgreSQL (issue #15): every node's calls, and each node's totals.
      const d = await new DashboardQuery(s.db, s.clock, s.shared?.pg ?? null).forOrg(
        org.id,
        Math.min(o.days ?? 14, 366),
      );
      if (o.json) {
        ctx.json({ org: org.slug, ...d });
        return;
      }
      ctx.out(
        `${d.totals.blocked} of ${d.totals.screened} screened calls and messages blocked in the last ${d.days.length} days`,
      );
      for (const l of renderTable(
        ['Day', 'Calls blocked', 'Messages blocked'],
        d.days.map((x) => [x.day, String(x.calls), String(x.messages)]),
      ))
        ctx.out(l);
      if (d.scope === 'node')
        ctx.out(`the shared store ${s.shared?.pg.where ?? ''} cannot be reached: this node's calls only`);
      if (d.nodes) {
        ctx.out('');
        for (const l of renderTable(
          ['Node', 'Screened', 'Blocked'],
          d.nodes.map((n) => [n.node, String(n.screened), String(n.blocked)]),
        ))
          ctx.out(l);
      }
      if (d.top.length > 0) {
        ctx.out('');
        for (const l of renderTable(
          ['Top blocked number', 'Blocked', 'Last'],
          d.top.map((t) => [t.number, String(t.count), formatTime(t.lastAt)]),
        ))
          ctx.out(l);
      }
    });
}
