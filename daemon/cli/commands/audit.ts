/** `callscreen audit`: the append-only log of changes to an organisation, with the API's filters. */
import type { Command } from 'commander';
import { CallscreenError } from '../../core/errors.js';
import type { CliContext } from '../cli-context.js';
import { positiveInt } from '../options.js';
import { clip, formatTime, renderTable } from '../table.js';

/** Most events one call returns (AuditLog.query caps there; the API's page is at most 500). */
const MAX_LIMIT = 1000;
const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

interface AuditOptions {
  org: string;
  actor?: string;
  action?: string;
  target?: string;
  since?: string;
  until?: string;
  limit?: number;
  offset?: number;
  json?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('who changed what, when, why and from where (newest first)')
    .requiredOption('--org <org>', 'organisation')
    .option('--actor <name>', 'only changes by this user (exact name)')
    .option('--action <action>', 'only this action (exact: block, unblock, allow, disallow, import, contact.add…)')
    .option('--target <text>', 'only targets containing this text (a number, "contact 3"…)')
    .option(
      '--since <when>',
      'from this time on: ISO-8601 (2026-12-01, 2026-12-01T09:00Z) or that long ago (90m, 12h, 7d, 2w)',
    )
    .option('--until <when>', 'before this time (same forms as --since)')
    .option('--limit <n>', `at most this many events (default 50, at most ${MAX_LIMIT})`, positiveInt('--limit'))
    .option('--offset <n>', 'skip this many (newest) events first: the next page', nonNegativeInt)
    .option('--json', 'one JSON document')
    .action(async (o: AuditOptions) => {
      if (o.limit !== undefined && o.limit > MAX_LIMIT) {
        throw new CallscreenError('CS_ERR_USAGE', `--limit ${o.limit} is more than ${MAX_LIMIT}; page with --offset`, {
          key: 'limit',
        });
      }
      const s = await ctx.services();
      const now = s.clock.now();
      // Times are checked before the org so a typo is named even for an org that does not exist.
      const since = o.since !== undefined ? pointInTime('--since', o.since, now) : undefined;
      const until = o.until !== undefined ? pointInTime('--until', o.until, now) : undefined;
      if (since !== undefined && until !== undefined && since >= until) {
        throw new CallscreenError(
          'CS_ERR_USAGE',
          `--since (${new Date(since).toISOString()}) is not before --until (${new Date(until).toISOString()})`,
          { key: 'since' },
        );
      }
      const org = await s.orgs.require(o.org);
      const limit = o.limit ?? 50;
      const offset = o.offset ?? 0;
      const { total, events } = await s.audit.query({
        orgId: org.id,
        ...(o.actor !== undefined ? { actor: o.actor } : {}),
        ...(o.action !== undefined ? { action: o.action } : {}),
        ...(o.target !== undefined ? { target: o.target } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        limit,
        offset,
      });
      if (o.json) {
        ctx.json({ org: org.slug, total, offset, events });
        return;
      }
      const filtered = [o.actor, o.action, o.target, o.since, o.until].some((f) => f !== undefined);
      if (events.length === 0) {
        ctx.out(
          total > 0
            ? `no audit events past --offset ${offset} (${total} in all)`
            : `no audit events for ${org.slug}${filtered ? ' match these filters' : ''}`,
        );
        return;
      }
      for (const l of renderTable(
        ['When', 'Who', 'Action', 'Target', 'Reason', 'From'],
        events.map((e) => [formatTime(e.at), e.actor, e.action, clip(e.target), clip(e.reason), e.origin]),
      ))
        ctx.out(l);
      if (total > offset + events.length)
        ctx.out(`(${offset + 1}–${offset + events.length} of ${total}; next page: --offset ${offset + events.length})`);
    });
}

function nonNegativeInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) {
    throw new CallscreenError('CS_ERR_USAGE', `--offset "${text}" is not a whole number (0 or more)`, {
      key: '--offset',
    });
  }
  return n;
}

/** An ISO-8601 date (midnight UTC) or time, or a duration before `now`; epoch ms. */
export function pointInTime(option: string, text: string, now: number): number {
  const s = text.trim();
  const ago = /^(\d{1,6})\s*([mhdw])$/i.exec(s);
  const agoMs = ago ? UNIT_MS[(ago[2] ?? '').toLowerCase()] : undefined;
  if (ago && agoMs !== undefined) return now - Number(ago[1]) * agoMs;
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) {
    const at = Date.parse(s.length === 10 ? s + 'T00:00:00Z' : s);
    if (!Number.isNaN(at)) return at;
  }
  throw new CallscreenError(
    'CS_ERR_USAGE',
    `${option} "${text}" is not a time: use an ISO-8601 date or time (2026-12-01, 2026-12-01T09:00Z) or a duration ago (90m, 12h, 7d, 2w)`,
    { key: option },
  );
}
