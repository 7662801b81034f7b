/**
 * `callscreen edit ID` and `callscreen unblock-many`: change a block or allow entry in place (mode,
 * name, reason, expiry; the panel's Edit and the API's PATCH), and unblock many entries at once, all
 * or nothing (the panel's bulk Unblock). The CLI is the host operator: no role applies here.
 */
import { Option, type Command } from 'commander';
import { BLOCK_MODES, type BlockMode } from '../../core/entry.js';
import { CallscreenError } from '../../core/errors.js';
import { describeTarget, MAX_LIST_PAGE } from '../../services/blocklist-service.js';
import type { CliContext } from '../cli-context.js';
import { positiveInt } from '../options.js';
import { formatTime } from '../table.js';

const entryId = positiveInt('ID');

export function register(program: Command, ctx: CliContext): void {
  program
    .command('edit <id>')
    .description('change a block or allow entry in place: mode, name, reason, expiry (the entry id is in `list`)')
    .requiredOption('--org <org>', 'organisation')
    .addOption(
      new Option(
        '--mode <mode>',
        'voicemail (block, allow voicemail) or reject (block all); block entries only',
      ).choices([...BLOCK_MODES]),
    )
    .option('--name <text>', 'a new name')
    .option('--reason <text>', 'a new reason')
    .option('--expires <when>', 'when it ends: 30d, 12h, 90m, 2w, an ISO-8601 date, or "never"')
    .option('--note <text>', 'why you changed it (kept in the audit log)')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--json', 'print the entry as JSON')
    .action(
      async (
        id: string,
        o: {
          org: string;
          mode?: string;
          name?: string;
          reason?: string;
          expires?: string;
          note?: string;
          by?: string;
          json?: boolean;
        },
      ) => {
        const changes = {
          ...(o.mode !== undefined ? { mode: o.mode as BlockMode } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.reason !== undefined ? { reason: o.reason } : {}),
          ...(o.expires !== undefined ? { expires: o.expires === 'never' ? null : o.expires } : {}),
        };
        if (Object.keys(changes).length === 0)
          throw new CallscreenError('CS_ERR_USAGE', 'nothing to change: give --mode, --name, --reason or --expires');
        const s = await ctx.services();
        const org = await s.orgs.require(o.org);
        const before = await s.blocklist.getEntry(org.id, entryId(id));
        if (before && before.list === 'allow' && o.mode !== undefined)
          throw new CallscreenError('CS_ERR_USAGE', '--mode applies to block entries; an allow entry has none', {
            key: 'mode',
          });
        const e = await s.blocklist.edit(o.org, entryId(id), changes, ctx.actor(o.by), o.note ?? '');
        if (o.json) ctx.json(e);
        else
          ctx.out(
            `edited ${e.list} entry ${e.id} (${describeTarget(e.kind, e.value)}) in ${o.org}: ${e.list === 'block' ? `${e.mode}, ` : ''}${e.expiresAt === null ? 'no expiry' : `until ${formatTime(e.expiresAt)}`}${e.name ? `, “${e.name}”` : ''}`,
          );
      },
    );

  program
    .command('unblock-many [ids...]')
    .description(
      'unblock many block entries at once, all or nothing: by id, or --all (every entry, or every one matching --search)',
    )
    .requiredOption('--org <org>', 'organisation')
    .option('--all', 'every active block entry (matching --search when given)')
    .option('--search <text>', 'with --all: only entries matching this number (partial, any format) or name')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--by <user>', 'who is unblocking (default $SUDO_USER/$USER)')
    .option('--json', 'print the removed entries as JSON')
    .action(
      async (
        ids: string[],
        o: { org: string; all?: boolean; search?: string; reason?: string; by?: string; json?: boolean },
      ) => {
        if (ids.length > 0 === (o.all === true))
          throw new CallscreenError('CS_ERR_USAGE', 'give entry ids or --all (not both)');
        if (o.search !== undefined && !o.all)
          throw new CallscreenError('CS_ERR_USAGE', '--search goes with --all', { key: 'search' });
        const s = await ctx.services();
        let chosen = ids.map((i) => entryId(i));
        if (o.all) {
          chosen = [];
          for (let offset = 0; ; offset += MAX_LIST_PAGE) {
            const page = await s.blocklist.list(o.org, {
              list: 'block',
              search: o.search ?? '',
              limit: MAX_LIST_PAGE,
              offset,
            });
            chosen.push(...page.entries.map((e) => e.id));
            if (page.entries.length < MAX_LIST_PAGE) break;
          }
          if (chosen.length === 0)
            throw new CallscreenError(
              'CS_ERR_INVALID_VALUE',
              `no block entries${o.search ? ` match "${o.search}"` : ''} in ${o.org}; nothing to unblock`,
            );
        }
        const removed = await s.blocklist.removeMany(o.org, chosen, 'block', ctx.actor(o.by), o.reason ?? '');
        if (o.json) ctx.json({ org: o.org, unblocked: removed.length, entries: removed });
        else ctx.out(`unblocked ${removed.length} entr${removed.length === 1 ? 'y' : 'ies'} in ${o.org}`);
      },
    );
}
