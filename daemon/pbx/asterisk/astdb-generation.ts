/**
 * The AstDB mirror's generation marker, `F/gen`: which state of the list the keys in Asterisk
 * were written from, so a reconnect (or a restarted daemon) replays only the changes made since
 * instead of deleting and rewriting every key (1M numbers × 3 forms: ~40 s of FastAGI for every call).
 *
 *   F/gen = 1:<store>:<seq>:<at seq>:<since>:<shape>
 *
 * - `store`: the database file's identity (store_identity, migration 10);
 * - `seq`: every change of the log up to it is in the keys; `at seq`: a digest of that change, so a
 *   log that is another history at that position (a file copied back from a backup and grown again)
 *   is not taken for this one;
 * - `since` (epoch ms): every key was computed at or after it. A verdict changes without a change in
 *   the log only when one of its entries expires (astdb-mirror-value.ts: a time-bound entry makes the
 *   number "unsure" until then); a replay recomputes the numbers with an entry that expired after it;
 * - `shape`: a digest of what decides which keys exist outside `n/<org>/` and what the format of all
 *   of them is: the marker format, the program's version (another version may read numbers into other
 *   forms, so an upgrade or a downgrade syncs in full once), caller forms, whether DIDs are written,
 *   and each org's id, slug and written DIDs. A slug or a DID cannot be renamed in place from the log (the old name is gone), so
 *   any difference there is a full sync.
 *
 * Written only after every key it vouches for was acknowledged by Asterisk (never ahead of them), and
 * deleted with the family at the start of a full sync. On a (re)connect the mirror reads it with
 * `DBGet`; anything but a marker naming this store, the same shape, and a position still in the log
 * with the same change there → the full sync.
 */
import { createHash } from 'node:crypto';
import type { EntryView } from '../../core/entry.js';
import type { OrgChanges } from '../../store/change-log.js';

/**
 * Bump when what the mirror writes for the same list changes (a key, a value format, a rule). 2: one
 * E.164 key per number and `national/<org>` (format 1 wrote a key per national form, and its
 * `complete/<org>` let national callers through on a miss).
 */
export const MARKER_FORMAT = 2;

/** The key of the marker under the mirror's family. */
export const MARKER_KEY = 'gen';

export interface Marker {
  readonly store: string;
  readonly seq: number;
  /** `fingerprint(seq)` of the change log; '-' when there was no change at seq. */
  readonly atSeq: string;
  readonly since: number;
  readonly shape: string;
}

export function encodeMarker(m: Marker): string {
  return [MARKER_FORMAT, m.store, m.seq, m.atSeq, m.since, m.shape].join(':');
}

/** The marker, or null when the value is not one this version writes. */
export function parseMarker(value: string): Marker | null {
  const parts = value.trim().split(':');
  if (parts.length !== 6 || parts[0] !== String(MARKER_FORMAT)) return null;
  const [, store = '', seq = '', atSeq = '', since = '', shape = ''] = parts;
  if (!/^\d+$/.test(seq) || !/^\d+$/.test(since) || store === '' || shape === '') return null;
  return { store, seq: Number(seq), atSeq, since: Number(since), shape };
}

/** One org as the mirror has written it: what its keys outside `n/<org>/` are named by. */
export interface OrgShape {
  readonly id: number;
  readonly slug: string;
  readonly dids: Iterable<string>;
}

/** The `shape` digest (hex, 16 characters). */
export function shapeOf(
  options: { family: string; forms: Iterable<string>; writeDids: boolean; program: string },
  orgs: Iterable<OrgShape>,
): string {
  const list = [...orgs].map((o) => [o.id, o.slug, [...o.dids].sort()] as const).sort((a, b) => a[0] - b[0]);
  const text = JSON.stringify({
    format: MARKER_FORMAT,
    program: options.program,
    family: options.family,
    forms: [...options.forms].sort(),
    writeDids: options.writeDids,
    orgs: list,
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * What the mirror reads to re-sync from a marker: the change log (daemon/store/change-log.ts), the
 * volatile numbers (daemon/store/volatile-numbers.ts) and the change feed's position.
 */
export interface ResyncSource {
  /**
   * The version of the program writing the keys (package.json's): part of the shape, because a new
   * version may write other keys for the same list (a caller form read differently) without anyone
   * remembering to bump MARKER_FORMAT — a replay would then leave keys the new exclusion pattern
   * trusts missing, and a blocked caller in that form answered as a conclusive miss.
   */
  readonly program: string;
  identity(): Promise<string>;
  head(): Promise<number>;
  fingerprint(seq: number): Promise<string | null>;
  changesBetween(after: number, upTo: number): Promise<Map<number, OrgChanges>>;
  /** Volatile numbers of an org and exact numbers under `prefixes`, with their exact entries. */
  volatileNumbers(orgId: number, prefixes: readonly string[]): Promise<Map<string, EntryView[]>>;
  /** The change feed's last applied sequence number: every change up to it is in the index. */
  position(): number;
}

export type SyncPlan =
  | { readonly kind: 'replay'; readonly marker: Marker; readonly store: string }
  | { readonly kind: 'full'; readonly why: string; readonly store: string };

/**
 * Decides from the marker read (null: none; an Error: it could not be read) whether the keys in
 * AstDB can be brought up to date by replaying the log. Each refusal says why (the log line).
 */
export async function planSync(
  raw: string | null | Error,
  source: ResyncSource | undefined,
  currentShape: string,
  now: number,
): Promise<SyncPlan> {
  if (source === undefined) return { kind: 'full', why: 'no change log to replay (resync not configured)', store: '' };
  const store = await source.identity();
  const full = (why: string): SyncPlan => ({ kind: 'full', why, store });
  if (raw instanceof Error) return full(`the marker could not be read (${raw.message})`);
  if (raw === null) return full('no marker in AstDB (first sync, or a full sync did not finish)');
  const m = parseMarker(raw);
  if (m === null) return full('the marker is not in this version’s format');
  if (store === '' || m.store !== store) return full('the marker names another store (another or a restored database)');
  if (m.shape !== currentShape) return full('orgs, slugs, DIDs, caller forms or the program version changed');
  if (m.since > now) return full('the marker is from the future (the clock went back)');
  if (m.seq === 0) return full('the marker predates the change log');
  const head = await source.head();
  if (m.seq > head) return full(`the marker is ahead of the change log (${m.seq} > ${head}: a restored database?)`);
  const fp = await source.fingerprint(m.seq);
  if (fp === null) return full(`the change log no longer holds change ${m.seq} (pruned)`);
  if (fp !== m.atSeq) return full(`change ${m.seq} is not the one the marker saw (another history)`);
  return { kind: 'replay', marker: m, store };
}

/** Whether an entry is one whose effect on a number's mirror verdict changes with time or is not the mirror's to say. */
export function isVolatile(e: EntryView, since: number): boolean {
  return (
    (e.expiresAt !== null && e.expiresAt > since) ||
    e.requireAttestation === true ||
    e.observe === true ||
    (e.dids !== undefined && e.dids !== null && e.dids.length > 0)
  );
}

/** Whether any of the entries expired after `since`, by `now`: a verdict written before may be stale. */
export function expiredBetween(entries: Iterable<EntryView>, since: number, now: number): boolean {
  for (const e of entries) if (e.expiresAt !== null && e.expiresAt > since && e.expiresAt <= now) return true;
  return false;
}
