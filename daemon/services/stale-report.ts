/**
 * The stale report (issue #16, mission row 13): an organisation's entries that do nothing, and a
 * clean-up that removes them (audited like any unblock, each entry's history kept).
 *
 * - **expired**: still on the list, but past their expiry (they never match again);
 * - **unused**: active, with no hit in the last N days (default 90) and older than that — except
 *   entries that stand in for a shadowed one (removing both could change a verdict);
 * - **shadowed**: active entries whose removal would change no verdict, because another entry gives
 *   the same answer (an exact number under a prefix with the same mode, a prefix under a shorter one,
 *   an allow under an allow prefix, a number on a blocked contact) or wins anyway (a block under an
 *   allow, a block on one of the org's own numbers). The other entry must last at least as long.
 *
 * "Would change no verdict" is asked of the core decision: each exact number's matches (and each
 * prefix's) as the index finds them, decided with and without the entry, for an inbound call. Any
 * rule kind the index and `decide` learn takes part unchanged. Contact and unidentified entries are
 * checked for expiry and use only.
 *
 * Cost: the org's rules loaded once in a private index (a 1M-number org: ~1-2 s), then the exact
 * entries read in pages of 1,000 numbers, on a connection of its own.
 */
import type { Clock } from '../core/clock.js';
import { decide, type Matches } from '../core/decide.js';
import { isActive, type BlockMode, type EntryKind, type EntryView, type ListKind } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { ParsedCaller } from '../core/phone-number.js';
import type { Verdict } from '../core/verdict.js';
import type { Database } from '../store/database.js';
import { siteHitCount, siteLastHitAt, type EntryRow, type Org } from '../store/rows.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';
import { cleanText, describeTarget, MAX_REASON } from './blocklist-service.js';
import { overlay, scratchConnection, type CurrentRulesSource } from './current-rules.js';
import type { OrgService } from './org-service.js';

export type StaleCategory = 'expired' | 'unused' | 'shadowed';
export const STALE_CATEGORIES: readonly StaleCategory[] = ['expired', 'unused', 'shadowed'];
/** Days without a hit before an entry is unused, when none are given. */
export const DEFAULT_STALE_DAYS = 90;
export const MAX_STALE_DAYS = 3650;
/** Entries listed in a report by default, and at most (counts always cover every entry). */
export const DEFAULT_STALE_LIMIT = 100;
export const MAX_STALE_LIMIT = 1000;
/** Exact numbers read per page; each page is decided synchronously on the event loop (~10 ms). */
const PAGE = 1000;
const DAY_MS = 86_400_000;

export interface StaleEntry {
  readonly id: number;
  readonly category: StaleCategory;
  readonly list: ListKind;
  readonly kind: EntryKind;
  readonly value: string;
  readonly mode: BlockMode;
  readonly name: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly hitCount: number;
  readonly lastHitAt: number | null;
  /** One sentence: why it is listed. */
  readonly why: string;
  /** For shadowed entries: what gives the answer instead (an entry id, or `did` / `emergency`). */
  readonly shadowedBy?: { readonly id: number | string; readonly kind: string; readonly value: string };
}

export interface StaleReport {
  readonly org: string;
  readonly days: number;
  readonly at: number;
  readonly counts: Readonly<Record<StaleCategory, number>>;
  /** At most `limit` entries, expired first, then shadowed, then unused. */
  readonly entries: readonly StaleEntry[];
  /** Entries in the report in all (the sum of counts). */
  readonly total: number;
  readonly elapsedMs: number;
}

export interface StaleQuery {
  readonly days?: number;
  readonly limit?: number;
  /** Categories looked for (default all). */
  readonly categories?: readonly StaleCategory[];
}

export interface CleanUpResult {
  readonly org: string;
  readonly dryRun: boolean;
  /** Entries removed (or, in a dry run, that would be), by category. */
  readonly removed: Readonly<Record<StaleCategory, number>>;
  readonly ids: readonly number[];
}

export interface StaleReportDeps {
  readonly db: Database;
  readonly orgs: OrgService;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly currentRules: CurrentRulesSource;
  readonly busyTimeoutMs?: number;
}

/** An entry found, by id: full rows are read only for what is listed or removed (a report over 100k entries lists 100). */
interface Found {
  readonly id: number;
  readonly category: StaleCategory;
  readonly why: string;
  readonly by?: StaleEntry['shadowedBy'];
}

