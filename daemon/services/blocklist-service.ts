/**
 * Writes and reads of block and allow entries, with every rule a write must respect: numbers are
 * normalised with the org's region, protected numbers are refused, expiry is in the future, and
 * each change lands in the same transaction as its audit record.
 */
import type { Clock } from '../core/clock.js';
import { parseExpiry } from '../core/duration.js';
import { emergencyNumbers } from '../core/emergency-numbers.js';
import { BLOCK_MODES, type BlockMode, type EntryKind, type ListKind } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import { checkBreadth, compilePattern, PATTERN_MIN_DIGITS_DEFAULT } from '../core/number-pattern.js';
import type { NumberNormalizer } from '../core/phone-number.js';
import { digitsOf } from '../core/phone-number.js';
import type { Database, SqlParam } from '../store/database.js';
import { toEntryRecord, type EntryRecord, type EntryRow, type Org } from '../store/rows.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';
import type { OrgService } from './org-service.js';

export type Target =
  | { readonly kind: 'exact'; readonly number: string }
  | { readonly kind: 'prefix'; readonly prefix: string }
  /** Wildcards (`+1415555????`, `+1415???0*`) or a range (`+14155550100..+14155550199`); national forms read with the org's region. */
  | { readonly kind: 'pattern'; readonly pattern: string }
  | { readonly kind: 'contact'; readonly contactId: number }
  | { readonly kind: 'unidentified' };

export interface BlockOptions {
  readonly mode?: BlockMode;
  readonly name?: string;
  readonly reason?: string;
  /** `30d`, `12h`, ISO-8601, or epoch ms. */
  readonly expires?: string | number | null;
  /** Allow entries: only for a caller the carrier attested (STIR/SHAKEN A); default false. */
  readonly requireAttestation?: boolean;
  /**
   * Observe mode (block entries): matches and is recorded as "would have blocked" but lets calls
   * through, until promoted. Default false; re-blocking an observed target without it enforces it.
   */
  readonly observe?: boolean;
  /**
   * The organisation's DIDs the entry applies to (any form; each must be one of the org's own);
   * absent or empty = every call of the org. Replaces the list of an entry re-posted.
   */
  readonly dids?: readonly string[];
}

/** What `edit` changes; a field left out keeps its value. */
export interface EntryChanges {
  readonly mode?: BlockMode;
  readonly name?: string;
  readonly reason?: string;
  /** `30d`, `12h`, ISO-8601, epoch ms; null or '' = never. */
  readonly expires?: string | number | null;
}

export interface ListQuery {
  readonly search?: string;
  readonly list?: ListKind;
  readonly includeRemoved?: boolean;
  readonly limit?: number;
  readonly offset?: number;
}

export interface EntryListItem extends EntryRecord {
  readonly expired: boolean;
  /** For contact entries: the contact's name and numbers. */
  readonly contact?: { readonly name: string; readonly numbers: readonly string[] };
}

/** An entries row with its contact's name and numbers (space-separated), as listings read it. */
export type EntryPageRow = EntryRow & { contact_name: string | null; contact_numbers: string | null };

export const MAX_NAME = 200;
export const MAX_REASON = 1000;
/** Most rows one `list` call returns (a page); `pages()` has no limit. */
export const MAX_LIST_PAGE = 10_000;

export class BlocklistService {
  constructor(
    private readonly db: Database,
    private readonly orgs: OrgService,
    private readonly audit: AuditLog,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
  ) {}

