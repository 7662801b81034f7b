/** `callscreen block | allow | unblock | disallow | list`: the block and allow lists of one organisation. */
import { Option, type Command } from 'commander';
import { BLOCK_MODES, type BlockMode } from '../../core/entry.js';
import { CallscreenError } from '../../core/errors.js';
import { describeTarget, MAX_LIST_PAGE, type EntryListItem, type Target } from '../../services/blocklist-service.js';
import type { EntryRecord } from '../../store/rows.js';
import type { CliContext } from '../cli-context.js';
import { addWhatIfOptions, whatIfGate, type WhatIfFlags } from '../what-if-gate.js';
import { exactlyOne, positiveInt } from '../options.js';
import { clip, formatTime, renderTable } from '../table.js';

interface TargetOptions {
  prefix?: string;
  pattern?: string;
  contact?: string;
  unidentified?: boolean;
}

function target(number: string | undefined, o: TargetOptions, allowOnly = false): Target {
  const what = allowOnly
    ? 'NUMBER, --prefix DIGITS or --pattern PATTERN'
    : 'NUMBER, --prefix DIGITS, --pattern PATTERN, --contact ID or --unidentified';
  return exactlyOne<Target>(what, [
    number !== undefined && { kind: 'exact', number },
    o.prefix !== undefined && { kind: 'prefix', prefix: o.prefix },
    o.pattern !== undefined && { kind: 'pattern', pattern: o.pattern },
    o.contact !== undefined && {
      kind: 'contact',
      contactId: /^\d+$/.test(o.contact.trim()) ? Number(o.contact) : Number.NaN,
    },
    o.unidentified === true && { kind: 'unidentified' },
  ]);
}

