/**
 * Row images: what one write transaction did to the tables a shared store replicates (issue #15),
 * captured on the writing connection by TEMP triggers and applied on every replica by upsert/delete.
 *
 * Which tables are shared: the list itself and who manages it (organisations, their numbers,
 * contacts, entries, users, tokens, the audit log). Node-local, never shipped as images: sessions
 * (a sign-in must work while PostgreSQL is away), screened calls and hit counts (the outbox ships
 * them), quarantined SMS (holding one is on the SMS path, which never waits on PostgreSQL), the
 * local change log and replica_state. Columns that change on every call (entries.hit_count,
 * last_hit_at, and the other nodes' counts peer_hits, peer_last_hit_at; api_tokens.last_used_at) are local too: a replica's upsert leaves them as they are.
 */
import type { Database, SqlParam } from './database.js';

interface SharedTable {
  readonly name: string;
  /** Columns never replicated (local counters). */
  readonly local?: readonly string[];
  /** Rows are never updated or deleted (triggers refuse it): an upsert of an existing row does nothing. */
  readonly appendOnly?: boolean;
}

/** Parents before children, so a resync inserts in an order foreign keys accept. */
const SHARED: readonly SharedTable[] = [
  { name: 'orgs' },
  { name: 'org_numbers' },
  { name: 'org_admin_policy' },
  { name: 'contacts' },
  { name: 'contact_numbers' },
  { name: 'entries', local: ['hit_count', 'last_hit_at', 'peer_hits', 'peer_last_hit_at'] },
  { name: 'users' },
  { name: 'user_orgs' },
  { name: 'api_tokens', local: ['last_used_at'] },
  { name: 'audit_log', appendOnly: true },
  // Flood settings and handset block requests (#16): an admin on any node sees and decides them.
  { name: 'org_flood_policy' },
  { name: 'block_requests' },
];

export interface TableSpec {
  readonly name: string;
  /** Primary-key columns, in key order. */
  readonly pk: readonly string[];
  /** Replicated columns (the primary key included). */
  readonly cols: readonly string[];
  readonly appendOnly: boolean;
}

/** One row's change: `i` insert, `u` update (k: the old key), `d` delete (k: the key). */
export interface RowImage {
  readonly t: string;
  readonly op: 'i' | 'u' | 'd';
  readonly k?: readonly SqlParam[];
  readonly r?: Readonly<Record<string, SqlParam>>;
}

/** The shared tables as this file's schema has them (column lists read from SQLite itself). */
export async function readTableSpecs(db: Database): Promise<TableSpec[]> {
  const out: TableSpec[] = [];
  for (const t of SHARED) {
    const info = await db.all<{ name: string; pk: number }>(`SELECT name, pk FROM pragma_table_info('${t.name}')`);
    if (info.length === 0) throw new Error(`shared table ${t.name} is missing from ${db.path}`);
    const pk = info
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    const cols = info.map((c) => c.name).filter((c) => !(t.local ?? []).includes(c));
    out.push({ name: t.name, pk, cols, appendOnly: t.appendOnly ?? false });
  }
  return out;
}

const q = (ident: string): string => `"${ident.replace(/"/g, '""')}"`;

/**
 * Creates the TEMP capture table and triggers on this connection (they exist for it alone, so
 * other processes writing the file are not captured). Idempotent.
 */
export async function installCapture(db: Database, specs: readonly TableSpec[]): Promise<void> {
  const stmts = ['CREATE TEMP TABLE IF NOT EXISTS cs_capture (n INTEGER PRIMARY KEY, image TEXT NOT NULL)'];
  for (const s of specs) {
    const rowOf = (ref: 'NEW' | 'OLD'): string =>
      `json_object(${s.cols.map((c) => `'${c}', ${ref}.${q(c)}`).join(', ')})`;
    const keyOf = (ref: 'NEW' | 'OLD'): string => `json_array(${s.pk.map((c) => `${ref}.${q(c)}`).join(', ')})`;
    const ins = (body: string): string => `INSERT INTO temp.cs_capture (image) VALUES (${body});`;
    stmts.push(
      `CREATE TEMP TRIGGER IF NOT EXISTS cs_cap_${s.name}_i AFTER INSERT ON main.${q(s.name)} BEGIN ${ins(`json_object('t', '${s.name}', 'op', 'i', 'r', ${rowOf('NEW')})`)} END`,
      `CREATE TEMP TRIGGER IF NOT EXISTS cs_cap_${s.name}_u AFTER UPDATE OF ${s.cols.map(q).join(', ')} ON main.${q(s.name)} BEGIN ${ins(`json_object('t', '${s.name}', 'op', 'u', 'k', ${keyOf('OLD')}, 'r', ${rowOf('NEW')})`)} END`,
      `CREATE TEMP TRIGGER IF NOT EXISTS cs_cap_${s.name}_d AFTER DELETE ON main.${q(s.name)} BEGIN ${ins(`json_object('t', '${s.name}', 'op', 'd', 'k', ${keyOf('OLD')})`)} END`,
    );
  }
  for (const sql of stmts) await db.exec(sql);
}

