/** `callscreen flood <org>`: show or change an organisation's flood and robocall detection settings. */
import { Option, type Command } from 'commander';
import { BLOCK_MODES } from '../../core/entry.js';
import { FLOOD_KEYS, type FloodPolicy } from '../../core/flood-policy.js';
import type { CliContext } from '../cli-context.js';

/** CLI option → policy key, for the numeric settings (validated by checkFloodChanges). */
const NUMERIC: ReadonlyArray<readonly [string, keyof FloodPolicy, string]> = [
  ['--max-calls <n>', 'maxCalls', 'hold one number calling more than N times within the window (default 5)'],
  ['--window <minutes>', 'windowMinutes', 'the sliding window every count is taken over (minutes, default 10)'],
  ['--prefix-digits <n>', 'prefixDigits', 'numbers differing only in their last N digits are neighbours (default 4)'],
  [
    '--prefix-max-calls <n>',
    'prefixMaxCalls',
    'hold the prefix after more than N calls from at least two neighbours (default 10)',
  ],
  ['--did-sweep <n>', 'didSweep', 'hold one number calling N different DIDs of the org within the window (default 4)'],
  ['--hold <minutes>', 'holdMinutes', 'how long a hold lasts before it expires by itself (minutes, default 60)'],
  [
    '--neighbour-max-calls <n>',
    'neighbourMaxCalls',
    "with --neighbour on: hold the DID's exchange after more than N calls from it (default 3)",
  ],
];

const camel = (flag: string): string =>
  (flag.replace(/^--/, '').split(' ')[0] ?? '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('flood <org>')
    .description('show or change flood and robocall detection: callers held by temporary automatic rules')
    .addOption(new Option('--enabled <on|off>', 'detection on or off (default on)').choices(['on', 'off']))
    .addOption(new Option('--mode <mode>', 'what a held caller gets (default voicemail)').choices([...BLOCK_MODES]))
    .addOption(
      new Option(
        '--neighbour <on|off>',
        "neighbour spoofing: count callers sharing the called DID's area code and exchange (default off)",
      ).choices(['on', 'off']),
    );
  for (const [flag, , help] of NUMERIC) cmd.option(flag, help);
  cmd
    .option('--reset', 'put every setting back to its default first')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--json', 'one JSON document')
    .action(async (slug: string, o: Record<string, string | boolean | undefined>) => {
      const s = await ctx.services();
      const changes: Record<string, unknown> = {};
      if (typeof o.enabled === 'string') changes.enabled = o.enabled === 'on';
      if (typeof o.neighbour === 'string') changes.neighbour = o.neighbour === 'on';
      if (typeof o.mode === 'string') changes.mode = o.mode;
      for (const [flag, key] of NUMERIC) {
        const v = o[camel(flag)];
        // Number('') is 0 and Number('5x') NaN: both are refused by the range check, naming the key.
        if (typeof v === 'string') changes[key] = v.trim() === '' ? Number.NaN : Number(v);
      }
      const reset = o.reset === true;
      const p =
        Object.keys(changes).length === 0 && !reset
          ? await s.flood.get(slug)
          : await s.flood.set(slug, changes, ctx.actor(typeof o.by === 'string' ? o.by : undefined), reset);
      if (o.json === true) {
        ctx.json({ org: p.org.slug, settings: p.effective, changed: Object.keys(p.changes) });
        return;
      }
      ctx.out(`flood detection for ${p.org.slug} (* = changed from the default)`);
      for (const k of FLOOD_KEYS) ctx.out(`${k in p.changes ? '*' : ' '} ${k.padEnd(18)} ${String(p.effective[k])}`);
    });
}