/**
 * An entry's last hit on any node (ms, NULL: never): its own, or the latest another node of a shared
 * store counted (peer_last_hit_at, issue #15). SQLite's two-argument max() is NULL when either is.
 */
const LAST_HIT =
  'CASE WHEN peer_last_hit_at IS NULL THEN last_hit_at WHEN last_hit_at IS NULL THEN peer_last_hit_at ELSE max(last_hit_at, peer_last_hit_at) END';

/** Rows read per statement when listing or removing found entries. */
const ROWS = 500;

export class StaleReportService {
  /** One analysis at a time (each loads the org's rules once; a burst of requests waits in line). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: StaleReportDeps) {}

  async report(orgSlug: string, q: StaleQuery = {}): Promise<StaleReport> {
    const started = performance.now();
    const limit = q.limit ?? DEFAULT_STALE_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_STALE_LIMIT) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `limit "${String(limit)}" must be a whole number from 1 to ${MAX_STALE_LIMIT}`,
        { key: 'limit' },
      );
    }
    const org = await this.deps.orgs.require(orgSlug);
    const { days, found } = await this.find(org, q);
    const listed = found.slice(0, limit);
    const rows = await rowsOf(
      this.deps.db,
      org.id,
      listed.map((f) => f.id),
    );
    const entries = listed.flatMap((f) => {
      const row = rows.get(f.id);
      return row ? [toStaleEntry(f, row)] : [];
    });
    return {
      org: org.slug,
      days,
      at: this.deps.clock.now(),
      counts: countOf(found),
      total: found.length,
      entries,
      elapsedMs: Math.round(performance.now() - started),
    };
  }

  /**
   * Removes what the report finds (in `categories`, default all), each entry as an unblock (block
   * entries) or disallow (allow entries) by `actor` with `reason`, plus one `stale.cleanup` record
   * with the counts, in one transaction. An entry changed or removed meanwhile is left as it is.
   */
  async cleanUp(
    orgSlug: string,
    q: StaleQuery & { readonly dryRun?: boolean },
    actor: Actor,
    reason = '',
  ): Promise<CleanUpResult> {
    const note = cleanText(reason, 'reason', MAX_REASON);
    const org = await this.deps.orgs.require(orgSlug);
    const { days, found } = await this.find(org, q);
    if (q.dryRun === true) return { org: org.slug, dryRun: true, removed: countOf(found), ids: found.map((f) => f.id) };
    const { db, audit, clock } = this.deps;
    const removed = emptyCounts();
    const ids: number[] = [];
    await db.transaction(async () => {
      const now = clock.now();
      for (let i = 0; i < found.length; i += ROWS) {
        const chunk = found.slice(i, i + ROWS);
        const rows = await rowsOf(
          db,
          org.id,
          chunk.map((f) => f.id),
        );
        for (const f of chunk) {
          const row = rows.get(f.id);
          if (row === undefined || row.removed_at !== null) continue;
          await db.run(
            'UPDATE entries SET removed_at = ?, removed_by = ?, removed_reason = ? WHERE id = ? AND removed_at IS NULL',
            [now, actor.name, note || `stale: ${f.category}`, row.id],
          );
          removed[f.category]++;
          ids.push(row.id);
          await audit.append(
            org.id,
            actor,
            row.list === 'block' ? 'unblock' : 'disallow',
            describeTarget(row.kind, row.value),
            note,
            {
              entry: row.id,
              cleanup: f.category,
              why: f.why,
              blockedBy: row.created_by,
              blockedAt: new Date(row.created_at).toISOString(),
            },
          );
        }
      }
      await audit.append(org.id, actor, 'stale.cleanup', '', note, { days, ...removed });
    });
    return { org: org.slug, dryRun: false, removed, ids };
  }

