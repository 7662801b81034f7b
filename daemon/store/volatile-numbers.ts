/**
 * The listed numbers of an org whose AstDB mirror verdict can change without a change in the log, or
 * that the mirror must know by number to say which callers its `complete/<org>` pattern excludes:
 * numbers with an exact entry that expires (expired or not), is "allow only when attested", is in
 * observe mode or is scoped to DIDs, and the exact numbers under given prefixes (the org's prefix
 * entries of those kinds). Every other listed number's mirror verdict depends only on its entries
 * and the org's settings, which change only through the log (astdb-mirror-value.ts).
 *
 * Read by the mirror's incremental re-sync instead of every entry of the org: a partial index of
 * the volatile entries (migration 10) plus one index range per prefix.
 */
import type { EntryView } from '../core/entry.js';
import type { Database } from './database.js';
import { toEntryView, type EntryRow } from './rows.js';

const ACTIVE_EXACT = "org_id = ?1 AND kind = 'exact' AND removed_at IS NULL AND disabled_at IS NULL";

/**
 * Every active exact entry of the numbers that have a volatile one, by number. The inner query's
 * terms are the partial index entries_volatile's (migration 10), so it reads that index only.
 */
const VOLATILE_SQL = `
SELECT * FROM entries WHERE ${ACTIVE_EXACT} AND value IN (
  SELECT value FROM entries WHERE org_id = ?1 AND removed_at IS NULL AND kind = 'exact'
    AND (expires_at IS NOT NULL OR require_attestation = 1 OR observe_since IS NOT NULL OR dids <> '')
    AND disabled_at IS NULL)
ORDER BY value, id`;

/** Active exact entries of numbers starting with ?2 (`value < prefix + ':'`: ':' sorts after the digits). */
const UNDER_PREFIX_SQL = `SELECT * FROM entries WHERE ${ACTIVE_EXACT} AND value >= ?2 AND value < ?3 ORDER BY value, id`;

/**
 * Each volatile number of the org, and each exact-listed number under one of `prefixes`, with all
 * its active exact entries (contact entries are not included: the mirror reads contact numbers
 * through the index).
 */
export async function volatileNumbers(
  db: Database,
  orgId: number,
  prefixes: readonly string[],
): Promise<Map<string, EntryView[]>> {
  const out = new Map<string, EntryView[]>();
  const add = (rows: readonly EntryRow[]): void => {
    const seen = new Set<number>();
    for (const r of rows) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      const e = toEntryView(r);
      const list = out.get(e.value);
      if (list === undefined) out.set(e.value, [e]);
      else if (!list.some((x) => x.id === e.id)) list.push(e);
    }
  };
  add(await db.all<EntryRow>(VOLATILE_SQL, [orgId]));
  for (const p of prefixes) add(await db.all<EntryRow>(UNDER_PREFIX_SQL, [orgId, p, `${p}:`]));
  return out;
}
