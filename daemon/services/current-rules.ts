/**
 * The rules an organisation has now, as the call path matches them, for replays that ask the core
 * decision (`decide`) "what if" (what-if.ts) and "what if this entry were gone" (stale-report.ts).
 *
 * Matching is always the ScreeningIndex's own (`lookupSync`): whatever rule kinds the index learns
 * (prefixes, contacts, and any kind added later), a replay matches them as a live call would, and
 * `decide` applies their precedence. Nothing here re-implements either.
 */
import type { Matches } from '../core/decide.js';
import type { EntryView } from '../core/entry.js';
import type { ParsedCaller } from '../core/phone-number.js';
import type { Database, SqlParam } from '../store/database.js';
import { ScreeningIndex, type OrgState } from '../store/screening-index.js';
import { openReader, openStore } from '../store/store.js';

/** One organisation's rules, matched in memory. */
export interface CurrentRules {
  readonly state: OrgState;
  matches(subject: ParsedCaller): Matches;
  /** Frees what the source opened for the replay (a scratch database), if anything. */
  close?(): Promise<void>;
}

/**
 * Where a replay reads an organisation's current rules from (`undefined`: no such org). `asked`, when
 * given, is SQL yielding every number the replay will ask about (a source may read only those).
 */
export type CurrentRulesSource = (orgId: number, conn: Database, asked?: string) => Promise<CurrentRules | undefined>;

/**
 * A private index of one organisation, read from `conn`: what the CLI uses (no daemon in the
 * process) and the stale report (which asks about every entry, and must not churn the live index's
 * cache or counters). Loading costs what a daemon start costs for that org (a 1M-number org: ~1-2 s,
 * ~50 MB, freed when the replay ends). No background reads (maxWarming 0): a listed number is
 * answered from its summary, which carries everything a verdict needs.
 */
export const privateRules: CurrentRulesSource = async (orgId, conn) => {
  const index = new ScreeningIndex(conn, { cacheMax: 1, maxWarming: 0 });
  await index.reloadOrg(orgId);
  const state = index.orgById(orgId);
  return state && { state, matches: (s) => index.lookupSync(state, s) };
};

/**
 * Only what the numbers asked about need, copied into a scratch in-memory database and loaded by a
 * ScreeningIndex there: the org's row and DIDs, every entry that is not an exact number (prefixes,
 * contacts with their numbers, unidentified, any kind added later: few), and the exact entries of
 * the numbers in `asked`. The CLI's what-if: a number that called five times costs a few rows, not
 * a load of the org's million numbers. Without `asked`, the whole org (privateRules).
 */
export const askedRules: CurrentRulesSource = async (orgId, conn, asked) => {
  if (asked === undefined) return privateRules(orgId, conn);
  const scratch = await openStore(':memory:');
  try {
    const org = await conn.all('SELECT * FROM orgs WHERE id = ?', [orgId]);
    if (org.length === 0) {
      await scratch.close();
      return undefined;
    }
    await copyRows(scratch, 'orgs', org);
    await copyRows(scratch, 'org_numbers', await conn.all('SELECT * FROM org_numbers WHERE org_id = ?', [orgId]));
    await copyRows(scratch, 'contacts', await conn.all('SELECT * FROM contacts WHERE org_id = ?', [orgId]));
    await copyRows(
      scratch,
      'contact_numbers',
      await conn.all('SELECT cn.* FROM contact_numbers cn JOIN contacts c ON c.id = cn.contact_id WHERE c.org_id = ?', [
        orgId,
      ]),
    );
    await copyRows(
      scratch,
      'entries',
      await conn.all("SELECT * FROM entries WHERE org_id = ? AND removed_at IS NULL AND kind <> 'exact'", [orgId]),
    );
    await copyRows(
      scratch,
      'entries',
      await conn.all(
        `SELECT * FROM entries WHERE org_id = ? AND removed_at IS NULL AND kind = 'exact' AND value IN (${asked})`,
        [orgId],
      ),
    );
    const index = new ScreeningIndex(scratch, { cacheMax: 1, maxWarming: 0 });
    await index.reloadOrg(orgId);
    const state = index.orgById(orgId);
    return state && { state, matches: (s) => index.lookupSync(state, s), close: () => scratch.close() };
  } catch (err) {
    await scratch.close();
    throw err;
  }
};

/** Copies rows column by column (columns added by later migrations come along) into `to`. */
export async function copyRows(to: Database, table: string, rows: readonly unknown[]): Promise<void> {
  for (const r of rows) {
    const row = r as Record<string, SqlParam>;
    const cols = Object.keys(row);
    await to.run(
      `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => row[c] ?? null),
    );
  }
}

/**
 * The running daemon's own index (no load). A replay only looks up the numbers the proposed rule
 * touches, so a narrow rule costs the live index a few lookups; those count in its cache statistics
 * like any lookup.
 */
export function liveRules(index: ScreeningIndex): CurrentRulesSource {
  return (orgId) => {
    const state = index.orgById(orgId);
    return Promise.resolve(state && { state, matches: (s) => index.lookupSync(state, s) });
  };
}

/**
 * A connection for a long read (a replay over up to a million call records, a temp table): its
 * own, so that the daemon's writer (call records, panel writes) and reader (change feed) never
 * queue behind it. ':memory:' databases (some tests) have no second connection: the same one.
 * `close` is a closure (no `this`), so callers may destructure it.
 */
export async function scratchConnection(
  db: Database,
  busyTimeoutMs = 5000,
): Promise<{ conn: Database; close: () => Promise<void> }> {
  if (db.path === ':memory:' || db.path === '') return { conn: db, close: () => Promise.resolve() };
  const conn = await openReader(db.path, busyTimeoutMs);
  return { conn, close: () => conn.close() };
}

/**
 * `base` with `replaced` (an entry id) taken out and `added`'s entries put in, bucket by bucket,
 * whatever buckets Matches has. Within a bucket the longer value comes first (the index's own
 * order for prefixes: longest first; exact and contact entries are told apart by kind in decide).
 */
export function overlay(base: Matches, added: Matches, replaced: number | null): Matches {
  const out: Record<string, unknown> = { ...base };
  const from = base as unknown as Record<string, unknown>;
  for (const [key, extra] of Object.entries(added as unknown as Record<string, unknown>)) {
    const was = from[key];
    if (!Array.isArray(extra) || !Array.isArray(was)) continue;
    const kept = replaced === null ? (was as EntryView[]) : (was as EntryView[]).filter((e) => e.id !== replaced);
    if (extra.length === 0) {
      if (kept.length !== was.length) out[key] = kept;
      continue;
    }
    out[key] = [...kept, ...(extra as EntryView[])].sort((a, b) => b.value.length - a.value.length);
  }
  return out as unknown as Matches;
}

/** True when any bucket of `m` holds an entry. */
export function hasEntries(m: Matches): boolean {
  for (const v of Object.values(m as unknown as Record<string, unknown>))
    if (Array.isArray(v) && v.length > 0) return true;
  return false;
}
