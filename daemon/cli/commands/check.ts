/**
 * `callscreen check`: the verdict the daemon would give, computed the same way (a ScreeningIndex
 * on a reader connection and the Screener, without recording hits or calls).
 */
import { Option, type Command } from 'commander';
import { CallscreenError } from '../../core/errors.js';
import { CHANNELS, DIRECTIONS, type Channel, type Direction, type ScreenRequest } from '../../core/screen-request.js';
import { Screener } from '../../services/screener.js';
import { ScreeningIndex } from '../../store/screening-index.js';
import { openReader } from '../../store/store.js';
import type { CliContext } from '../cli-context.js';

export function register(program: Command, ctx: CliContext): void {
  program.command('check <from>')
    .description('what would happen to a call or SMS: FROM is the caller (inbound) or the agent (outbound, with --to)')
    .requiredOption('--org <org>', 'organisation')
    .option('--to <number>', 'the called number (inbound: a DID; outbound: the number dialled, which is screened)')
    .addOption(new Option('--channel <channel>', 'call or sms').choices([...CHANNELS]).default('call'))
    .addOption(new Option('--direction <direction>', 'inbound or outbound').choices([...DIRECTIONS]).default('inbound'))
    .option('--withheld', 'the network withheld the caller id (Privacy: id)')
    .option('--json', 'one JSON document')
    .action(async (from: string, o: { org: string; to?: string; channel: Channel; direction: Direction; withheld?: boolean; json?: boolean }) => {
      if (o.direction === 'outbound' && o.to === undefined) {
        throw new CallscreenError('CS_ERR_USAGE', 'an outbound check needs --to NUMBER (the number the agent dials)', { key: 'to' });
      }
      const s = await ctx.services();
      const reader = await openReader(s.db.path, s.config.store.busy_timeout_ms);
      try {
        const index = new ScreeningIndex(reader, { cacheMax: 1000 });
        await index.loadAll();
        const screener = new Screener(index, s.normalizer, s.clock, null, s.config.screening.default_region);
        const req: ScreenRequest = { org: o.org, channel: o.channel, direction: o.direction, from, to: o.to ?? '', ...(o.withheld ? { withheld: true } : {}) };
        if (!screener.org(o.org)) await s.orgs.require(o.org); // the catalogue's not-found error with its hint
        const v = await screener.screen(req);
        if (o.json) {
          ctx.json({ action: v.action, normalized: v.normalized, rule: v.rule, reason: v.reason, ...(v.sipCode !== undefined ? { sipCode: v.sipCode } : {}), org: o.org, channel: o.channel, direction: o.direction });
          return;
        }
        ctx.out(`${v.action}  ${v.normalized}${v.sipCode !== undefined ? `  (SIP ${v.sipCode})` : ''}`);
        ctx.out(v.reason);
      } finally {
        await reader.close();
      }
    });
}