export function register(program: Command, ctx: CliContext): void {
  addWhatIfOptions(program.command('block [number]'))
    .description('block a number, a prefix, a contact (all its numbers) or unidentified callers')
    .requiredOption('--org <org>', 'organisation')
    .option('--prefix <digits>', 'block every number starting with these digits')
    .option(
      '--pattern <pattern>',
      'block numbers matching wildcards ("+1415555????", "?" = one digit, "*" at the end = any) or a range ("+14155550100..+14155550199")',
    )
    .option('--contact <id>', 'block every number of a contact, including numbers added later')
    .option('--unidentified', 'block callers with no usable caller id (anonymous, withheld, empty…)')
    .addOption(
      new Option(
        '--mode <mode>',
        "voicemail (block, allow voicemail) or reject (block all); default: the org's",
      ).choices([...BLOCK_MODES]),
    )
    .option('--name <text>', 'a name for the entry')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--by <user>', 'who is blocking (default $SUDO_USER/$USER)')
    .option('--expires <when>', 'when the block ends: 30d, 12h, 90m, 2w or an ISO-8601 date')
    .option(
      '--observe',
      'observe mode: match and record ("would have blocked") but let calls through, until `callscreen entry promote`',
    )
    .option(
      '--did <numbers...>',
      "only for calls to these of the org's DIDs (default: every call); replaces the DIDs of an existing entry",
    )
    .option('--json', 'print the entry as JSON')
    .action(
      async (
        number: string | undefined,
        o: TargetOptions &
          WhatIfFlags & {
            org: string;
            mode?: string;
            name?: string;
            reason?: string;
            by?: string;
            expires?: string;
            observe?: boolean;
            did?: string[];
            json?: boolean;
          },
      ) => {
        const t = target(number, o);
        const actor = ctx.actor(o.by);
        const options = {
          ...(o.mode !== undefined ? { mode: o.mode as BlockMode } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.reason !== undefined ? { reason: o.reason } : {}),
          ...(o.expires !== undefined ? { expires: o.expires } : {}),
          ...(o.observe ? { observe: true } : {}),
          ...(o.did !== undefined ? { dids: o.did } : {}),
        };
        if (await whatIfGate(ctx, o.org, { list: 'block', target: t, options }, o)) return;
        const s = await ctx.services();
        const e = await s.blocklist.block(o.org, t, options, actor);
        if (o.json) ctx.json(e);
        else
          ctx.out(
            `${e.observeSince !== null ? 'observing' : 'blocked'} ${describeTarget(e.kind, e.value)} in ${o.org} (${e.mode}${e.expiresAt !== null ? `, until ${formatTime(e.expiresAt)}` : ''}${scopeText(e)}; entry ${e.id})`,
          );
      },
    );

  addWhatIfOptions(program.command('allow [number]'))
    .description('always let a number or prefix through (wins over every block)')
    .requiredOption('--org <org>', 'organisation')
    .option('--prefix <digits>', 'allow every number starting with these digits')
    .option(
      '--pattern <pattern>',
      'allow numbers matching wildcards ("+1415555????") or a range ("+14155550100..+14155550199")',
    )
    .option('--did <numbers...>', "only for calls to these of the org's DIDs (default: every call)")
    .option('--name <text>', 'a name for the entry')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--expires <when>', 'when the allow ends: 30d, 12h, 90m, 2w or an ISO-8601 date')
    .option(
      '--attested',
      'only when the carrier attested the caller (STIR/SHAKEN A); otherwise the number is screened as usual',
    )
    .option('--json', 'print the entry as JSON')
    .action(
      async (
        number: string | undefined,
        o: TargetOptions &
          WhatIfFlags & {
            org: string;
            name?: string;
            reason?: string;
            by?: string;
            expires?: string;
            attested?: boolean;
            did?: string[];
            json?: boolean;
          },
      ) => {
        const t = target(number, o, true);
        const actor = ctx.actor(o.by);
        const options = {
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.reason !== undefined ? { reason: o.reason } : {}),
          ...(o.expires !== undefined ? { expires: o.expires } : {}),
          ...(o.did !== undefined ? { dids: o.did } : {}),
          ...(o.attested ? { requireAttestation: true } : {}),
        };
        if (await whatIfGate(ctx, o.org, { list: 'allow', target: t, options }, o)) return;
        const s = await ctx.services();
        const e = await s.blocklist.allow(o.org, t, options, actor);
        if (o.json) ctx.json(e);
        else
          ctx.out(
            `allowed ${describeTarget(e.kind, e.value)} in ${o.org}${e.requireAttestation ? ' when attested' : ''} (entry ${e.id}${scopeText(e)})`,
          );
      },
    );

  program
    .command('unblock [number]')
    .description('remove a block (its history is kept: who blocked it, when, who unblocked it)')
    .requiredOption('--org <org>', 'organisation')
    .option('--prefix <digits>', 'the prefix block to remove')
    .option('--pattern <pattern>', 'the pattern block to remove')
    .option('--contact <id>', 'the contact block to remove')
    .option('--unidentified', 'remove the block on unidentified callers')
    .option('--by <user>', 'who is unblocking (default $SUDO_USER/$USER)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--json', 'print the removed entry as JSON')
    .action(
      async (
        number: string | undefined,
        o: TargetOptions & { org: string; by?: string; reason?: string; json?: boolean },
      ) => {
        const t = target(number, o);
        const actor = ctx.actor(o.by);
        const s = await ctx.services();
        const e = await s.blocklist.unblock(o.org, t, actor, o.reason ?? '');
        if (o.json) ctx.json(e);
        else
          ctx.out(
            `unblocked ${describeTarget(e.kind, e.value)} in ${o.org} (blocked by ${e.createdBy} on ${formatTime(e.createdAt)})`,
          );
      },
    );

  program
    .command('disallow [number]')
    .description('remove an allow entry (its history is kept), so blocks apply to the number again')
    .requiredOption('--org <org>', 'organisation')
    .option('--prefix <digits>', 'the prefix allow entry to remove')
    .option('--pattern <pattern>', 'the pattern allow entry to remove')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--json', 'print the removed entry as JSON')
    .action(
      async (
        number: string | undefined,
        o: TargetOptions & { org: string; by?: string; reason?: string; json?: boolean },
      ) => {
        const t = target(number, o, true);
        const actor = ctx.actor(o.by);
        const s = await ctx.services();
        const e = await s.blocklist.disallow(o.org, t, actor, o.reason ?? '');
        if (o.json) ctx.json(e);
        else
          ctx.out(
            `removed the allow entry for ${describeTarget(e.kind, e.value)} in ${o.org} (allowed by ${e.createdBy} on ${formatTime(e.createdAt)})`,
          );
      },
    );

  program
    .command('list')
    .description("list an organisation's blocked (and allowed) numbers, newest first")
    .requiredOption('--org <org>', 'organisation')
    .option('--search <digits>', 'full or partial number in any format, or part of a name')
    .option('--all', 'include removed entries')
    .option(
      '--limit <n>',
      `at most this many rows (default 100, at most ${MAX_LIST_PAGE}; every entry: callscreen export)`,
      positiveInt('--limit'),
    )
    .option('--json', 'one JSON document')
    .action(async (o: { org: string; search?: string; all?: boolean; limit?: number; json?: boolean }) => {
      if (o.limit !== undefined && o.limit > MAX_LIST_PAGE) {
        // Refused rather than quietly cut to a page: `export` streams every entry.
        throw new CallscreenError(
          'CS_ERR_USAGE',
          `--limit ${o.limit} is more than ${MAX_LIST_PAGE} rows; for every entry use: callscreen export --org ${o.org}`,
          { key: 'limit' },
        );
      }
      const s = await ctx.services();
      const { total, entries } = await s.blocklist.list(o.org, {
        ...(o.search !== undefined ? { search: o.search } : {}),
        includeRemoved: o.all === true,
        limit: o.limit ?? 100,
      });
      if (o.json) {
        ctx.json({ org: o.org, total, entries });
        return;
      }
      if (entries.length === 0) {
        ctx.out(o.search ? `nothing in ${o.org} matches "${o.search}"` : `no blocked callers in ${o.org}`);
        return;
      }
      const headers = ['Caller ID', 'Name', 'Mode', 'Blocked By', 'Blocked On', 'Reason', 'Expires', 'Hits'];
      if (o.all) headers.push('Removed');
      for (const l of renderTable(
        headers,
        entries.map((e) => row(e, o.all === true)),
      ))
        ctx.out(l);
      if (total > entries.length)
        ctx.out(`(${entries.length} of ${total}; use --limit, --search, or callscreen export for every entry)`);
    });
}

