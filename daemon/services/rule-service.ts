/**
 * What an admin does to a rule besides writing it (issue #16): disable and enable an entry without
 * deleting it, put a block in observe mode and promote it after reading its report, make a DID
 * allowlist-only, and set the org's minimum pattern breadth. Each change lands in the same
 * transaction as its audit record; the change-log triggers carry it to every daemon.
 *
 * Who may do what is the caller's to check (admin-operations.ts for the panel and API; the CLI is
 * the host's administrator).
 */
import type { Clock } from '../core/clock.js';
import { BLOCK_MODES, type BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import { PATTERN_MIN_DIGITS_DEFAULT } from '../core/number-pattern.js';
import type { NumberNormalizer } from '../core/phone-number.js';
import type { Database } from '../store/database.js';
import { toEntryRecord, type EntryRecord, type EntryRow, type Org } from '../store/rows.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';
import { cleanText, describeTarget, MAX_REASON } from './blocklist-service.js';
import type { OrgService } from './org-service.js';

/** What an entry in observe mode did while observing: the figures to read before promoting it. */
export interface ObserveReport {
  readonly entry: EntryRecord;
  /** Epoch ms the entry has been observing since; null when it is enforced. */
  readonly observingSince: number | null;
  /** Calls and messages it matched and let through ("would have blocked"). */
  readonly hits: number;
  /** Distinct numbers among them. */
  readonly numbers: number;
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  /** The latest of them, newest first (at most `limit`). */
  readonly recent: ReadonlyArray<{
    readonly at: number;
    readonly number: string;
    readonly to: string;
    readonly channel: string;
    readonly reason: string;
  }>;
}

export interface DidRule {
  readonly number: string;
  /** null = screened as usual; else what callers who are not allowed get. */
  readonly allowlistOnly: BlockMode | null;
}

export class RuleService {
  constructor(
    private readonly db: Database,
    private readonly orgs: OrgService,
    private readonly audit: AuditLog,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
  ) {}

  /** Disables (true) or enables (false) an active entry: a disabled entry is kept and listed, and never matches. */
  async setDisabled(
    orgSlug: string,
    entryId: number,
    disabled: boolean,
    actor: Actor,
    note = '',
  ): Promise<EntryRecord> {
    const org = await this.orgs.require(orgSlug);
    const reason = cleanText(note, 'reason', MAX_REASON);
    return this.db.transaction(async () => {
      const row = await this.activeRow(org, entryId);
      if ((row.disabled_at !== null) === disabled) {
        throw new CallscreenError(
          'CS_ERR_ENTRY_STATE',
          `entry ${entryId} is already ${disabled ? 'disabled' : 'enabled'}`,
          { entry: entryId, disabled },
        );
      }
      const now = this.clock.now();
      await this.db.run('UPDATE entries SET disabled_at = ?, disabled_by = ? WHERE id = ?', [
        disabled ? now : null,
        disabled ? actor.name : null,
        row.id,
      ]);
      await this.audit.append(
        org.id,
        actor,
        disabled ? 'entry.disable' : 'entry.enable',
        describeTarget(row.kind, row.value),
        reason,
        {
          entry: row.id,
          list: row.list,
          ...(disabled
            ? {}
            : {
                disabledBy: row.disabled_by,
                disabledAt: row.disabled_at === null ? null : new Date(row.disabled_at).toISOString(),
              }),
        },
      );
      return this.entry(org, row.id);
    });
  }

  /** Puts an enforced block entry in observe mode: it goes on matching and being recorded, and lets calls through. */
  async observe(orgSlug: string, entryId: number, actor: Actor, note = ''): Promise<EntryRecord> {
    const org = await this.orgs.require(orgSlug);
    const reason = cleanText(note, 'reason', MAX_REASON);
    return this.db.transaction(async () => {
      const row = await this.activeRow(org, entryId);
      if (row.list !== 'block')
        throw new CallscreenError(
          'CS_ERR_ENTRY_STATE',
          `entry ${entryId} is an allow entry: observe mode is for blocks`,
          { entry: entryId },
        );
      if (row.observe_since !== null)
        throw new CallscreenError('CS_ERR_ENTRY_STATE', `entry ${entryId} is already in observe mode`, {
          entry: entryId,
        });
      await this.db.run('UPDATE entries SET observe_since = ? WHERE id = ?', [this.clock.now(), row.id]);
      await this.audit.append(org.id, actor, 'entry.observe', describeTarget(row.kind, row.value), reason, {
        entry: row.id,
      });
      return this.entry(org, row.id);
    });
  }

  /**
   * Promotes an entry in observe mode: from now on it blocks. The audit record keeps what it had
   * seen while observing (hits, distinct numbers), so the decision can be read back with its grounds.
   */
  async promote(orgSlug: string, entryId: number, actor: Actor, note = ''): Promise<EntryRecord> {
    const org = await this.orgs.require(orgSlug);
    const reason = cleanText(note, 'reason', MAX_REASON);
    return this.db.transaction(async () => {
      const row = await this.activeRow(org, entryId);
      if (row.observe_since === null)
        throw new CallscreenError('CS_ERR_ENTRY_STATE', `entry ${entryId} is not in observe mode: it already blocks`, {
          entry: entryId,
        });
      const seen = await this.figures(org.id, row.id, row.observe_since);
      await this.db.run('UPDATE entries SET observe_since = NULL WHERE id = ?', [row.id]);
      await this.audit.append(org.id, actor, 'entry.promote', describeTarget(row.kind, row.value), reason, {
        entry: row.id,
        observingSince: new Date(row.observe_since).toISOString(),
        hits: seen.hits,
        numbers: seen.numbers,
      });
      return this.entry(org, row.id);
    });
  }

  /** What an entry matched while observing (from the call records: they are pruned past `[records] keep`). */
  async observeReport(orgSlug: string, entryId: number, limit = 20): Promise<ObserveReport> {
    const org = await this.orgs.require(orgSlug);
    const row = await this.activeRow(org, entryId);
    const entry = toEntryRecord(row);
    if (row.observe_since === null)
      return { entry, observingSince: null, hits: 0, numbers: 0, firstAt: null, lastAt: null, recent: [] };
    const f = await this.figures(org.id, row.id, row.observe_since);
    const recent = await this.db.all<{ at: number; number: string; to_raw: string; channel: string; reason: string }>(
      `SELECT at, number, to_raw, channel, reason FROM screened
       WHERE org_id = ? AND at >= ? AND rule_id = ? AND action = 'allow' ORDER BY id DESC LIMIT ?`,
      [org.id, row.observe_since, String(row.id), Math.max(1, Math.min(limit, 500))],
    );
    return {
      entry,
      observingSince: row.observe_since,
      ...f,
      recent: recent.map((r) => ({ at: r.at, number: r.number, to: r.to_raw, channel: r.channel, reason: r.reason })),
    };
  }

  /** The org's DIDs and their allowlist-only mode. */
  async didRules(orgSlug: string): Promise<DidRule[]> {
    const org = await this.orgs.require(orgSlug);
    const rows = await this.db.all<{ number: string; allowlist_only: BlockMode | null }>(
      'SELECT number, allowlist_only FROM org_numbers WHERE org_id = ? ORDER BY number',
      [org.id],
    );
    return rows.map((r) => ({ number: r.number, allowlistOnly: r.allowlist_only ?? null }));
  }

  /**
   * Makes one of the org's DIDs allowlist-only (`mode`: what callers who are neither allow-listed
   * nor contacts get) or screened as usual again (null).
   */
  async setAllowlistOnly(
    orgSlug: string,
    did: string,
    mode: BlockMode | null,
    actor: Actor,
    note = '',
  ): Promise<DidRule> {
    const org = await this.orgs.require(orgSlug);
    if (mode !== null && !BLOCK_MODES.includes(mode)) {
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `mode "${mode}" is not one of voicemail, reject`, {
        key: 'mode',
      });
    }
    const reason = cleanText(note, 'reason', MAX_REASON);
    const n = this.normalizer.normalizeNumber(did, org.policy.region);
    return this.db.transaction(async () => {
      const row = await this.db.get<{ allowlist_only: BlockMode | null }>(
        'SELECT allowlist_only FROM org_numbers WHERE number = ? AND org_id = ?',
        [n, org.id],
      );
      if (!row)
        throw new CallscreenError(
          'CS_ERR_INVALID_VALUE',
          `${n} is not one of organisation "${org.slug}"'s numbers (DIDs)`,
          { key: 'did', number: n },
        );
      if ((row.allowlist_only ?? null) !== mode) {
        await this.db.run('UPDATE org_numbers SET allowlist_only = ? WHERE number = ?', [mode, n]);
        await this.audit.append(org.id, actor, 'did.allowlist-only', n, reason, {
          from: row.allowlist_only ?? null,
          to: mode,
        });
      }
      return { number: n, allowlistOnly: mode };
    });
  }

  /** Fewest fixed digits (after "+") the org's patterns keep: its own setting, else the default (6). */
  async minPatternDigits(orgSlug: string): Promise<{ minPatternDigits: number; isDefault: boolean }> {
    const org = await this.orgs.require(orgSlug);
    const m =
      (
        await this.db.get<{ m: number | null }>(
          'SELECT min_pattern_digits AS m FROM org_admin_policy WHERE org_id = ?',
          [org.id],
        )
      )?.m ?? null;
    return { minPatternDigits: m ?? PATTERN_MIN_DIGITS_DEFAULT, isDefault: m === null };
  }

  /** Sets the org's pattern minimum (1–15 digits; null = the default). Existing patterns stay. */
  async setMinPatternDigits(
    orgSlug: string,
    digits: number | null,
    actor: Actor,
    note = '',
  ): Promise<{ minPatternDigits: number; isDefault: boolean }> {
    const org = await this.orgs.require(orgSlug);
    if (digits !== null && !(Number.isInteger(digits) && digits >= 1 && digits <= 15)) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `the pattern minimum is 1–15 digits after "+" (or the default), not "${String(digits)}"`,
        { key: 'minPatternDigits' },
      );
    }
    const reason = cleanText(note, 'reason', MAX_REASON);
    await this.db.transaction(async () => {
      await this.db.run(
        'INSERT INTO org_admin_policy (org_id, min_pattern_digits) VALUES (?, ?) ON CONFLICT(org_id) DO UPDATE SET min_pattern_digits = excluded.min_pattern_digits',
        [org.id, digits],
      );
      await this.audit.append(org.id, actor, 'org.settings', org.slug, reason, { minPatternDigits: digits });
    });
    return this.minPatternDigits(orgSlug);
  }

  private async figures(
    orgId: number,
    entryId: number,
    since: number,
  ): Promise<{ hits: number; numbers: number; firstAt: number | null; lastAt: number | null }> {
    // Observe-mode hits are the entry's allow verdicts (a verdict names the entry only when it matched).
    const r = await this.db.get<{ hits: number; numbers: number; first: number | null; last: number | null }>(
      `SELECT count(*) AS hits, count(DISTINCT number) AS numbers, min(at) AS first, max(at) AS last FROM screened
       WHERE org_id = ? AND at >= ? AND rule_id = ? AND action = 'allow'`,
      [orgId, since, String(entryId)],
    );
    return { hits: r?.hits ?? 0, numbers: r?.numbers ?? 0, firstAt: r?.first ?? null, lastAt: r?.last ?? null };
  }

  private async activeRow(org: Org, entryId: number): Promise<EntryRow> {
    const row = await this.db.get<EntryRow>(
      'SELECT * FROM entries WHERE id = ? AND org_id = ? AND removed_at IS NULL',
      [entryId, org.id],
    );
    if (!row)
      throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `no active entry ${entryId} in organisation "${org.slug}"`, {
        entry: entryId,
      });
    return row;
  }

  private async entry(org: Org, id: number): Promise<EntryRecord> {
    const row = await this.db.get<EntryRow>('SELECT * FROM entries WHERE id = ? AND org_id = ?', [id, org.id]);
    if (!row) throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `no entry ${id}`, { entry: id });
    return toEntryRecord(row);
  }
}
