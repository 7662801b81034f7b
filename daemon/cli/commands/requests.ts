/** `callscreen requests`: block requests made from handsets by users who may not block, for an admin. */
import { Option, type Command } from 'commander';
import { CallscreenError } from '../../core/errors.js';
import type { BlockRequest } from '../../services/handset-block-service.js';
import type { CliContext } from '../cli-context.js';
import { renderTable } from '../table.js';

function requestId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new CallscreenError('CS_ERR_INVALID_VALUE', `request id "${text}" is not a number`, { key: 'id' });
  return id;
}

export function register(program: Command, ctx: CliContext): void {
  const req = program
    .command('requests')
    .description('block requests from handsets (feature codes) waiting for an admin');

  req
    .command('list')
    .description('list block requests (pending by default)')
    .requiredOption('--org <org>', 'organisation')
    .addOption(
      new Option('--status <status>', 'which').choices(['pending', 'approved', 'declined', 'all']).default('pending'),
    )
    .option('--json', 'one JSON document')
    .action(async (o: { org: string; status: BlockRequest['status'] | 'all'; json?: boolean }) => {
      const s = await ctx.services();
      const list = await s.handset.list(o.org, o.status);
      if (o.json) {
        ctx.json({ requests: list });
        return;
      }
      if (list.length === 0) {
        ctx.out(`no ${o.status === 'all' ? '' : `${o.status} `}block requests in ${o.org}`);
        return;
      }
      const rows = list.map((r) => [
        String(r.id),
        r.number,
        `${r.requestedBy} (${r.origin})`,
        new Date(r.requestedAt).toISOString(),
        r.status,
        r.why,
      ]);
      for (const line of renderTable(['id', 'number', 'requested by', 'when', 'status', 'why'], rows)) ctx.out(line);
    });

  req
    .command('approve <id>')
    .description('block the requested number (as you, with the org’s default mode)')
    .requiredOption('--org <org>', 'organisation')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--json', 'one JSON document')
    .action(async (id: string, o: { org: string; by?: string; json?: boolean }) => {
      const s = await ctx.services();
      const r = await s.handset.approve(o.org, requestId(id), ctx.actor(o.by));
      if (o.json) ctx.json(r);
      else ctx.out(`approved request ${r.id}: ${r.number} blocked (entry ${String(r.entryId)})`);
    });

  req
    .command('decline <id>')
    .description('decline a block request; the number stays unblocked')
    .requiredOption('--org <org>', 'organisation')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--json', 'one JSON document')
    .action(async (id: string, o: { org: string; reason?: string; by?: string; json?: boolean }) => {
      const s = await ctx.services();
      const r = await s.handset.decline(o.org, requestId(id), ctx.actor(o.by), o.reason ?? '');
      if (o.json) ctx.json(r);
      else ctx.out(`declined request ${r.id} (${r.number})`);
    });
}