  /** Validates a target and returns the stored value (E.164, `+`-prefix, contact id, ''). */
  async resolveTarget(org: Org, target: Target, list: ListKind): Promise<string> {
    switch (target.kind) {
      case 'exact': {
        const n = this.normalizer.normalizeNumber(target.number, org.policy.region);
        if (list === 'block') await this.refuseProtected(org, n);
        return n;
      }
      case 'prefix':
        return this.normalizer.normalizePrefix(target.prefix, org.policy.region);
      case 'pattern': {
        const text = this.normalizePattern(target.pattern, org.policy.region);
        const min = (
          await this.db.get<{ m: number | null }>(
            'SELECT min_pattern_digits AS m FROM org_admin_policy WHERE org_id = ?',
            [org.id],
          )
        )?.m;
        checkBreadth(compilePattern(text), min ?? PATTERN_MIN_DIGITS_DEFAULT);
        return text;
      }
      case 'contact': {
        if (list === 'allow')
          throw new CallscreenError(
            'CS_ERR_USAGE',
            'contacts can be blocked, not allowed; allow their numbers instead',
          );
        if (!Number.isSafeInteger(target.contactId) || target.contactId <= 0) {
          throw new CallscreenError(
            'CS_ERR_INVALID_VALUE',
            `contact id "${String(target.contactId)}" is not a number`,
            { key: 'contact' },
          );
        }
        const row = await this.db.get('SELECT 1 FROM contacts WHERE id = ? AND org_id = ?', [target.contactId, org.id]);
        if (!row)
          throw new CallscreenError(
            'CS_ERR_CONTACT_NOT_FOUND',
            `no contact ${target.contactId} in organisation "${org.slug}"`,
            { contact: target.contactId },
          );
        return String(target.contactId);
      }
      case 'unidentified':
        if (list === 'allow')
          throw new CallscreenError('CS_ERR_USAGE', 'the unidentified-caller class can be blocked, not allowed');
        return '';
    }
  }

  async block(orgSlug: string, target: Target, options: BlockOptions, actor: Actor): Promise<EntryRecord> {
    const org = await this.orgs.require(orgSlug);
    return this.put(org, 'block', target, options, actor);
  }

  async allow(
    orgSlug: string,
    target: Target,
    options: Pick<BlockOptions, 'name' | 'reason' | 'expires' | 'requireAttestation' | 'dids'>,
    actor: Actor,
  ): Promise<EntryRecord> {
    const org = await this.orgs.require(orgSlug);
    if (target.kind !== 'exact' && target.kind !== 'prefix' && target.kind !== 'pattern') {
      throw new CallscreenError('CS_ERR_USAGE', 'allow takes a NUMBER, --prefix DIGITS or --pattern PATTERN');
    }
    return this.put(org, 'allow', target, options, actor);
  }

  /**
   * A pattern that is only digits and a trailing `*` (`+1900*`) is a prefix entry: one rule, one
   * way to store it, whatever door it came in by.
   */
  plainTarget(target: Target): Target {
    if (target.kind !== 'pattern') return target;
    const t = target.pattern.trim();
    return /^[^?.]*\*$/.test(t) && t.indexOf('*') === t.length - 1
      ? { kind: 'prefix', prefix: t.slice(0, -1) }
      : target;
  }