/** `, on +15550100 +15550111` for an entry scoped to DIDs; '' for a whole-org one. */
export function scopeText(e: EntryRecord): string {
  return e.dids && e.dids.length > 0 ? `, on ${e.dids.join(' ')}` : '';
}

function callerId(e: EntryListItem): string {
  if (e.kind === 'contact')
    return `contact ${e.value} ${e.contact?.name ?? ''} (${e.contact?.numbers.join(' ') ?? ''})${scopeText(e)}`;
  if (e.kind === 'prefix') return `${e.value}*${scopeText(e)}`;
  if (e.kind === 'unidentified') return `(unidentified)${scopeText(e)}`;
  return `${e.value}${scopeText(e)}`;
}

/** The mode cell, with what keeps the entry from blocking (disabled, observing). */
function modeText(e: EntryListItem): string {
  const mode = e.list === 'allow' ? 'allow' : e.mode;
  if (e.disabledAt !== null) return `${mode} (disabled)`;
  if (e.observeSince !== null) return `${mode} (observing)`;
  return mode;
}

function row(e: EntryListItem, withRemoved: boolean): string[] {
  const mode = modeText(e);
  const expires = e.expiresAt === null ? '' : `${formatTime(e.expiresAt)}${e.expired ? ' (expired)' : ''}`;
  const cells = [
    callerId(e),
    clip(e.name, 30),
    mode,
    e.createdBy,
    formatTime(e.createdAt),
    clip(e.reason),
    expires,
    String(e.hitCount),
  ];
  if (withRemoved) cells.push(removed(e));
  return cells;
}

function removed(e: EntryRecord): string {
  return e.removedAt === null ? '' : `${formatTime(e.removedAt)} by ${e.removedBy ?? '?'}`;
}
