/**
 * `callscreen check`: the verdict the daemon would give, from the same core decide(), reading only
 * the asked org and that number's entries (NumberCheck): no index of every org is loaded, and no hit
 * or call is recorded.
 */
import { Option, type Command } from 'commander';
import { attestationText, parseVerstat } from '../../core/attestation.js';
import { CallscreenError } from '../../core/errors.js';
import { identitySettingsFrom } from '../../services/identity-settings.js';
import { CHANNELS, DIRECTIONS, type Channel, type Direction, type ScreenRequest } from '../../core/screen-request.js';
import { NumberCheck } from '../../services/number-check.js';
import type { CliContext } from '../cli-context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('check <from>')
    .description('what would happen to a call or SMS: FROM is the caller (inbound) or the agent (outbound, with --to)')
    .requiredOption('--org <org>', 'organisation')
    .option('--to <number>', 'the called number (inbound: a DID; outbound: the number dialled, which is screened)')
    .addOption(new Option('--channel <channel>', 'call or sms').choices([...CHANNELS]).default('call'))
    .addOption(new Option('--direction <direction>', 'inbound or outbound').choices([...DIRECTIONS]).default('inbound'))
    .option('--withheld', 'the network withheld the caller id (Privacy: id)')
    .option(
      '--verstat <value>',
      'the STIR/SHAKEN result the carrier sent: TN-Validation-Passed[-A|B|C], TN-Validation-Failed, No-TN-Validation',
    )
    .option('--json', 'one JSON document')
    .action(
      async (
        from: string,
        o: {
          org: string;
          to?: string;
          channel: Channel;
          direction: Direction;
          withheld?: boolean;
          verstat?: string;
          json?: boolean;
        },
      ) => {
        if (o.direction === 'outbound' && o.to === undefined) {
          throw new CallscreenError(
            'CS_ERR_USAGE',
            'an outbound check needs --to NUMBER (the number the agent dials)',
            { key: 'to' },
          );
        }
        const attestation = o.verstat !== undefined ? parseVerstat(o.verstat) : undefined;
        if (o.verstat !== undefined && attestation === undefined) {
          throw new CallscreenError(
            'CS_ERR_INVALID_VALUE',
            `--verstat "${o.verstat}" is not TN-Validation-Passed, TN-Validation-Passed-A/B/C, TN-Validation-Failed or No-TN-Validation`,
            { key: 'verstat', input: o.verstat },
          );
        }
        const s = await ctx.services();
        await s.orgs.require(o.org); // the catalogue's not-found error with its hint
        const req: ScreenRequest = {
          org: o.org,
          channel: o.channel,
          direction: o.direction,
          from,
          to: o.to ?? '',
          ...(o.withheld ? { withheld: true } : {}),
          ...(attestation ? { attestation } : {}),
        };
        const v = await new NumberCheck(s.db, s.normalizer, s.clock, identitySettingsFrom(() => ctx.config())()).screen(
          req,
        );
        if (o.json) {
          ctx.json({
            action: v.action,
            normalized: v.normalized,
            rule: v.rule,
            reason: v.reason,
            ...(v.sipCode !== undefined ? { sipCode: v.sipCode } : {}),
            ...(v.observed !== undefined ? { observed: v.observed } : {}),
            org: o.org,
            channel: o.channel,
            direction: o.direction,
            ...(attestation ? { attestation: attestationText(attestation) } : {}),
          });
          return;
        }
        ctx.out(`${v.action}  ${v.normalized}${v.sipCode !== undefined ? `  (SIP ${v.sipCode})` : ''}`);
        ctx.out(v.reason);
      },
    );
}