  private find(org: Org, q: StaleQuery): Promise<{ days: number; found: Found[] }> {
    const run = this.queue.then(() => this.analyse(org, q));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async analyse(org: Org, q: StaleQuery): Promise<{ days: number; found: Found[] }> {
    const days = q.days ?? DEFAULT_STALE_DAYS;
    if (!Number.isSafeInteger(days) || days < 1 || days > MAX_STALE_DAYS) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `days "${String(days)}" must be a whole number from 1 to ${MAX_STALE_DAYS}`,
        { key: 'days' },
      );
    }
    const wanted = new Set(q.categories ?? STALE_CATEGORIES);
    for (const c of wanted) {
      if (!STALE_CATEGORIES.includes(c))
        throw new CallscreenError(
          'CS_ERR_INVALID_VALUE',
          `category "${c}" is not one of ${STALE_CATEGORIES.join(', ')}`,
          { key: 'categories' },
        );
    }
    const now = this.deps.clock.now();
    const { conn, close } = await scratchConnection(this.deps.db, this.deps.busyTimeoutMs);
    try {
      const expired: Found[] = [];
      if (wanted.has('expired')) {
        for (const r of await conn.all<{ id: number; expires_at: number }>(
          'SELECT id, expires_at FROM entries WHERE org_id = ? AND removed_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, id',
          [org.id, now],
        )) {
          expired.push({ id: r.id, category: 'expired', why: `expired on ${new Date(r.expires_at).toISOString()}` });
        }
      }
      // Shadowing is looked for even when not asked for: an entry that shadows another is not "unused".
      const { shadowed, shadowers } =
        wanted.has('shadowed') || wanted.has('unused')
          ? await this.shadowed(org, conn, now)
          : { shadowed: [], shadowers: new Set<number>() };
      const unused: Found[] = [];
      if (wanted.has('unused')) {
        const cutoff = now - days * DAY_MS;
        const shadowedIds = new Set(shadowed.map((s) => s.id));
        for (const r of await conn.all<{ id: number; last_hit_at: number | null; created_at: number }>(
          `SELECT id, ${LAST_HIT} AS last_hit_at, created_at FROM entries WHERE org_id = ? AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
           AND coalesce(${LAST_HIT}, created_at) < ? ORDER BY coalesce(${LAST_HIT}, created_at), id`,
          [org.id, now, cutoff],
        )) {
          if (shadowers.has(r.id) || (wanted.has('shadowed') && shadowedIds.has(r.id))) continue;
          const why =
            r.last_hit_at === null
              ? `no hit since it was added on ${iso(r.created_at)}`
              : `last hit on ${iso(r.last_hit_at)}`;
          unused.push({ id: r.id, category: 'unused', why: `${why} (more than ${days} days)` });
        }
      }
      return { days, found: [...expired, ...(wanted.has('shadowed') ? shadowed : []), ...unused] };
    } finally {
      await close();
    }
  }

  /** Exact and prefix entries whose removal changes no verdict; and the entries that make it so. */
  private async shadowed(
    org: Org,
    conn: Database,
    now: number,
  ): Promise<{ shadowed: Found[]; shadowers: Set<number> }> {
    const rules = await this.deps.currentRules(org.id, conn);
    if (!rules) throw new CallscreenError('CS_ERR_ORG_NOT_FOUND', `no organisation "${org.slug}"`, { org: org.slug });
    const hits: Array<{ id: number; why: string; by: NonNullable<StaleEntry['shadowedBy']> }> = [];
    const shadowers = new Set<number>();
    const check = (m: Matches, candidates: readonly EntryView[], subject: ParsedCaller): void => {
      const ask = (matches: Matches): Verdict =>
        decide({ channel: 'call', direction: 'inbound', subject, withheld: false, matches, policy: org.policy, now });
      const withAll = ask(m);
      for (const e of candidates) {
        if (!isActive(e, now)) continue;
        const without = overlay(m, emptyLike(m), e.id);
        const other = ask(without);
        if (other.action !== withAll.action || other.rule === null) continue;
        const winner = withAll.rule !== null && withAll.rule.id !== e.id ? withAll.rule : other.rule;
        const by = findEntry(m, winner.id);
        // The other entry must last as long: else this one matters again once it has expired.
        if (by !== undefined && by.expiresAt !== null && (e.expiresAt === null || by.expiresAt < e.expiresAt)) continue;
        if (typeof winner.id === 'number') shadowers.add(winner.id);
        const decides = withAll.rule !== null && withAll.rule.id === e.id;
        const what =
          winner.kind === 'protected'
            ? `${subject.kind === 'number' ? subject.value : ''} is protected (${String(winner.id)})`
            : `${winner.kind} entry ${String(winner.id)} (${winner.value})`;
        hits.push({
          id: e.id,
          why: decides
            ? `without it, ${what} gives the same answer (${other.action})`
            : `never decides: ${what} wins (${withAll.action})`,
          by: { id: winner.id, kind: winner.kind, value: winner.value },
        });
      }
    };

    // Exact numbers, in pages of distinct numbers by the entries_active index.
    let after = '';
    for (;;) {
      const page = await conn.all<{ value: string }>(
        "SELECT DISTINCT value FROM entries WHERE org_id = ? AND kind = 'exact' AND removed_at IS NULL AND value > ? ORDER BY value LIMIT ?",
        [org.id, after, PAGE],
      );
      for (const { value } of page) {
        const subject: ParsedCaller = { kind: 'number', value };
        const m = rules.matches(subject);
        check(
          m,
          allEntries(m).filter((e) => e.kind === 'exact' && e.value === value),
          subject,
        );
      }
      const last = page.at(-1);
      if (page.length < PAGE || last === undefined) break;
      after = last.value;
    }
    // Prefixes: decided as a number equal to the prefix, with only prefix-like entries (no exact
    // entry or contact on that digit string, no protection: they are about one number, not a range).
    const prefixes = await conn.all<{ value: string }>(
      "SELECT DISTINCT value FROM entries WHERE org_id = ? AND kind = 'prefix' AND removed_at IS NULL",
      [org.id],
    );
    for (const { value } of prefixes) {
      const subject: ParsedCaller = { kind: 'number', value };
      const m = onlyRanges(rules.matches(subject));
      check(
        m,
        allEntries(m).filter((e) => e.kind === 'prefix' && e.value === value),
        subject,
      );
    }

    return { shadowed: hits.map((h) => ({ id: h.id, category: 'shadowed', why: h.why, by: h.by })), shadowers };
  }
}