  /**
   * Pattern text in its stored form: a range's ends as E.164 numbers, a wildcard's leading digits
   * as an E.164 prefix (so `415555????` in region US is `+1415555????`). Separators (spaces,
   * dashes, parentheses, single dots) are dropped. Validity and breadth: core/number-pattern.ts.
   */
  normalizePattern(raw: string, region: string): string {
    const input = raw.trim();
    const fail = (why: string): never => {
      throw new CallscreenError('CS_ERR_INVALID_PATTERN', `"${input}" is not a number pattern: ${why}`, { input, why });
    };
    const strip = (x: string) => x.replace(/[\s\-()./]/g, '');
    const range = input.split('..');
    if (range.length > 2) fail('a range has one ".."');
    if (range.length === 2) {
      const [lo, hi] = range.map((x) => {
        try {
          return this.normalizer.normalizeNumber(strip(x), region);
        } catch (err) {
          return fail(`"${x.trim()}" is not a number (${err instanceof Error ? err.message : String(err)})`);
        }
      }) as [string, string];
      return `${lo}..${hi}`;
    }
    const compact = strip(input);
    const w = compact.search(/[?*]/);
    if (w < 0) fail('it has no wildcard ("?" for one digit, "*" at the end for any): block the number itself');
    const lead = compact.slice(0, w);
    const rest = compact.slice(w);
    if (!/^[0-9?]*\*?$/.test(rest)) fail('after the first wildcard only digits, "?" and one "*" at the end');
    if (lead === '' || lead === '+') fail('the country code is never a wildcard: start with digits');
    let head: string;
    try {
      head = this.normalizer.normalizePrefix(lead, region);
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
    const text = head + rest;
    compilePattern(text);
    return text;
  }

  /** The org's DIDs named, in E.164, each checked to be one of its own; sorted, no repeats. */
  /** The E.164 form of a called number as a PBX sent it (any form, the org's region), or null. */
  didOf(org: Org, raw: string): string | null {
    const p = this.normalizer.parseCallerId(raw, org.policy.region);
    return p.kind === 'number' ? p.value : null;
  }

  async resolveDids(org: Org, dids: readonly string[] | undefined): Promise<string> {
    if (dids === undefined || dids.length === 0) return '';
    const out = new Set<string>();
    for (const d of dids) {
      if (!d.trim()) continue;
      const n = this.normalizer.normalizeNumber(d, org.policy.region);
      const own = await this.db.get('SELECT 1 FROM org_numbers WHERE number = ? AND org_id = ?', [n, org.id]);
      if (!own)
        throw new CallscreenError(
          'CS_ERR_INVALID_VALUE',
          `${n} is not one of organisation "${org.slug}"'s numbers (DIDs); add it with: callscreen org did add ${org.slug} ${n}`,
          { key: 'dids', number: n },
        );
      out.add(n);
    }
    return [...out].sort().join(' ');
  }

  private async put(
    org: Org,
    list: ListKind,
    rawTarget: Target,
    options: BlockOptions,
    actor: Actor,
  ): Promise<EntryRecord> {
    const target = this.plainTarget(rawTarget);
    const value = await this.resolveTarget(org, target, list);
    if (options.observe === true && list === 'allow') {
      throw new CallscreenError(
        'CS_ERR_USAGE',
        'observe mode is for blocks: an allow entry would only let through what already gets through',
      );
    }
    const dids = await this.resolveDids(org, options.dids);
    const mode = options.mode ?? org.policy.defaultMode;
    if (!BLOCK_MODES.includes(mode)) {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `mode "${mode}" is not one of voicemail, reject`, {
        key: 'mode',
      });
    }
    const name = cleanText(options.name ?? '', 'name', MAX_NAME);
    const reason = cleanText(options.reason ?? '', 'reason', MAX_REASON);
    const now = this.clock.now();
    const expiresAt = this.expiry(options.expires, now);
    const contactId = target.kind === 'contact' ? target.contactId : null;
    const attested = list === 'allow' && options.requireAttestation === true ? 1 : 0;
    return this.db.transaction(async () => {
      const existing = await this.db.get<EntryRow>(
        'SELECT * FROM entries WHERE org_id = ? AND value = ? AND kind = ? AND list = ? AND removed_at IS NULL',
        [org.id, value, target.kind, list],
      );
      let id: number;
      // Observing since: kept when an observed entry is re-posted in observe mode (its report runs on).
      const observeSince = options.observe === true ? (existing?.observe_since ?? now) : null;
      if (existing) {
        // Re-posting a target enables it again if it was disabled: the latest word is the rule.
        await this.db.run(
          'UPDATE entries SET mode = ?, name = ?, reason = ?, expires_at = ?, observe_since = ?, dids = ?, require_attestation = ?, disabled_at = NULL, disabled_by = NULL WHERE id = ?',
          [mode, name, reason, expiresAt, observeSince, dids, attested, existing.id],
        );
        id = existing.id;
      } else {
        const r = await this.db.run(
          `INSERT INTO entries (org_id, list, kind, value, contact_id, mode, name, reason, created_by, created_at, expires_at, source, observe_since, dids, require_attestation)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            org.id,
            list,
            target.kind,
            value,
            contactId,
            mode,
            name,
            reason,
            actor.name,
            now,
            expiresAt,
            actor.source,
            observeSince,
            dids,
            attested,
          ],
        );
        id = r.lastID;
      }
      const action = `${list}${existing ? '.update' : ''}`;
      await this.audit.append(org.id, actor, action, describeTarget(target.kind, value), reason, {
        entry: id,
        mode,
        name,
        ...(expiresAt !== null ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
        ...(attested ? { requireAttestation: true } : {}),
        ...(observeSince !== null ? { observe: true } : {}),
        ...(dids !== '' ? { dids: dids.split(' ') } : {}),
        ...(existing?.disabled_at != null ? { enabled: true } : {}),
      });
      return this.requireEntry(org.id, id);
    });
  }

  /**
   * Edits an active entry in place: mode (block entries only), name, reason, expiry. A field left
   * out keeps its value; `expires: null` (or '') means never. The entry keeps its id, target, who
   * created it and its hits; the audit record (`block.update` / `allow.update`) holds the values
   * before and after and `note` as its reason. Whether the user may make the change (weakening is
   * unblocking) is the caller's to check before calling.
   */
  async edit(orgSlug: string, entryId: number, changes: EntryChanges, actor: Actor, note = ''): Promise<EntryRecord> {
    const org = await this.orgs.require(orgSlug);
    const now = this.clock.now();
    const name = changes.name !== undefined ? cleanText(changes.name, 'name', MAX_NAME) : undefined;
    const reason = changes.reason !== undefined ? cleanText(changes.reason, 'reason', MAX_REASON) : undefined;
    const cleanNote = cleanText(note, 'note', MAX_REASON);
    if (changes.mode !== undefined && !BLOCK_MODES.includes(changes.mode)) {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `mode "${changes.mode}" is not one of voicemail, reject`, {
        key: 'mode',
      });
    }
    const expiresAt = changes.expires !== undefined ? this.expiry(changes.expires, now) : undefined;
    return this.db.transaction(async () => {
      const row = await this.db.get<EntryRow>(
        'SELECT * FROM entries WHERE id = ? AND org_id = ? AND removed_at IS NULL',
        [entryId, org.id],
      );
      if (!row)
        throw new CallscreenError(
          'CS_ERR_ENTRY_NOT_FOUND',
          `no active entry ${entryId} in organisation "${org.slug}"`,
          { entry: entryId },
        );
      if (changes.mode !== undefined && row.list === 'allow') {
        throw new CallscreenError('CS_ERR_INVALID_VALUE', `entry ${entryId} is an allow entry: it has no mode`, {
          key: 'mode',
        });
      }
      const after = {
        mode: changes.mode ?? row.mode,
        name: name ?? row.name,
        reason: reason ?? row.reason,
        expiresAt: expiresAt !== undefined ? expiresAt : row.expires_at,
      };
      const before = { mode: row.mode, name: row.name, reason: row.reason, expiresAt: row.expires_at };
      const changed = (Object.keys(after) as Array<keyof typeof after>).filter((k) => after[k] !== before[k]);
      if (changed.length === 0) return toEntryRecord(row);
      await this.db.run('UPDATE entries SET mode = ?, name = ?, reason = ?, expires_at = ? WHERE id = ?', [
        after.mode,
        after.name,
        after.reason,
        after.expiresAt,
        row.id,
      ]);
      const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
      await this.audit.append(org.id, actor, `${row.list}.update`, describeTarget(row.kind, row.value), cleanNote, {
        entry: row.id,
        changed,
        before: { ...before, expiresAt: iso(before.expiresAt) },
        after: { ...after, expiresAt: iso(after.expiresAt) },
      });
      return this.requireEntry(org.id, row.id);
    });
  }

  /** Removes the active block on a target; history stays (removed_at/by/reason). */
  async unblock(orgSlug: string, target: Target, actor: Actor, reason = ''): Promise<EntryRecord> {
    return this.removeTarget(orgSlug, target, 'block', actor, reason);
  }

  async disallow(orgSlug: string, target: Target, actor: Actor, reason = ''): Promise<EntryRecord> {
    return this.removeTarget(orgSlug, target, 'allow', actor, reason);
  }

  private async removeTarget(
    orgSlug: string,
    rawTarget: Target,
    list: ListKind,
    actor: Actor,
    reason: string,
  ): Promise<EntryRecord> {
    const org = await this.orgs.require(orgSlug);
    const target = this.plainTarget(rawTarget);
    // Removing is never refused for breadth (the org's minimum may have been raised since).
    const value =
      target.kind === 'exact'
        ? this.normalizer.normalizeNumber(target.number, org.policy.region)
        : target.kind === 'pattern'
          ? this.normalizePattern(target.pattern, org.policy.region)
          : await this.resolveTarget(org, target, list);
    const row = await this.db.get<EntryRow>(
      'SELECT * FROM entries WHERE org_id = ? AND value = ? AND kind = ? AND list = ? AND removed_at IS NULL',
      [org.id, value, target.kind, list],
    );
    if (!row) {
      throw new CallscreenError(
        'CS_ERR_ENTRY_NOT_FOUND',
        `${describeTarget(target.kind, value)} is not on the ${list} list of "${org.slug}"`,
        { org: org.slug, value },
      );
    }
    return this.removeRow(org, row, actor, reason);
  }

  /** Removes an entry by id (the panel and API act on rows). */
  async removeById(orgSlug: string, entryId: number, actor: Actor, reason = ''): Promise<EntryRecord> {
    const org = await this.orgs.require(orgSlug);
    const row = await this.db.get<EntryRow>(
      'SELECT * FROM entries WHERE id = ? AND org_id = ? AND removed_at IS NULL',
      [entryId, org.id],
    );
    if (!row)
      throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `no active entry ${entryId} in organisation "${org.slug}"`, {
        entry: entryId,
      });
    return this.removeRow(org, row, actor, reason);
  }

  private async removeRow(org: Org, row: EntryRow, actor: Actor, reason: string): Promise<EntryRecord> {
    const cleanReason = cleanText(reason, 'reason', MAX_REASON);
    return this.db.transaction(async () => {
      const r = await this.db.run(
        'UPDATE entries SET removed_at = ?, removed_by = ?, removed_reason = ? WHERE id = ? AND removed_at IS NULL',
        [this.clock.now(), actor.name, cleanReason, row.id],
      );
      if (r.changes === 0)
        throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `entry ${row.id} was already removed`, { entry: row.id });
      await this.audit.append(
        org.id,
        actor,
        row.list === 'block' ? 'unblock' : 'disallow',
        describeTarget(row.kind, row.value),
        cleanReason,
        {
          entry: row.id,
          blockedBy: row.created_by,
          blockedAt: new Date(row.created_at).toISOString(),
        },
      );
      return this.requireEntry(org.id, row.id);
    });
  }

  /**
   * Removes many active entries of one list at once (the panel's bulk unblock, `unblock-many`), all
   * or nothing: one transaction, each removal audited as a single one is. An id that is not an
   * active entry of `list` in this org refuses the whole batch, naming it.
   */
  async removeMany(
    orgSlug: string,
    entryIds: readonly number[],
    list: ListKind,
    actor: Actor,
    reason = '',
  ): Promise<EntryRecord[]> {
    const org = await this.orgs.require(orgSlug);
    const cleanReason = cleanText(reason, 'reason', MAX_REASON);
    const ids = [...new Set(entryIds)];
    return this.db.transaction(async () => {
      const out: EntryRecord[] = [];
      for (const id of ids) {
        const row = await this.db.get<EntryRow>(
          'SELECT * FROM entries WHERE id = ? AND org_id = ? AND removed_at IS NULL',
          [id, org.id],
        );
        if (!row || row.list !== list)
          throw new CallscreenError(
            'CS_ERR_ENTRY_NOT_FOUND',
            `no active ${list} entry ${id} in organisation "${org.slug}"; nothing was removed`,
            { entry: id },
          );
        await this.db.run('UPDATE entries SET removed_at = ?, removed_by = ?, removed_reason = ? WHERE id = ?', [
          this.clock.now(),
          actor.name,
          cleanReason,
          id,
        ]);
        await this.audit.append(
          org.id,
          actor,
          list === 'block' ? 'unblock' : 'disallow',
          describeTarget(row.kind, row.value),
          cleanReason,
          {
            entry: row.id,
            blockedBy: row.created_by,
            blockedAt: new Date(row.created_at).toISOString(),
            bulk: ids.length,
          },
        );
        out.push(
          toEntryRecord({ ...row, removed_at: this.clock.now(), removed_by: actor.name, removed_reason: cleanReason }),
        );
      }
      return out;
    });
  }

  async getEntry(orgId: number, id: number): Promise<EntryRecord | undefined> {
    const row = await this.db.get<EntryRow>('SELECT * FROM entries WHERE id = ? AND org_id = ?', [id, orgId]);
    return row ? toEntryRecord(row) : undefined;
  }

  private async requireEntry(orgId: number, id: number): Promise<EntryRecord> {
    const e = await this.getEntry(orgId, id);
    if (!e) throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `no entry ${id}`, { entry: id });
    return e;
  }

  /**
   * Lists entries, newest first. `search` matches digits anywhere in the number whatever the
   * formatting typed ("(555) 12" finds +15551234567), contact numbers included, or the name.
   */
  async list(orgSlug: string, q: ListQuery = {}): Promise<{ org: Org; total: number; entries: EntryListItem[] }> {
    const org = await this.orgs.require(orgSlug);
    const where = ['e.org_id = ?'];
    const params: SqlParam[] = [org.id];
    if (!q.includeRemoved) where.push('e.removed_at IS NULL');
    if (q.list) {
      where.push('e.list = ?');
      params.push(q.list);
    }
    const search = (q.search ?? '').trim();
    if (search) {
      const digits = digitsOf(search);
      const alts = new Set<string>();
      if (digits) {
        alts.add(digits);
        const noTrunk = digits.replace(/^0+/, '');
        if (noTrunk && noTrunk !== digits) alts.add(noTrunk);
      }
      const conds: string[] = ['instr(lower(e.name), lower(?)) > 0'];
      params.push(search);
      for (const d of alts) {
        conds.push("instr(replace(e.value, '+', ''), ?) > 0");
        conds.push(
          "(e.kind = 'contact' AND EXISTS (SELECT 1 FROM contact_numbers cn WHERE cn.contact_id = e.contact_id AND instr(replace(cn.number, '+', ''), ?) > 0))",
        );
        params.push(d, d);
      }
      where.push(`(${conds.join(' OR ')})`);
    }
    const clause = where.join(' AND ');
    const total =
      (await this.db.get<{ c: number }>(`SELECT count(*) AS c FROM entries e WHERE ${clause}`, params))?.c ?? 0;
    // One page of a listing (panel, API, `list`) at most 10,000 rows; callers show `total`, so a
    // longer list is never cut silently. Export reads every entry through pages(), not this.
    const limit = Math.max(1, Math.min(q.limit ?? 100, MAX_LIST_PAGE));
    const rows = await this.db.all<EntryPageRow>(
      `SELECT e.*, c.name AS contact_name,
         (SELECT group_concat(number, ' ') FROM contact_numbers cn WHERE cn.contact_id = e.contact_id) AS contact_numbers
       FROM entries e LEFT JOIN contacts c ON c.id = e.contact_id
       WHERE ${clause} ORDER BY e.created_at DESC, e.id DESC LIMIT ? OFFSET ?`,
      [...params, limit, Math.max(0, q.offset ?? 0)],
    );
    const now = this.clock.now();
    return { org, total, entries: rows.map((r) => toListItem(r, now)) };
  }

  /**
   * Every active entry of an org, oldest first (created_at, then id), in pages of `pageSize` rows;
   * no limit. Pages are read by keyset on the entries_org_created index (org_id, created_at, rowid),
   * so each page is one index seek and a million entries stream in constant memory. Run it inside
   * `db.readTransaction` for one consistent snapshot across the pages. Rows come as SQLite gives
   * them (`toListItem` makes list items): a CSV export formats them directly, which halves its time.
   */
  async *pages(orgSlug: string, pageSize = 5000): AsyncGenerator<EntryPageRow[]> {
    const org = await this.orgs.require(orgSlug);
    let afterAt = Number.MIN_SAFE_INTEGER;
    let afterId = 0;
    for (;;) {
      const rows = await this.db.all<EntryPageRow>(
        `SELECT e.*, c.name AS contact_name,
           (SELECT group_concat(number, ' ') FROM contact_numbers cn WHERE cn.contact_id = e.contact_id) AS contact_numbers
         FROM entries e LEFT JOIN contacts c ON c.id = e.contact_id
         WHERE e.org_id = ? AND e.removed_at IS NULL AND (e.created_at, e.id) > (?, ?)
         ORDER BY e.created_at, e.id LIMIT ?`,
        [org.id, afterAt, afterId, pageSize],
      );
      const last = rows.at(-1);
      if (last === undefined) return;
      yield rows;
      afterAt = last.created_at;
      afterId = last.id;
      if (rows.length < pageSize) return;
    }
  }

  private expiry(expires: BlockOptions['expires'], now: number): number | null {
    if (expires === undefined || expires === null || expires === '') return null;
    if (typeof expires === 'number') {
      if (!Number.isFinite(expires) || expires <= now) {
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'expiry must be a time in the future', { key: 'expires' });
      }
      return expires;
    }
    return parseExpiry(expires, now);
  }

  private async refuseProtected(org: Org, n: string): Promise<void> {
    if (emergencyNumbers(org.policy.region).includes(n)) {
      throw new CallscreenError(
        'CS_ERR_PROTECTED_NUMBER',
        `${n} is an emergency number in ${org.policy.region} and can never be blocked`,
        { number: n },
      );
    }
    const did = await this.db.get('SELECT 1 FROM org_numbers WHERE number = ? AND org_id = ?', [n, org.id]);
    if (did) {
      throw new CallscreenError(
        'CS_ERR_PROTECTED_NUMBER',
        `${n} is one of organisation "${org.slug}"'s own numbers and can never be blocked`,
        { number: n },
      );
    }
  }
}

export function toListItem(r: EntryPageRow, now: number): EntryListItem {
  return {
    ...toEntryRecord(r),
    expired: r.expires_at !== null && r.expires_at <= now,
    ...(r.kind === 'contact'
      ? { contact: { name: r.contact_name ?? '', numbers: (r.contact_numbers ?? '').split(' ').filter(Boolean) } }
      : {}),
  };
}

export function describeTarget(kind: EntryKind, value: string): string {
  switch (kind) {
    case 'exact':
      return value;
    case 'prefix':
      return `prefix ${value}`;
    case 'pattern':
      return `pattern ${value}`;
    case 'contact':
      return `contact ${value}`;
    case 'unidentified':
      return 'unidentified callers';
  }
}

/** Trims, refuses control characters other than tab, and bounds length; names the field when refusing. */
export function cleanText(text: string, key: string, max: number): string {
  const s = text.trim();
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)) {
    throw new CallscreenError('CS_ERR_INVALID_VALUE', `${key} contains control characters`, { key });
  }
  if (s.length > max)
    throw new CallscreenError('CS_ERR_INVALID_VALUE', `${key} is longer than ${max} characters`, {
      key,
      length: s.length,
    });
  return s;
}
