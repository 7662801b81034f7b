/**
 * Imports the FreePBX/Asterisk blacklist from an AstDB file. Since Asterisk 10 the AstDB is SQLite
 * (`/var/lib/asterisk/astdb.sqlite3`, table `astdb(key, value)`); the FreePBX blacklist module keeps
 * - `/blacklist/<number>` = the description typed in the GUI (older versions stored `1`);
 * - `/blacklist/blocked` = `1` when "Block Unknown/Blocked Caller ID" is on → our unidentified block;
 * - `/blacklist/dest` = where blocked calls go (a setting, not a number: skipped).
 *
 * Rows go through the CSV importer's checks and single transaction (same validation, protected
 * numbers, all or nothing, dry run); errors are reported by AstDB key instead of CSV line.
 */
import { existsSync } from 'node:fs';
import { csvField } from '../core/csv.js';
import { CallscreenError } from '../core/errors.js';
import { Database } from '../store/database.js';
import type { Actor } from './actor.js';
import type { ImportOptions, ImportResult, Importer, RowError } from './importer.js';

export interface AstdbRecord {
  readonly key: string;
  /** null when the AstDB row holds NULL (CAST(NULL AS TEXT) stays NULL). */
  readonly value: string | null;
}

export interface AstdbSkip {
  readonly key: string;
  readonly why: string;
}

export interface AstdbImportResult extends ImportResult {
  /** Keys under /blacklist/ that are settings, not entries. */
  readonly skipped: readonly AstdbSkip[];
}

/** Our CSV lines for the AstDB rows: line n (1-based, header = 1) came from keys[n - 2]. */
export interface AstdbCsv {
  readonly csv: string;
  readonly keys: readonly string[];
  readonly skipped: readonly AstdbSkip[];
}

const FAMILY = '/blacklist/';
const REASON = 'imported from the FreePBX blacklist (AstDB)';

/** Reads the /blacklist/ family from an AstDB SQLite file, opened read-only (Asterisk may be running). */
export async function readAstdbBlacklist(path: string): Promise<AstdbRecord[]> {
  if (!existsSync(path)) throw new CallscreenError('CS_ERR_FILE_NOT_FOUND', `cannot read AstDB file ${path}`, { path });
  const db = await Database.open(path, { readOnly: true });
  try {
    const table = await db.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'astdb'");
    if (!table) {
      throw new CallscreenError(
        'CS_ERR_IMPORT_INVALID',
        `${path} has no astdb table; expected Asterisk's astdb.sqlite3 (Asterisk 10 or later)`,
        { path },
      );
    }
    // substr, not LIKE: '_' in LIKE is a wildcard and keys are case-sensitive.
    return await db.all<AstdbRecord>(
      'SELECT key, CAST(value AS TEXT) AS value FROM astdb WHERE substr(key, 1, ?) = ? ORDER BY key',
      [FAMILY.length, FAMILY],
    );
  } catch (err) {
    if (err instanceof CallscreenError && err.code !== 'CS_ERR_INTERNAL') throw err;
    throw new CallscreenError(
      'CS_ERR_IMPORT_INVALID',
      `${path} is not a readable AstDB file: ${err instanceof Error ? err.message : String(err)}`,
      { path },
    );
  } finally {
    await db.close();
  }
}

/** Turns AstDB records into importer CSV (pure). */
export function astdbToCsv(records: readonly AstdbRecord[]): AstdbCsv {
  const lines = ['number,kind,name,reason'];
  const keys: string[] = [];
  const skipped: AstdbSkip[] = [];
  for (const r of records) {
    const sub = r.key.slice(FAMILY.length);
    const value = r.value ?? '';
    if (sub === 'dest') {
      skipped.push({ key: r.key, why: 'destination for blocked calls (a FreePBX setting, not a number)' });
    } else if (sub === 'blocked') {
      if (value.trim() === '1') {
        lines.push(`,unidentified,${csvField('Unknown/blocked caller ID')},${csvField(REASON)}`);
        keys.push(r.key);
      } else {
        skipped.push({ key: r.key, why: '"Block Unknown/Blocked Caller ID" is off' });
      }
    } else if (sub.includes('/')) {
      skipped.push({ key: r.key, why: 'not a blacklist number key' });
    } else {
      // Older FreePBX stored "1" when no description was given.
      const name = value.trim() === '1' ? '' : value;
      lines.push(`${csvField(sub)},exact,${csvField(name)},${csvField(REASON)}`);
      keys.push(r.key);
    }
  }
  return { csv: lines.join('\n') + '\n', keys, skipped };
}

export class AstdbImport {
  constructor(private readonly importer: Importer) {}

  /** Imports (or with dryRun, checks) the blacklist in `path`; actor.source should be `astdb`. */
  async importFile(
    path: string,
    orgSlug: string,
    actor: Actor,
    options: ImportOptions = {},
  ): Promise<AstdbImportResult> {
    const { csv, keys, skipped } = astdbToCsv(await readAstdbBlacklist(path));
    try {
      const result = await this.importer.importText(csv, orgSlug, actor, { ...options, fileName: `astdb:${path}` });
      return { ...result, skipped };
    } catch (err) {
      throw byKey(err, keys, path);
    }
  }
}

/** Rewrites the importer's "line N" errors to name the AstDB key the line came from. */
function byKey(err: unknown, keys: readonly string[], path: string): unknown {
  if (!(err instanceof CallscreenError) || err.code !== 'CS_ERR_IMPORT_INVALID') return err;
  const errors = (err.details['errors'] as RowError[] | undefined) ?? [];
  const keyed = errors.map((e) => ({ key: keys[e.line - 2] ?? `line ${e.line}`, message: e.message }));
  const count = Number(err.details['errorCount'] ?? keyed.length);
  return new CallscreenError(
    'CS_ERR_IMPORT_INVALID',
    `${path}: ${count} bad blacklist key(s); nothing was imported:\n` +
      keyed.map((e) => `  ${e.key}: ${e.message}`).join('\n'),
    { errors: keyed, errorCount: count, path },
  );
}
