/** `callscreen audit`: the append-only log of changes to an organisation. */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { positiveInt } from '../options.js';
import { clip, formatTime, renderTable } from '../table.js';

export function register(program: Command, ctx: CliContext): void {
  program.command('audit')
    .description('who changed what, when, why and from where (newest first)')
    .requiredOption('--org <org>', 'organisation')
    .option('--limit <n>', 'at most this many events (default 50)', positiveInt('--limit'))
    .option('--json', 'one JSON document')
    .action(async (o: { org: string; limit?: number; json?: boolean }) => {
      const s = await ctx.services();
      const org = await s.orgs.require(o.org);
      const { total, events } = await s.audit.query({ orgId: org.id, limit: o.limit ?? 50 });
      if (o.json) {
        ctx.json({ org: org.slug, total, events });
        return;
      }
      if (events.length === 0) {
        ctx.out(`no audit events for ${org.slug}`);
        return;
      }
      for (const l of renderTable(['When', 'Who', 'Action', 'Target', 'Reason', 'From'], events.map((e) => [formatTime(e.at), e.actor, e.action, clip(e.target), clip(e.reason), e.origin]))) ctx.out(l);
      if (total > events.length) ctx.out(`(${events.length} of ${total}; use --limit)`);
    });
}
