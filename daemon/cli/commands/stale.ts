/**
 * `callscreen stale report | clean` (issue #16): an organisation's entries that do nothing — expired,
 * no hit in N days, shadowed by another entry — and their clean-up. `clean` is the CLI's confirm
 * step: it needs --dry-run (say what would go) or --yes (remove them, audited as unblocks/disallows).
 */
import type { Command } from 'commander';
import { CallscreenError } from '../../core/errors.js';
import {
  DEFAULT_STALE_DAYS,
  DEFAULT_STALE_LIMIT,
  MAX_STALE_LIMIT,
  STALE_CATEGORIES,
  type StaleCategory,
  type StaleEntry,
} from '../../services/stale-report.js';
import type { CliContext } from '../cli-context.js';
import { positiveInt } from '../options.js';
import { clip, formatTime, renderTable } from '../table.js';

function categories(text: string): StaleCategory[] {
  const out = text
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of out) {
    if (!(STALE_CATEGORIES as readonly string[]).includes(c)) {
      throw new CallscreenError('CS_ERR_USAGE', `--only "${c}" is not one of ${STALE_CATEGORIES.join(', ')}`, {
        key: '--only',
      });
    }
  }
  return out as StaleCategory[];
}

function target(e: StaleEntry): string {
  if (e.kind === 'prefix') return `${e.value}*`;
  if (e.kind === 'contact') return `contact ${e.value}`;
  if (e.kind === 'unidentified') return '(unidentified)';
  return e.value;
}

export function register(program: Command, ctx: CliContext): void {
  const stale = program
    .command('stale')
    .description('entries that do nothing (expired, unused, shadowed by another entry) and their clean-up');
  const common = (cmd: Command): Command =>
    cmd
      .requiredOption('--org <org>', 'organisation')
      .option(
        '--days <n>',
        `no hit in this many days counts as unused (default ${DEFAULT_STALE_DAYS})`,
        positiveInt('--days'),
      )
      .option('--only <categories>', `comma-separated: ${STALE_CATEGORIES.join(', ')} (default all)`, categories)
      .option('--json', 'one JSON document');

  common(stale.command('report'))
    .description('list expired, unused and shadowed entries, with why')
    .option(
      '--limit <n>',
      `entries listed (default ${DEFAULT_STALE_LIMIT}, at most ${MAX_STALE_LIMIT}; the counts cover all)`,
      positiveInt('--limit'),
    )
    .action(async (o: { org: string; days?: number; only?: StaleCategory[]; limit?: number; json?: boolean }) => {
      const s = await ctx.services();
      const r = await s.stale.report(o.org, {
        ...(o.days !== undefined ? { days: o.days } : {}),
        ...(o.only ? { categories: o.only } : {}),
        ...(o.limit !== undefined ? { limit: o.limit } : {}),
      });
      if (o.json) {
        ctx.json(r);
        return;
      }
      ctx.out(
        `stale entries in ${r.org}: ${r.counts.expired} expired, ${r.counts.unused} unused (no hit in ${r.days} days), ${r.counts.shadowed} shadowed`,
      );
      if (r.entries.length === 0) return;
      const rows = r.entries.map((e) => [
        String(e.id),
        e.category,
        target(e),
        e.list === 'allow' ? 'allow' : e.mode,
        String(e.hitCount),
        formatTime(e.lastHitAt),
        clip(e.why, 70),
      ]);
      for (const l of renderTable(['Entry', 'Category', 'Caller ID', 'Mode', 'Hits', 'Last hit', 'Why'], rows))
        ctx.out(l);
      if (r.total > r.entries.length) ctx.out(`(${r.entries.length} of ${r.total}; use --limit, --only or --json)`);
      ctx.out(`remove them: callscreen stale clean --org ${r.org} --dry-run, then --yes`);
    });

  common(stale.command('clean'))
    .description('remove the stale entries (each audited as an unblock or disallow); needs --dry-run or --yes')
    .option('--dry-run', 'say what would be removed; remove nothing')
    .option('--yes', 'remove them')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .action(
      async (o: {
        org: string;
        days?: number;
        only?: StaleCategory[];
        json?: boolean;
        dryRun?: boolean;
        yes?: boolean;
        reason?: string;
        by?: string;
      }) => {
        if (o.dryRun !== true && o.yes !== true) {
          throw new CallscreenError(
            'CS_ERR_USAGE',
            `say --dry-run to see what would be removed, or --yes to remove it (callscreen stale report --org ${o.org} lists it)`,
            { key: '--yes' },
          );
        }
        const actor = ctx.actor(o.by);
        const s = await ctx.services();
        const r = await s.stale.cleanUp(
          o.org,
          {
            ...(o.days !== undefined ? { days: o.days } : {}),
            ...(o.only ? { categories: o.only } : {}),
            dryRun: o.dryRun === true,
          },
          actor,
          o.reason ?? '',
        );
        if (o.json) {
          ctx.json(r);
          return;
        }
        const n = r.removed.expired + r.removed.unused + r.removed.shadowed;
        ctx.out(
          `${r.dryRun ? 'would remove' : 'removed'} ${n} entries from ${r.org}: ${r.removed.expired} expired, ${r.removed.unused} unused, ${r.removed.shadowed} shadowed${r.dryRun ? ' (dry run: nothing removed)' : ''}`,
        );
        if (r.dryRun && r.ids.length > 0)
          ctx.out(`entries: ${r.ids.slice(0, 50).join(' ')}${r.ids.length > 50 ? ' …' : ''}`);
      },
    );
}
