/**
 * `callscreen entry …` and `callscreen rules …` (issue #16): act on one entry without deleting it —
 * disable, enable, observe, promote, read its observe report — and the org's rules that are not
 * entries: allowlist-only DIDs and the pattern minimum.
 */
import { Option, type Command } from 'commander';
import { BLOCK_MODES, type BlockMode } from '../../core/entry.js';
import { CallscreenError } from '../../core/errors.js';
import { describeTarget } from '../../services/blocklist-service.js';
import type { EntryRecord } from '../../store/rows.js';
import type { CliContext } from '../cli-context.js';
import { positiveInt } from '../options.js';
import { formatTime, renderTable } from '../table.js';
import { scopeText } from './entries.js';

interface ActOptions {
  org: string;
  by?: string;
  reason?: string;
  json?: boolean;
}

const entryId = positiveInt('ID');

export function register(program: Command, ctx: CliContext): void {
  const entry = program
    .command('entry')
    .description(
      'act on one block or allow entry by its id (see callscreen list --json): disable, enable, observe, promote, report',
    );

  const act = (
    name: string,
    description: string,
    run: (org: string, id: number, o: ActOptions) => Promise<EntryRecord>,
    said: (e: EntryRecord) => string,
  ): void => {
    entry
      .command(`${name} <id>`)
      .description(description)
      .requiredOption('--org <org>', 'organisation')
      .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
      .option('--reason <text>', 'why (kept in the audit log)')
      .option('--json', 'print the entry as JSON')
      .action(async (id: string, o: ActOptions) => {
        const e = await run(o.org, entryId(id), o);
        if (o.json) ctx.json(e);
        else ctx.out(`${said(e)}: ${describeTarget(e.kind, e.value)} in ${o.org} (entry ${e.id}${scopeText(e)})`);
      });
  };
  const rules = async () => (await ctx.services()).rules;
  act(
    'disable',
    'keep the entry but stop it matching (audited); enable brings it back',
    async (org, id, o) => (await rules()).setDisabled(org, id, true, ctx.actor(o.by), o.reason ?? ''),
    () => 'disabled',
  );
  act(
    'enable',
    'let a disabled entry match again (audited)',
    async (org, id, o) => (await rules()).setDisabled(org, id, false, ctx.actor(o.by), o.reason ?? ''),
    () => 'enabled',
  );
  act(
    'observe',
    'observe mode: the block matches and is recorded as "would have blocked", and lets calls through',
    async (org, id, o) => (await rules()).observe(org, id, ctx.actor(o.by), o.reason ?? ''),
    () => 'observing',
  );
  act(
    'promote',
    'end observe mode: from now on the entry blocks (read `callscreen entry report` first)',
    async (org, id, o) => (await rules()).promote(org, id, ctx.actor(o.by), o.reason ?? ''),
    (e) => `promoted, now ${e.mode}`,
  );

  entry
    .command('report <id>')
    .description('what an entry in observe mode matched and let through: calls, distinct numbers, the latest')
    .requiredOption('--org <org>', 'organisation')
    .option('--limit <n>', 'latest calls shown (default 20, at most 500)', positiveInt('--limit'))
    .option('--json', 'one JSON document')
    .action(async (id: string, o: { org: string; limit?: number; json?: boolean }) => {
      const r = await (await rules()).observeReport(o.org, entryId(id), o.limit ?? 20);
      if (o.json) {
        ctx.json(r);
        return;
      }
      const e = r.entry;
      if (r.observingSince === null) {
        ctx.out(
          `entry ${e.id} (${describeTarget(e.kind, e.value)}) is not in observe mode: it ${e.disabledAt !== null ? 'is disabled' : 'blocks'}`,
        );
        return;
      }
      ctx.out(
        `entry ${e.id} (${describeTarget(e.kind, e.value)}${scopeText(e)}) observing since ${formatTime(r.observingSince)}: would have ${e.mode === 'voicemail' ? 'sent to voicemail' : 'rejected'} ${r.hits} call(s) or message(s) from ${r.numbers} number(s)`,
      );
      if (r.recent.length > 0) {
        for (const l of renderTable(
          ['When', 'From', 'To', 'Channel'],
          r.recent.map((x) => [formatTime(x.at), x.number, x.to, x.channel]),
        ))
          ctx.out(l);
      }
      ctx.out(`to make it block: callscreen entry promote ${e.id} --org ${o.org}`);
    });

  const group = program
    .command('rules')
    .description("an organisation's rules that are not entries: allowlist-only DIDs, the pattern minimum");

  group
    .command('dids')
    .description("the organisation's DIDs and whether each is allowlist-only")
    .requiredOption('--org <org>', 'organisation')
    .option('--json', 'one JSON document')
    .action(async (o: { org: string; json?: boolean }) => {
      const dids = await (await rules()).didRules(o.org);
      if (o.json) {
        ctx.json({ org: o.org, dids });
        return;
      }
      if (dids.length === 0) {
        ctx.out(`no DIDs in ${o.org}; add one with: callscreen org did add ${o.org} NUMBER`);
        return;
      }
      for (const l of renderTable(
        ['DID', 'Screening'],
        dids.map((d) => [
          d.number,
          d.allowlistOnly === null ? 'as usual' : `allowlist-only (others: ${d.allowlistOnly})`,
        ]),
      ))
        ctx.out(l);
    });

  group
    .command('allowlist-only <did>')
    .description(
      'only allow-listed callers and contacts ring this DID; others go to voicemail or are rejected (--others), or --off',
    )
    .requiredOption('--org <org>', 'organisation')
    .addOption(new Option('--others <mode>', 'what callers who are not allowed get').choices([...BLOCK_MODES]))
    .option('--off', 'screen the DID as usual again')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--json', 'one JSON document')
    .action(
      async (
        did: string,
        o: { org: string; others?: string; off?: boolean; by?: string; reason?: string; json?: boolean },
      ) => {
        if ((o.others === undefined) === (o.off !== true)) {
          throw new CallscreenError('CS_ERR_USAGE', 'give exactly one of --others voicemail|reject or --off', {
            key: 'others',
          });
        }
        const mode = o.off ? null : (o.others as BlockMode);
        const r = await (await rules()).setAllowlistOnly(o.org, did, mode, ctx.actor(o.by), o.reason ?? '');
        if (o.json) ctx.json(r);
        else
          ctx.out(
            r.allowlistOnly === null
              ? `${r.number} in ${o.org} is screened as usual`
              : `${r.number} in ${o.org} is allowlist-only: callers not allowed and not contacts get ${r.allowlistOnly}`,
          );
      },
    );

  group
    .command('pattern-minimum [digits]')
    .description(
      'fewest fixed digits (after "+") a pattern may have in this org; no DIGITS prints it, "default" resets it (6)',
    )
    .requiredOption('--org <org>', 'organisation')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--json', 'one JSON document')
    .action(async (digits: string | undefined, o: { org: string; by?: string; reason?: string; json?: boolean }) => {
      const r = await rules();
      const value = digits === undefined ? undefined : digits === 'default' ? null : positiveInt('DIGITS')(digits);
      const m =
        value === undefined
          ? await r.minPatternDigits(o.org)
          : await r.setMinPatternDigits(o.org, value, ctx.actor(o.by), o.reason ?? '');
      if (o.json) ctx.json({ org: o.org, ...m });
      else
        ctx.out(
          `patterns in ${o.org} fix at least ${m.minPatternDigits} digits after "+"${m.isDefault ? ' (the default)' : ''}`,
        );
    });
}
