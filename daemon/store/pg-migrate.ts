/**
 * Moves a single-node SQLite site to a shared PostgreSQL store (issue #15, `callscreen store
 * migrate --to URL`): every shared row (organisations and their numbers, contacts, entries, users,
 * tokens, the audit log) becomes change 1 of an empty store, in one PostgreSQL transaction, and the
 * file becomes that store's first replica (no resync needed when this node starts in postgres mode).
 * Node-local data stays in the file and is not lost: quarantined SMS stay held on this node, and its
 * call records and hit counts go out through the outbox when the daemon starts in postgres mode.
 */
import { CallscreenError } from '../core/errors.js';
import type { Database, SqlParam } from './database.js';
import type { PgStore } from './pg-store.js';
import { readTableSpecs, type RowImage } from './row-images.js';

export interface MigrateCount {
  readonly table: string;
  readonly sqlite: number;
  readonly postgres: number;
}

export interface MigrateReport {
  readonly store: string;
  readonly seq: number;
  readonly counts: readonly MigrateCount[];
  /** Kept in this node's file, not shared: quarantined messages, call records waiting for the outbox. */
  readonly local: { readonly quarantine: number; readonly screened: number };
  readonly ok: boolean;
}

export async function migrateToPostgres(db: Database, pg: PgStore): Promise<MigrateReport> {
  const storeId = await pg.ensureSchema();
  const head = await pg.head();
  if (head > 0) {
    throw new CallscreenError(
      'CS_ERR_INVALID_VALUE',
      `PostgreSQL store ${pg.where} already holds ${head} changes; migrate only into an empty store (a new database), nothing was written`,
      { store: pg.where, head },
    );
  }
  const specs = await readTableSpecs(db);
  const images: RowImage[] = [];
  const sqliteCounts = new Map<string, number>();
  // One snapshot of the file, so the rows and their counts agree even if something writes meanwhile.
  await db.readTransaction(async () => {
    for (const spec of specs) {
      const rows = await db.all<Record<string, SqlParam>>(
        `SELECT ${spec.cols.map((c) => `"${c}"`).join(', ')} FROM "${spec.name}" ORDER BY ${spec.pk.map((c) => `"${c}"`).join(', ')}`,
      );
      sqliteCounts.set(spec.name, rows.length);
      for (const r of rows) images.push({ t: spec.name, op: 'i', r });
    }
  });
  const r = await pg.commit(0, images, new Map(specs.map((s) => [s.name, s])));
  if ('behind' in r)
    throw new CallscreenError(
      'CS_ERR_CONFLICT',
      `PostgreSQL store ${pg.where} was written by someone else during the migration; nothing was written`,
      { store: pg.where },
    );
  await db.localTransaction(() =>
    db.run('UPDATE replica_state SET store_id = ?, applied_seq = ?, applied_at = ? WHERE id = 1', [
      storeId,
      r.seq,
      Date.now(),
    ]),
  );
  const pgCounts = new Map(
    (await pg.query<{ tbl: string; c: string }>('SELECT tbl, count(*) AS c FROM cs_rows GROUP BY tbl')).map((x) => [
      x.tbl,
      Number(x.c),
    ]),
  );
  const counts = specs.map((s) => ({
    table: s.name,
    sqlite: sqliteCounts.get(s.name) ?? 0,
    postgres: pgCounts.get(s.name) ?? 0,
  }));
  const local = {
    quarantine: (await db.get<{ c: number }>('SELECT count(*) AS c FROM quarantine'))?.c ?? 0,
    screened: (await db.get<{ c: number }>('SELECT count(*) AS c FROM screened'))?.c ?? 0,
  };
  return { store: pg.where, seq: r.seq, counts, local, ok: counts.every((c) => c.sqlite === c.postgres) };
}
