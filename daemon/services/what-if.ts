/**
 * What-if before saving (issue #16): for a new or changed block or allow entry, replay the
 * organisation's recorded calls and messages (the `screened` table) of the last N days (default 30)
 * and say what the entry would have done — calls and distinct numbers whose verdict would change,
 * how many of those numbers agents called back (outbound records to them) or are contacts — without
 * saving anything. A broad entry (see `broadness`) must be confirmed with those figures before it is
 * saved: the CLI refuses it without --yes, the API answers 409 CS_ERR_CONFIRM_REQUIRED unless
 * `confirm: true`, the panel shows a confirm step.
 *
 * How: the proposed entry is put in a scratch in-memory database of the org and loaded by a
 * ScreeningIndex, so it is matched exactly as the call path would match it; for each recorded
 * (number, channel, direction) the core decision is asked twice, with the current rules and with
 * the current rules plus the proposal (`overlay`). Any rule kind the index and `decide` learn works
 * here unchanged. Numbers the proposal does not match are counted but never looked up.
 *
 * Cost: one SQL aggregation of the window's records (by the screened_org_at index) into a temp
 * table on a connection of its own, read back in pages of 1,000 groups, so memory stays flat however
 * many records there are; see docs/admin.md for measured figures.
 */
import type { Clock } from '../core/clock.js';
import { decide, type Matches } from '../core/decide.js';
import { parseExpiry } from '../core/duration.js';
import { BLOCK_MODES, type BlockMode, type EntryKind, type ListKind } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { ParsedCaller } from '../core/phone-number.js';
import type { Channel, Direction } from '../core/screen-request.js';
import type { VerdictAction } from '../core/verdict.js';
import type { Database, SqlParam } from '../store/database.js';
import type { EntryRow, Org } from '../store/rows.js';
import { ScreeningIndex } from '../store/screening-index.js';
import { openStore } from '../store/store.js';
import type { BlockOptions, BlocklistService, Target } from './blocklist-service.js';
import { cleanText, MAX_NAME, MAX_REASON } from './blocklist-service.js';
import {
  copyRows,
  hasEntries,
  overlay,
  scratchConnection,
  type CurrentRules,
  type CurrentRulesSource,
} from './current-rules.js';
import type { OrgService } from './org-service.js';

/** Days replayed when none are given. */
export const DEFAULT_WHAT_IF_DAYS = 30;
/** Longest window (days): the table keeps 1,000,000 records by default, rarely more than a year. */
export const MAX_WHAT_IF_DAYS = 366;
/**
 * A rule is broad, and must be confirmed, when the verdict would change for more than this many
 * distinct numbers in the window (default 25), or — for a block — for any contact or any number an
 * agent called back.
 */
export const BROAD_NUMBERS = 25;
/** Examples listed in a report (the numbers with the most calls changed). */
const EXAMPLES = 10;
/**
 * Groups (number × channel × direction) read per page from the temp table: each page is decided
 * synchronously on the event loop that answers calls, ~1-5 ms for 1,000 groups.
 */
const PAGE = 1000;
const DAY_MS = 86_400_000;

export interface Proposal {
  readonly list: ListKind;
  readonly target: Target;
  readonly options?: BlockOptions;
}

export interface WhatIfExample {
  readonly number: string;
  /** Records of this number whose verdict would change. */
  readonly calls: number;
  readonly before: VerdictAction;
  readonly after: VerdictAction;
  readonly calledBack: boolean;
  readonly contact: boolean;
}

export interface WhatIfReport {
  readonly org: string;
  readonly days: number;
  /** Window replayed, epoch ms. */
  readonly since: number;
  readonly until: number;
  readonly rule: {
    readonly list: ListKind;
    readonly kind: EntryKind;
    readonly value: string;
    readonly mode: BlockMode | null;
    readonly expiresAt: number | null;
    /** The active entry this proposal changes, or null for a new one. */
    readonly replaces: number | null;
  };
  /** Records of the org in the window (fail-mode ones, which the list never answered, included here only). */
  readonly replayed: { readonly calls: number };
  /** Records the proposed entry would have decided. */
  readonly matched: { readonly calls: number; readonly numbers: number };
  /** Records whose verdict would have been different, and their numbers. */
  readonly changed: {
    readonly calls: number;
    readonly inboundCalls: number;
    readonly inboundSms: number;
    /** Agents' own calls and messages to those numbers (they would have been warned, asked or refused). */
    readonly outbound: number;
    readonly numbers: number;
    /** Of those numbers, how many agents called or texted in the window. */
    readonly calledBack: number;
    /** Of those numbers, how many belong to one of the org's contacts. */
    readonly contacts: number;
  };
  /** Changed records by verdict, "allow→reject": count. */
  readonly transitions: Readonly<Record<string, number>>;
  readonly examples: readonly WhatIfExample[];
  readonly broad: boolean;
  /** Why it is broad, one sentence each; empty when not. */
  readonly broadBecause: readonly string[];
  /** Time the replay took (ms): for the operator, never for a decision. */
  readonly elapsedMs: number;
}