/** Empties the capture table (call first inside the transaction whose writes are to be captured). */
export async function clearCapture(db: Database): Promise<void> {
  await db.exec('DELETE FROM temp.cs_capture');
}

/** What was captured since clearCapture, in the order the rows changed. */
export async function readCapture(db: Database): Promise<RowImage[]> {
  const rows = await db.all<{ image: string }>('SELECT image FROM temp.cs_capture ORDER BY n');
  return rows.map((r) => JSON.parse(r.image) as RowImage);
}

/** The text key of a row in the shared store: its table's key values as a JSON array. */
export function keyText(spec: TableSpec, image: RowImage): string {
  if (image.op === 'd' || image.r === undefined) return JSON.stringify(image.k ?? []);
  const r = image.r;
  return JSON.stringify(spec.pk.map((c) => r[c] ?? null));
}

/**
 * Applies images to this file, in order, inside the caller's transaction. Inserts and updates are
 * upserts that leave local columns (hit counts) alone; a row whose key changed loses its old key first.
 */
export async function applyImages(
  db: Database,
  specs: ReadonlyMap<string, TableSpec>,
  images: readonly RowImage[],
): Promise<void> {
  // Consecutive upserts into one table go as one multi-row statement (an import is thousands of
  // them): SQLite still inserts, checks constraints and fires triggers row by row, in order.
  let run: { spec: TableSpec; rows: Array<Readonly<Record<string, SqlParam>>> } | null = null;
  const flush = async (): Promise<void> => {
    if (run) await upsertMany(db, run.spec, run.rows);
    run = null;
  };
  for (const img of images) {
    const spec = specs.get(img.t);
    if (!spec) throw new Error(`row image for unknown table ${img.t}`);
    const where = spec.pk.map((c) => `${q(c)} = ?`).join(' AND ');
    if (img.op === 'd') {
      await flush();
      if (!spec.appendOnly) await db.run(`DELETE FROM ${q(spec.name)} WHERE ${where}`, [...(img.k ?? [])]);
      continue;
    }
    const r = img.r ?? {};
    if (
      img.op === 'u' &&
      img.k !== undefined &&
      keyText(spec, { t: img.t, op: 'd', k: img.k }) !== keyText(spec, img) &&
      !spec.appendOnly
    ) {
      await flush();
      await db.run(`DELETE FROM ${q(spec.name)} WHERE ${where}`, [...img.k]);
    }
    // SQLite allows 32,766 parameters a statement; stay well below.
    const max = Math.max(1, Math.min(500, Math.floor(30_000 / spec.cols.length)));
    if (run !== null && ((run as { spec: TableSpec }).spec !== spec || (run as { rows: unknown[] }).rows.length >= max))
      await flush();
    if (run === null) run = { spec, rows: [] };
    (run as { rows: Array<Readonly<Record<string, SqlParam>>> }).rows.push(r);
  }
  await flush();
}

/** INSERT … ON CONFLICT (key) DO UPDATE of the replicated columns (DO NOTHING for append-only tables). */
export async function upsert(db: Database, spec: TableSpec, r: Readonly<Record<string, SqlParam>>): Promise<void> {
  await upsertMany(db, spec, [r]);
}

/** `upsert` of several rows in one statement, in order. */
export async function upsertMany(
  db: Database,
  spec: TableSpec,
  rows: ReadonlyArray<Readonly<Record<string, SqlParam>>>,
): Promise<void> {
  if (rows.length === 0) return;
  const cols = spec.cols;
  const nonKey = cols.filter((c) => !spec.pk.includes(c));
  const action =
    spec.appendOnly || nonKey.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${nonKey.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`;
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  await db.run(
    `INSERT INTO ${q(spec.name)} (${cols.map(q).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')} ON CONFLICT (${spec.pk.map(q).join(', ')}) ${action}`,
    rows.flatMap((r) => cols.map((c) => r[c] ?? null)),
  );
}