function iso(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

function emptyCounts(): Record<StaleCategory, number> {
  return { expired: 0, unused: 0, shadowed: 0 };
}

function countOf(found: readonly Found[]): Record<StaleCategory, number> {
  const c = emptyCounts();
  for (const f of found) c[f.category]++;
  return c;
}

/** Full rows of some of an org's entries, by id, read ROWS at a time. */
async function rowsOf(db: Database, orgId: number, ids: readonly number[]): Promise<Map<number, EntryRow>> {
  const out = new Map<number, EntryRow>();
  for (let i = 0; i < ids.length; i += ROWS) {
    const chunk = ids.slice(i, i + ROWS);
    for (const r of await db.all<EntryRow>(
      `SELECT * FROM entries WHERE org_id = ? AND id IN (${chunk.map(() => '?').join(',')})`,
      [orgId, ...chunk],
    ))
      out.set(r.id, r);
  }
  return out;
}

function toStaleEntry(f: Found, r: EntryRow): StaleEntry {
  return {
    id: r.id,
    category: f.category,
    list: r.list,
    kind: r.kind,
    value: r.value,
    mode: r.mode,
    name: r.name,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    hitCount: siteHitCount(r),
    lastHitAt: siteLastHitAt(r),
    why: f.why,
    ...(f.by ? { shadowedBy: f.by } : {}),
  };
}

/** Matches with every bucket empty (the same buckets). */
function emptyLike(m: Matches): Matches {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m as unknown as Record<string, unknown>)) out[k] = Array.isArray(v) ? [] : v;
  return out as unknown as Matches;
}

function allEntries(m: Matches): EntryView[] {
  const out: EntryView[] = [];
  for (const v of Object.values(m as unknown as Record<string, unknown>))
    if (Array.isArray(v)) out.push(...(v as EntryView[]));
  return out;
}

function findEntry(m: Matches, id: number | string): EntryView | undefined {
  return typeof id === 'number' ? allEntries(m).find((e) => e.id === id) : undefined;
}

/** A prefix's matches without what is about one number (exact entries, contacts, protection). */
function onlyRanges(m: Matches): Matches {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m as unknown as Record<string, unknown>)) {
    out[k] = Array.isArray(v) ? (v as EntryView[]).filter((e) => e.kind !== 'exact' && e.kind !== 'contact') : v;
  }
  out['protection'] = null;
  return out as unknown as Matches;
}