export interface WhatIfDeps {
  readonly db: Database;
  readonly orgs: OrgService;
  readonly blocklist: BlocklistService;
  readonly clock: Clock;
  /** The current rules: the daemon's live index, or a private one (the CLI). */
  readonly currentRules: CurrentRulesSource;
  readonly busyTimeoutMs?: number;
}

interface GroupRow {
  number: string;
  channel: Channel;
  direction: Direction;
  to_raw: string;
  n: number;
}

/** Per-number tallies while the sorted groups of one number are read. */
interface NumberTally {
  number: string;
  changed: number;
  outboundRecords: number;
  before: VerdictAction;
  after: VerdictAction;
}

export class WhatIfService {
  /** Temp tables are per connection; a counter keeps two replays on one connection apart. */
  private runs = 0;
  /** One replay at a time: a burst of previews waits in line instead of sharing the event loop n ways. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: WhatIfDeps) {}

  report(orgSlug: string, proposal: Proposal, days = DEFAULT_WHAT_IF_DAYS): Promise<WhatIfReport> {
    const run = this.queue.then(() => this.replay(orgSlug, proposal, days));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async replay(orgSlug: string, proposal: Proposal, days: number): Promise<WhatIfReport> {
    const started = performance.now();
    if (!Number.isSafeInteger(days) || days < 1 || days > MAX_WHAT_IF_DAYS) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `days "${String(days)}" must be a whole number from 1 to ${MAX_WHAT_IF_DAYS}`,
        { key: 'days' },
      );
    }
    const { orgs, blocklist, clock } = this.deps;
    const org = await orgs.require(orgSlug);
    const now = clock.now();
    const since = now - days * DAY_MS;
    // The same checks the write makes (number, prefix, contact, protected numbers): a what-if of an
    // entry that could not be saved is refused with the same error.
    // A pattern that is only a trailing `*` is saved as a prefix (blocklist.plainTarget): ask about that.
    proposal = { ...proposal, target: blocklist.plainTarget(proposal.target) };
    const value = await blocklist.resolveTarget(org, proposal.target, proposal.list);
    const opts = proposal.options ?? {};
    const mode = opts.mode ?? org.policy.defaultMode;
    if (!BLOCK_MODES.includes(mode)) {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `mode "${mode}" is not one of voicemail, reject`, {
        key: 'mode',
      });
    }
    const name = cleanText(opts.name ?? '', 'name', MAX_NAME);
    const reason = cleanText(opts.reason ?? '', 'reason', MAX_REASON);
    const expiresAt = expiryOf(opts.expires, now);
    const dids = await blocklist.resolveDids(org, opts.dids);
    const scoped = dids !== '';

    const { conn, close } = await scratchConnection(this.deps.db, this.deps.busyTimeoutMs);
    const table = `temp.whatif_${process.pid}_${++this.runs}`;
    try {
      const existing = await conn.get<EntryRow>(
        'SELECT * FROM entries WHERE org_id = ? AND value = ? AND kind = ? AND list = ? AND removed_at IS NULL',
        [org.id, value, proposal.target.kind, proposal.list],
      );
      const proposedId =
        existing?.id ?? ((await conn.get<{ m: number | null }>('SELECT max(id) AS m FROM entries'))?.m ?? 0) + 1;
      const row: Record<string, SqlParam> = {
        ...(existing as unknown as Record<string, SqlParam> | undefined),
        id: proposedId,
        org_id: org.id,
        list: proposal.list,
        kind: proposal.target.kind,
        value,
        contact_id: proposal.target.kind === 'contact' ? proposal.target.contactId : null,
        mode,
        name,
        reason,
        expires_at: expiresAt,
        created_by: existing?.created_by ?? 'what-if',
        created_at: existing?.created_at ?? now,
        source: existing?.source ?? 'cli',
        hit_count: 0,
        last_hit_at: null,
        removed_at: null,
        removed_by: null,
        removed_reason: null,
        // As saved: an observing block decides nothing (its calls are counted as matched, not
        // changed), and one limited to some DIDs is replayed against each record's DID.
        observe_since: proposal.list === 'block' && opts.observe === true ? now : null,
        dids,
        disabled_at: null,
        require_attestation: proposal.list === 'allow' && opts.requireAttestation === true ? 1 : 0,
      };
      const proposed = await proposalIndex(conn, org, row);
      let current: CurrentRules | undefined;
      try {
        const contacts = new Set(
          (
            await conn.all<{ n: string }>(
              'SELECT cn.number AS n FROM contact_numbers cn JOIN contacts c ON c.id = cn.contact_id WHERE c.org_id = ?',
              [org.id],
            )
          ).map((r) => r.n),
        );
        // number '' is a fail-mode record (no org, an error): the list never answered it.
        const window = "org_id = ? AND at >= ? AND at <= ? AND number <> ''";
        // Counted on screened_org_at alone: with `number <> ''` it read a million rows (0.7 s).
        const total = await conn.get<{ c: number }>(
          'SELECT count(*) AS c FROM screened WHERE org_id = ? AND at >= ? AND at <= ?',
          [org.id, since, now],
        );
        const only = candidates(proposal.target, value);
        // With a narrowing, `+at` keeps the time range off screened_org_at, so SQLite's planner (no
        // ANALYZE statistics) seeks the covering screened_org_number index by number instead of
        // reading the whole window by time; a database without that index still answers, slower.
        // A DID-scoped proposal needs each record's DID (the called number as the PBX sent it).
        const dial = scoped ? 'to_raw' : "'' AS to_raw";
        const byDial = scoped ? ', to_raw' : '';
        await conn.run(
          `CREATE TABLE ${table} AS SELECT number, channel, direction, ${dial}, count(*) AS n FROM screened
           WHERE ${only ? `org_id = ? AND +at >= ? AND +at <= ? AND number <> '' AND ${only.sql}` : window}
           GROUP BY number, channel, direction${byDial} ORDER BY number, channel, direction${byDial}`,
          [org.id, since, now, ...(only?.params ?? [])],
        );
        // Read only when a record is touched: a new number nobody called costs no load of the org.
        const currentMatches = async (): Promise<CurrentRules> => {
          current ??= await this.deps.currentRules(org.id, conn, `SELECT number FROM ${table}`);
          if (!current)
            throw new CallscreenError('CS_ERR_ORG_NOT_FOUND', `no organisation "${org.slug}"`, { org: org.slug });
          return current;
        };

        const t = {
          calls: total?.c ?? 0,
          matchedCalls: 0,
          matchedNumbers: 0,
          changedCalls: 0,
          inboundCalls: 0,
          inboundSms: 0,
          outbound: 0,
          changedNumbers: 0,
          calledBack: 0,
          contacts: 0,
        };
        const transitions: Record<string, number> = {};
        // The few DIDs of a site, in the one or two forms its PBX sends each: read once per form.
        const didForms = new Map<string, string | null>();
        const didOf = (raw: string): string | null => {
          let d = didForms.get(raw);
          if (d === undefined) {
            d = blocklist.didOf(org, raw);
            didForms.set(raw, d);
          }
          return d;
        };
        const examples: WhatIfExample[] = [];
        let tally: NumberTally | null = null;
        let matchedThis = false;
        const finish = (): void => {
          if (tally === null) return;
          if (matchedThis) t.matchedNumbers++;
          if (tally.changed > 0) {
            t.changedNumbers++;
            const calledBack = tally.outboundRecords > 0;
            const contact = contacts.has(tally.number);
            if (calledBack) t.calledBack++;
            if (contact) t.contacts++;
            keepExample(examples, {
              number: tally.number,
              calls: tally.changed,
              before: tally.before,
              after: tally.after,
              calledBack,
              contact,
            });
          }
        };

        let after = 0;
        for (;;) {
          const page = await conn.all<GroupRow & { r: number }>(
            `SELECT rowid AS r, number, channel, direction, to_raw, n FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`,
            [after, PAGE],
          );
          const lastRow = page.at(-1);
          if (lastRow === undefined) break;
          for (const g of page) {
            if (tally === null || tally.number !== g.number) {
              finish();
              tally = { number: g.number, changed: 0, outboundRecords: 0, before: 'allow', after: 'allow' };
              matchedThis = false;
            }
            if (g.direction === 'outbound') tally.outboundRecords += g.n;
            const subject = subjectOf(g.number);
            const added = proposed.matches(subject);
            // Neither the proposal nor the entry it replaces matches this number: nothing changes.
            if (!hasEntries(added)) continue;
            const base = (current ?? (await currentMatches())).matches(subject);
            const did = scoped && g.direction === 'inbound' ? didOf(g.to_raw) : null;
            const ask = (matches: Matches) =>
              decide({
                channel: g.channel,
                direction: g.direction,
                subject,
                withheld: false,
                did,
                matches,
                policy: org.policy,
                now,
              });
            const was = ask(base);
            const would = ask(overlay(base, added, existing?.id ?? null));
            if (would.rule !== null && would.rule.id === proposedId) {
              t.matchedCalls += g.n;
              matchedThis = true;
            }
            if (was.action === would.action) continue;
            t.changedCalls += g.n;
            if (g.direction === 'outbound') t.outbound += g.n;
            else if (g.channel === 'sms') t.inboundSms += g.n;
            else t.inboundCalls += g.n;
            const key = `${was.action}→${would.action}`;
            transitions[key] = (transitions[key] ?? 0) + g.n;
            // An example shows what callers would have got (inbound), else what agents would have.
            if (tally.changed === 0 || g.direction === 'inbound') {
              tally.before = was.action;
              tally.after = would.action;
            }
            tally.changed += g.n;
          }
          after = lastRow.r;
          if (page.length < PAGE) break;
        }
        finish();

        const changed = {
          calls: t.changedCalls,
          inboundCalls: t.inboundCalls,
          inboundSms: t.inboundSms,
          outbound: t.outbound,
          numbers: t.changedNumbers,
          calledBack: t.calledBack,
          contacts: t.contacts,
        };
        const broadBecause = broadness(proposal.list, proposal.target.kind, changed);
        return {
          org: org.slug,
          days,
          since,
          until: now,
          rule: {
            list: proposal.list,
            kind: proposal.target.kind,
            value,
            mode: proposal.list === 'block' ? mode : null,
            expiresAt,
            replaces: existing?.id ?? null,
          },
          replayed: { calls: t.calls },
          matched: { calls: t.matchedCalls, numbers: t.matchedNumbers },
          changed,
          transitions,
          examples: examples.sort((a, b) => b.calls - a.calls || a.number.localeCompare(b.number)),
          broad: broadBecause.length > 0,
          broadBecause,
          elapsedMs: Math.round(performance.now() - started),
        };
      } finally {
        await proposed.close();
        await current?.close?.();
      }
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await close();
    }
  }
}

/** Why a change with these figures needs confirming (empty: it does not). */
export function broadness(list: ListKind, kind: EntryKind, changed: WhatIfReport['changed']): string[] {
  const why: string[] = [];
  if (changed.numbers > BROAD_NUMBERS)
    why.push(`it changes the verdict for ${changed.numbers} distinct numbers (more than ${BROAD_NUMBERS})`);
  // Blocking a contact is blocking contacts' numbers on purpose: that alone asks for no confirmation.
  if (list === 'block' && kind !== 'contact' && changed.contacts > 0)
    why.push(`${changed.contacts} of them ${changed.contacts === 1 ? 'is a contact' : 'are contacts'}`);
  if (list === 'block' && changed.calledBack > 0) why.push(`agents called ${changed.calledBack} of them back`);
  return why;
}

/** Refuses a broad change that was not confirmed, with the figures (API: 409; CLI: exit 65). */
export function requireConfirmation(report: WhatIfReport, confirmed: boolean, how: string): void {
  if (!report.broad || confirmed) return;
  throw new CallscreenError(
    'CS_ERR_CONFIRM_REQUIRED',
    `not saved: this ${report.rule.list} entry is broad — ${report.broadBecause.join('; ')} (last ${report.days} days: ${report.changed.calls} calls and messages would have been handled differently); ${how}`,
    { whatIf: report },
  );
}

/** One line per figure, for the CLI and logs. */
export function describeReport(r: WhatIfReport): string[] {
  const rule = `${r.rule.list} ${r.rule.kind} ${r.rule.value || '(unidentified)'}${r.rule.mode ? ` (${r.rule.mode})` : ''}${r.rule.replaces !== null ? `, changing entry ${r.rule.replaces}` : ', new'}`;
  const lines = [
    `what-if for ${rule} in ${r.org}, last ${r.days} days (not saved):`,
    `  replayed     ${r.replayed.calls} calls and messages`,
    `  matched      ${r.matched.calls} records from ${r.matched.numbers} numbers would be decided by this entry`,
    `  changed      ${r.changed.calls} records (${r.changed.inboundCalls} inbound calls, ${r.changed.inboundSms} inbound SMS, ${r.changed.outbound} agents' own) from ${r.changed.numbers} numbers`,
    `  called back  ${r.changed.calledBack} of those numbers were called or texted by agents`,
    `  contacts     ${r.changed.contacts} of those numbers are contacts`,
  ];
  const trans = Object.entries(r.transitions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  if (trans) lines.push(`  verdicts     ${trans}`);
  for (const e of r.examples) {
    lines.push(
      `    ${e.number}  ${e.calls} × ${e.before}→${e.after}${e.calledBack ? '  called back' : ''}${e.contact ? '  contact' : ''}`,
    );
  }
  lines.push(r.broad ? `  broad: ${r.broadBecause.join('; ')}` : '  not broad: saving needs no confirmation');
  return lines;
}

/**
 * The records a proposal can match, as SQL on `number` (the screened_org_number index): only a
 * narrowing, never a decision — the index and `decide` still decide every record read. A kind with
 * no narrowing here (any kind added later) reads the whole window: slower, same answer.
 */
function candidates(target: Target, value: string): { sql: string; params: SqlParam[] } | null {
  switch (target.kind) {
    case 'exact':
      return { sql: 'number = ?', params: [value] };
    // Numbers are "+" and digits (or a short code): all of them under the prefix sort below prefix + ':'.
    case 'prefix':
      return { sql: 'number >= ? AND number < ?', params: [value, `${value}:`] };
    case 'contact':
      return { sql: 'number IN (SELECT number FROM contact_numbers WHERE contact_id = ?)', params: [target.contactId] };
    case 'unidentified':
      return { sql: "number = 'unidentified'", params: [] };
    default:
      return null;
  }
}

function subjectOf(number: string): ParsedCaller {
  // Records keep the normalised number, or "unidentified" for callers without a usable one.
  return number === 'unidentified' ? { kind: 'unidentified', why: 'empty' } : { kind: 'number', value: number };
}

function expiryOf(expires: BlockOptions['expires'], now: number): number | null {
  if (expires === undefined || expires === null || expires === '') return null;
  if (typeof expires === 'number') {
    if (!Number.isFinite(expires) || expires <= now)
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'expiry must be a time in the future', { key: 'expires' });
    return expires;
  }
  return parseExpiry(expires, now);
}

function keepExample(list: WhatIfExample[], e: WhatIfExample): void {
  if (list.length < EXAMPLES) {
    list.push(e);
    return;
  }
  // The first of the examples with the fewest calls gives way to one with more.
  let min: { at: number; calls: number } | null = null;
  for (const [at, x] of list.entries()) if (min === null || x.calls < min.calls) min = { at, calls: x.calls };
  if (min !== null && min.calls < e.calls) list[min.at] = e;
}

/**
 * The proposal alone, loaded by a ScreeningIndex from a scratch in-memory database holding the
 * org's row, the contact the entry names (if any) and the entry: it matches numbers exactly as the
 * call path would. Rows are copied column by column, so columns added by later migrations come along.
 */
async function proposalIndex(
  conn: Database,
  org: Org,
  entry: Record<string, SqlParam>,
): Promise<{ matches(s: ParsedCaller): Matches; close(): Promise<void> }> {
  const scratch = await openStore(':memory:');
  try {
    await copyRows(scratch, 'orgs', await conn.all('SELECT * FROM orgs WHERE id = ?', [org.id]));
    const contactId = entry['contact_id'];
    if (typeof contactId === 'number') {
      await copyRows(scratch, 'contacts', await conn.all('SELECT * FROM contacts WHERE id = ?', [contactId]));
      await copyRows(
        scratch,
        'contact_numbers',
        await conn.all('SELECT * FROM contact_numbers WHERE contact_id = ?', [contactId]),
      );
    }
    await copyRows(scratch, 'entries', [entry]);
    const index = new ScreeningIndex(scratch, { cacheMax: 16, maxWarming: 0 });
    await index.reloadOrg(org.id);
    const state = index.orgById(org.id);
    if (!state) throw new CallscreenError('CS_ERR_INTERNAL', 'the what-if could not load its proposal');
    return { matches: (s) => index.lookupSync(state, s), close: () => scratch.close() };
  } catch (err) {
    await scratch.close();
    throw err;
  }
}
