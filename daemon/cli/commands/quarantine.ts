/**
 * `callscreen quarantine`: SMS held from blocked senders (seed 002) — list, release (deliver now),
 * delete, and release-all / delete-all for a contact or sender.
 *
 * Releasing must deliver. The running daemon's PBX link cannot be borrowed from here, so the CLI
 * opens its own for the command, chosen as the daemon chooses (pbxMessagingLink): AMI when [ami] is
 * enabled (`MessageSend`), else the inbound Event Socket when [esl_inbound] is (`sendevent
 * SMS::SEND_MESSAGE`; one-shot-deliverer.ts). With neither, or no login, release fails with
 * CS_ERR_UNAVAILABLE and the message stays held. List and delete need only the database.
 */
import type { Command } from 'commander';
import { CallscreenError } from '../../core/errors.js';
import type { Services } from '../../daemon-context.js';
import { QuarantineService } from '../../services/quarantine-service.js';
import type { CliContext } from '../cli-context.js';
import { oneShotDeliverer } from '../one-shot-deliverer.js';
import { nonNegativeInt, positiveInt } from '../options.js';
import { clip, formatTime, renderTable } from '../table.js';

async function withQuarantine<T>(ctx: CliContext, fn: (q: QuarantineService, s: Services) => Promise<T>): Promise<T> {
  const s = await ctx.services();
  const deliverer = oneShotDeliverer(ctx.config(), ctx);
  try {
    return await fn(new QuarantineService(s.db, s.audit, s.clock, deliverer), s);
  } finally {
    await deliverer?.close();
  }
}

const messageId = positiveInt('ID');

export function register(program: Command, ctx: CliContext): void {
  const q = program
    .command('quarantine')
    .description('SMS held from blocked senders: list, release (deliver now) or delete');

  q.command('list')
    .description('held messages, newest first')
    .requiredOption('--org <org>', 'organisation')
    .option('--status <status>', 'held (default), released or all')
    .option('--contact <id>', 'only this contact', positiveInt('--contact'))
    .option('--limit <n>', 'at most this many (default 100, at most 1000)', positiveInt('--limit'))
    .option('--offset <n>', 'skip this many (newest) first: the next page', nonNegativeInt('--offset'))
    .option('--json', 'one JSON document')
    .action(
      async (o: {
        org: string;
        status?: string;
        contact?: number;
        limit?: number;
        offset?: number;
        json?: boolean;
      }) => {
        const status = o.status === undefined ? 'held' : o.status;
        if (status !== 'held' && status !== 'released' && status !== 'all')
          throw new CallscreenError('CS_ERR_USAGE', `--status "${status}": use held, released or all`);
        await withQuarantine(ctx, async (quarantine, s) => {
          const org = await s.orgs.require(o.org);
          const { total, messages } = await quarantine.list(org.id, {
            status,
            limit: o.limit ?? 100,
            offset: o.offset ?? 0,
            ...(o.contact !== undefined ? { contactId: o.contact } : {}),
          });
          if (o.json) {
            ctx.json({ org: org.slug, total, messages });
            return;
          }
          if (messages.length === 0) {
            ctx.out(`no ${status === 'all' ? '' : `${status} `}messages for ${org.slug}`);
            return;
          }
          for (const l of renderTable(
            ['ID', 'Received', 'From', 'To', 'Contact', 'Deliver to', 'Status', 'Text'],
            messages.map((m) => [
              String(m.id),
              formatTime(m.receivedAt),
              m.from,
              m.to,
              m.contactName ?? '',
              m.deliverTo,
              m.status,
              clip(m.body.replace(/\s+/g, ' ')),
            ]),
          ))
            ctx.out(l);
          const shownTo = (o.offset ?? 0) + messages.length;
          if (total > shownTo)
            ctx.out(`(${(o.offset ?? 0) + 1}–${shownTo} of ${total}; next page: --offset ${shownTo})`);
        });
      },
    );

  q.command('release <id>')
    .description('deliver a held message now (logs in to the PBX: [ami] or [esl_inbound] must be enabled)')
    .requiredOption('--org <org>', 'organisation')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--json', 'one JSON document')
    .action(async (id: string, o: { org: string; by?: string; json?: boolean }) => {
      await withQuarantine(ctx, async (quarantine, s) => {
        const org = await s.orgs.require(o.org);
        const m = await quarantine.release(org.id, messageId(id), ctx.actor(o.by));
        if (o.json) ctx.json(m);
        else ctx.out(`released message ${m.id} from ${m.from} to ${m.deliverTo}`);
      });
    });

  q.command('delete <id>')
    .description('delete a held message for good')
    .requiredOption('--org <org>', 'organisation')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .action(async (id: string, o: { org: string; by?: string }) => {
      await withQuarantine(ctx, async (quarantine, s) => {
        const org = await s.orgs.require(o.org);
        await quarantine.delete(org.id, messageId(id), ctx.actor(o.by));
        ctx.out(`deleted message ${id}`);
      });
    });

  for (const action of ['release', 'delete'] as const) {
    q.command(`${action}-all`)
      .description(`${action} every held message of a contact or a sender number`)
      .requiredOption('--org <org>', 'organisation')
      .option('--contact <id>', 'the contact', positiveInt('--contact'))
      .option('--from <number>', 'the sender number')
      .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
      .action(async (o: { org: string; contact?: number; from?: string; by?: string }) => {
        if ((o.contact === undefined) === (o.from === undefined))
          throw new CallscreenError('CS_ERR_USAGE', 'give exactly one of --contact or --from');
        await withQuarantine(ctx, async (quarantine, s) => {
          const org = await s.orgs.require(o.org);
          const selector =
            o.contact !== undefined
              ? { contactId: o.contact }
              : { from: s.normalizer.normalizeNumber(o.from ?? '', org.policy.region) };
          const n = await quarantine.settleAll(org.id, selector, action, ctx.actor(o.by));
          ctx.out(`${action === 'release' ? 'released' : 'deleted'} ${n} message${n === 1 ? '' : 's'}`);
        });
      });
  }
}
