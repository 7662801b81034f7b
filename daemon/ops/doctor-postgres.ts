/**
 * `callscreen doctor` with [store] backend = "postgres" (issue #15): can this node reach the shared
 * store, is its schema there, and how far behind is this node's replica? Read-only like the rest of
 * doctor: one connection, two SELECTs, nothing created or migrated.
 */
import pg from 'pg';
import type { Config } from '../config/schema.js';
import { Database } from '../store/database.js';
import { describeUrl, PgStore, pgStoreOptions } from '../store/pg-store.js';

/** One doctor line (the same shape as doctor.ts's DoctorCheck, declared here so neither imports the other). */
export interface DoctorCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

export async function postgresChecks(config: Config, dbPath: string, timeoutMs: number): Promise<DoctorCheck[]> {
  if (config.store.backend !== 'postgres') return [];
  const where = describeUrl(config.store.url);
  let client: pg.Client;
  try {
    const base = PgStore.clientConfigOf(pgStoreOptions(config));
    client = new pg.Client({ ...base, connectionTimeoutMillis: Math.min(timeoutMs, config.store.connect_timeout_ms) });
  } catch (err) {
    return [
      {
        name: 'PostgreSQL store',
        ok: false,
        detail: `${where}: ${err instanceof Error ? err.message : String(err)}`,
        fix: 'check [store] tls_ca names a readable PEM file',
      },
    ];
  }
  client.on('error', () => undefined);
  let head: number;
  let version: number;
  try {
    await client.connect();
    const meta = await client
      .query<{ key: string; value: string }>("SELECT key, value FROM cs_meta WHERE key = 'schema_version'")
      .catch(() => ({ rows: [] as Array<{ key: string; value: string }> }));
    version = Number(meta.rows[0]?.value ?? 0);
    head =
      version > 0
        ? Number((await client.query<{ seq: string }>('SELECT seq FROM cs_head WHERE id = 1')).rows[0]?.seq ?? 0)
        : 0;
  } catch (err) {
    return [
      {
        name: 'PostgreSQL store',
        ok: false,
        detail: `${where}: ${err instanceof Error ? err.message : String(err)}`,
        fix: 'is PostgreSQL running and reachable from here (pg_isready -h HOST -p PORT)? are the user, password and database in [store] url right (psql "URL" -c "select 1")?',
      },
    ];
  } finally {
    await client.end().catch(() => undefined);
  }
  const out: DoctorCheck[] = [
    version > 0
      ? { name: 'PostgreSQL store', ok: true, detail: `${where}: schema v${version}, change log at ${head}` }
      : {
          name: 'PostgreSQL store',
          ok: true,
          detail: `${where}: reachable, no callscreen schema yet (the first node to start creates it; or: callscreen store migrate --to URL)`,
        },
  ];
  let applied: number | null = null;
  try {
    const db = await Database.open(dbPath, { readOnly: true });
    try {
      applied = (await db.get<{ s: number }>('SELECT applied_seq AS s FROM replica_state WHERE id = 1'))?.s ?? null;
    } finally {
      await db.close();
    }
  } catch {
    // no replica yet (a new node): reported below
  }
  if (applied === null)
    out.push({
      name: 'replica',
      ok: true,
      detail: `${dbPath} is not a replica yet: the daemon copies the store whole at its first start`,
    });
  else
    out.push({
      name: 'replica',
      ok: true,
      detail: `${dbPath} has applied change ${applied} of ${head} (${Math.max(0, head - applied)} behind; a running daemon follows within replica_poll_ms)`,
    });
  return out;
}
