/**
 * The shared PostgreSQL store (issue #15): the system of record when [store] backend = "postgres".
 *
 * It holds the shared rows generically, as (table, key) → JSON row image (cs_rows), and a change log
 * (cs_changes) whose sequence numbers come from one counter row (cs_head) updated in the same
 * transaction as the rows: no gaps, commit order = sequence order, and a writer that locks the
 * counter row is the only writer until it commits. Replicas apply the log (replicator.ts); a replica
 * too far behind (log pruned) copies cs_rows whole. Node-local facts arrive through the outbox:
 * screened calls (cs_screened) and each node's hit count per entry (cs_hits).
 *
 * Why rows as JSON and not the SQLite schema again: the SQLite schema stays the one schema the
 * services speak; PostgreSQL keeps what it must keep (order, durability, one writer at a time, a
 * snapshot for resync) and never needs a migration when a SQLite migration adds a column.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { CallscreenError } from '../core/errors.js';
import type { Config } from '../config/schema.js';
import { keyText, type RowImage, type TableSpec } from './row-images.js';

/** NOTIFY channel that wakes replicas; the payload is the new sequence number. */
export const CHANGE_CHANNEL = 'callscreen_changes';
/** pg_advisory_lock key under which one node at a time migrates the schema. */
const MIGRATE_LOCK = 0x63_73_6d_67; // "csmg"

interface PgMigration {
  readonly version: number;
  readonly sql: string;
}

const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE cs_head (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL);
INSERT INTO cs_head VALUES (1, 0);
CREATE TABLE cs_rows (tbl text NOT NULL, pk text NOT NULL, data jsonb NOT NULL, seq bigint NOT NULL, PRIMARY KEY (tbl, pk));
CREATE TABLE cs_changes (seq bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), node text NOT NULL, images jsonb NOT NULL);
CREATE TABLE cs_screened (node text NOT NULL, id bigint NOT NULL, at bigint NOT NULL, org_id bigint, data jsonb NOT NULL, PRIMARY KEY (node, id));
CREATE INDEX cs_screened_org_at ON cs_screened (org_id, at);
CREATE TABLE cs_hits (node text NOT NULL, entry_id bigint NOT NULL, hits bigint NOT NULL, last_hit_at bigint, PRIMARY KEY (node, entry_id));
`,
  },
  {
    // Each node pulls the other nodes' hit counts (the panel's hit counts cover every node): only
    // the rows updated since its last pull, by PostgreSQL's clock (ms), so no node's clock matters.
    version: 2,
    sql: `
ALTER TABLE cs_hits ADD COLUMN updated_at bigint NOT NULL DEFAULT 0;
CREATE INDEX cs_hits_updated ON cs_hits (updated_at);
`,
  },
];

/** PostgreSQL's clock in ms, as SQL. */
const PG_NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

/** A call record as the recent-calls listing shows it: the row as the node stored it, and the node. */
export type SiteCallRow = Record<string, unknown> & { readonly id: number; readonly at: number; readonly node: string };

/** Filters of the recent-calls listing (as ScreenRecorder.find). */
export interface SiteCallQuery {
  readonly limit: number;
  readonly offset: number;
  readonly channel?: string;
  readonly action?: string;
  /** Digits only; found anywhere in the normalised caller or the raw from/to. */
  readonly digits?: string;
}

export interface ChangeRow {
  readonly seq: number;
  readonly node: string;
  readonly images: RowImage[];
}

export interface PgStoreOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly tls: 'off' | 'require' | 'verify';
  readonly tlsCa: string;
  readonly connectTimeoutMs: number;
  readonly nodeName: string;
  readonly logKeep: number;
}

export function pgStoreOptions(config: Config): PgStoreOptions {
  return {
    url: config.store.url,
    poolSize: config.store.pool_size,
    tls: config.store.tls,
    tlsCa: config.store.tls_ca,
    connectTimeoutMs: config.store.connect_timeout_ms,
    nodeName: config.store.node_name || hostname(),
    logKeep: config.store.log_keep,
  };
}

/** The url without its password, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString().replace(/:@/, '@');
  } catch {
    return 'the PostgreSQL store';
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);

/** True for errors that mean "PostgreSQL is not there" rather than "this statement is wrong". */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  const msg = err instanceof Error ? err.message : String(err);
  return (
    UNREACHABLE_CODES.has(code) ||
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/i.test(
      msg,
    )
  );
}

export class PgStore {
  readonly node: string;
  readonly where: string;
  private readonly pool: pg.Pool;
  private schemaReady: Promise<string> | null = null;

  constructor(
    readonly options: PgStoreOptions,
    private readonly logger: Logger,
  ) {
    this.node = options.nodeName;
    this.where = describeUrl(options.url);
    this.pool = new pg.Pool(this.clientConfig(options.poolSize));
    // An idle client that loses its server emits here; without a listener it would crash the process.
    this.pool.on('error', (err) =>
      this.logger.warn({ err: err.message, store: this.where }, 'idle PostgreSQL connection lost'),
    );
  }

  clientConfig(max?: number): pg.PoolConfig {
    return PgStore.clientConfigOf(this.options, max);
  }

  /** node-postgres settings for these options (url, TLS, connect timeout, application name). */
  static clientConfigOf(o: PgStoreOptions, max?: number): pg.PoolConfig {
    const ssl =
      o.tls === 'off'
        ? false
        : o.tls === 'require'
          ? { rejectUnauthorized: false }
          : { rejectUnauthorized: true, ...(o.tlsCa ? { ca: readFileSync(o.tlsCa, 'utf8') } : {}) };
    return {
      connectionString: o.url,
      ssl,
      connectionTimeoutMillis: o.connectTimeoutMs,
      ...(max !== undefined ? { max } : {}),
      application_name: `callscreen ${o.nodeName}`,
    };
  }

  /** The catalogue error for a failed PostgreSQL operation: unreachable → CS_ERR_UNAVAILABLE naming the store. */
  error(err: unknown, what: string): CallscreenError {
    if (err instanceof CallscreenError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    if (isUnreachable(err)) {
      return new CallscreenError(
        'CS_ERR_UNAVAILABLE',
        `PostgreSQL store ${this.where} is unreachable (${msg}); ${what}`,
        { store: this.where },
        { cause: err },
      );
    }
    return new CallscreenError(
      'CS_ERR_INTERNAL',
      `PostgreSQL store ${this.where}: ${msg}; ${what}`,
      { store: this.where, pgCode: (err as { code?: string }).code ?? '' },
      { cause: err },
    );
  }

  private async withClient<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.error(err, what);
    }
    let broken = false;
    // A checked-out client whose server goes away emits 'error' besides failing its query.
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (err) {
      broken = isUnreachable(err);
      throw this.error(err, what);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * Creates or upgrades the schema once, whichever node comes first: the others wait on the
   * advisory lock and then find nothing to do. Resolves with the store's id (made at creation):
   * a replica of another store must resync. Retried on the next call after a failure.
   */
  ensureSchema(): Promise<string> {
    this.schemaReady ??= this.withClient('the schema could not be checked', async (c) => {
      await c.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK]);
      try {
        await c.query('CREATE TABLE IF NOT EXISTS cs_meta (key text PRIMARY KEY, value text NOT NULL)');
        const v = Number(
          (await c.query<{ value: string }>("SELECT value FROM cs_meta WHERE key = 'schema_version'")).rows[0]?.value ??
            0,
        );
        for (const m of PG_MIGRATIONS.filter((x) => x.version > v)) {
          await c.query('BEGIN');
          try {
            await c.query(m.sql);
            await c.query(
              "INSERT INTO cs_meta VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
              [String(m.version)],
            );
            await c.query("INSERT INTO cs_meta VALUES ('store_id', $1) ON CONFLICT (key) DO NOTHING", [randomUUID()]);
            await c.query('COMMIT');
          } catch (err) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
          this.logger.info({ store: this.where, version: m.version }, 'PostgreSQL schema migrated');
        }
        const id = (await c.query<{ value: string }>("SELECT value FROM cs_meta WHERE key = 'store_id'")).rows[0]
          ?.value;
        if (id === undefined) throw new Error('cs_meta has no store_id');
        return id;
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]).catch(() => undefined);
      }
    }).catch((err: unknown) => {
      this.schemaReady = null;
      throw err;
    });
    return this.schemaReady;
  }

  /**
   * Commits one write: when the log's head is still `expectedSeq` (the writer's replica saw
   * everything), its row images become change `expectedSeq + 1`; otherwise nothing is written and
   * the head is returned as `behind`. The head row's lock makes writers of every node take turns.
   */
  async commit(
    expectedSeq: number,
    images: readonly RowImage[],
    specs: ReadonlyMap<string, TableSpec>,
  ): Promise<{ seq: number } | { behind: number }> {
    await this.ensureSchema();
    return this.withClient('nothing was written', async (c) => {
      await c.query('BEGIN');
      try {
        const head = Number(
          (await c.query<{ seq: string }>('SELECT seq FROM cs_head WHERE id = 1 FOR UPDATE')).rows[0]?.seq ?? 0,
        );
        if (head !== expectedSeq) {
          await c.query('ROLLBACK');
          return { behind: head };
        }
        const seq = head + 1;
        // The final state of each row this write touched (a row changed twice counts once).
        const final = new Map<string, { tbl: string; pk: string; data: unknown }>();
        for (const img of images) {
          const spec = specs.get(img.t);
          if (!spec) throw new Error(`row image for unknown table ${img.t}`);
          if (img.op !== 'i' && img.k !== undefined) {
            const oldKey = JSON.stringify(img.k);
            if (!spec.appendOnly) final.set(`${img.t}\u0000${oldKey}`, { tbl: img.t, pk: oldKey, data: null });
          }
          if (img.op !== 'd') {
            const pk = keyText(spec, img);
            final.set(`${img.t}\u0000${pk}`, { tbl: img.t, pk, data: img.r });
          }
        }
        const gone = [...final.values()].filter((f) => f.data === null);
        const kept = [...final.values()].filter((f) => f.data !== null);
        if (gone.length > 0) {
          await c.query(
            'DELETE FROM cs_rows r USING jsonb_to_recordset($1::jsonb) AS x(tbl text, pk text) WHERE r.tbl = x.tbl AND r.pk = x.pk',
            [JSON.stringify(gone)],
          );
        }
        if (kept.length > 0) {
          await c.query(
            `INSERT INTO cs_rows (tbl, pk, data, seq) SELECT x.tbl, x.pk, x.data, $2 FROM jsonb_to_recordset($1::jsonb) AS x(tbl text, pk text, data jsonb)
             ON CONFLICT (tbl, pk) DO UPDATE SET data = excluded.data, seq = excluded.seq`,
            [JSON.stringify(kept), seq],
          );
        }
        await c.query('INSERT INTO cs_changes (seq, node, images) VALUES ($1, $2, $3::jsonb)', [
          seq,
          this.node,
          JSON.stringify(images),
        ]);
        await c.query('UPDATE cs_head SET seq = $1 WHERE id = 1', [seq]);
        if (seq % 1000 === 0) await c.query('DELETE FROM cs_changes WHERE seq <= $1', [seq - this.options.logKeep]);
        await c.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, String(seq)]);
        await c.query('COMMIT');
        return { seq };
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async head(): Promise<number> {
    await this.ensureSchema();
    return this.withClient('the change log head could not be read', async (c) =>
      Number((await c.query<{ seq: string }>('SELECT seq FROM cs_head WHERE id = 1')).rows[0]?.seq ?? 0),
    );
  }

  /** Changes after `after`, in order, at most `limit`. */
  async changesAfter(after: number, limit: number): Promise<ChangeRow[]> {
    await this.ensureSchema();
    return this.withClient('changes could not be read', async (c) => {
      const r = await c.query<{ seq: string; node: string; images: RowImage[] }>(
        'SELECT seq, node, images FROM cs_changes WHERE seq > $1 ORDER BY seq LIMIT $2',
        [after, limit],
      );
      return r.rows.map((x) => ({ seq: Number(x.seq), node: x.node, images: x.images }));
    });
  }

  /** Every shared row and the sequence number they stand at, read in one snapshot (a resync). */
  async snapshot(): Promise<{ seq: number; rows: Array<{ tbl: string; data: Record<string, unknown> }> }> {
    await this.ensureSchema();
    return this.withClient('the snapshot could not be read', async (c) => {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const seq = Number((await c.query<{ seq: string }>('SELECT seq FROM cs_head WHERE id = 1')).rows[0]?.seq ?? 0);
        const rows = (
          await c.query<{ tbl: string; data: Record<string, unknown> }>(
            'SELECT tbl, data FROM cs_rows ORDER BY tbl, pk',
          )
        ).rows;
        await c.query('COMMIT');
        return { seq, rows };
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** Ships screened-call records (idempotent: a record shipped twice is stored once). */
  async shipScreened(
    rows: ReadonlyArray<{ id: number; at: number; org_id: number | null } & Record<string, unknown>>,
  ): Promise<void> {
    if (rows.length === 0) return;
    await this.ensureSchema();
    await this.withClient('call records stay in the outbox', async (c) => {
      await c.query(
        `INSERT INTO cs_screened (node, id, at, org_id, data) SELECT $1, x.id, x.at, x.org_id, x.data FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, at bigint, org_id bigint, data jsonb)
         ON CONFLICT (node, id) DO NOTHING`,
        [this.node, JSON.stringify(rows.map((r) => ({ id: r.id, at: r.at, org_id: r.org_id, data: r })))],
      );
    });
  }

  /** Ships this node's hit count per entry as absolute values (idempotent; totals = sum over nodes). */
  async shipHits(hits: ReadonlyArray<{ id: number; hit_count: number; last_hit_at: number | null }>): Promise<void> {
    if (hits.length === 0) return;
    await this.ensureSchema();
    await this.withClient('hit counts stay in the outbox', async (c) => {
      await c.query(
        `INSERT INTO cs_hits (node, entry_id, hits, last_hit_at, updated_at)
         SELECT $1, x.id, x.hit_count, x.last_hit_at, ${PG_NOW_MS} FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, hit_count bigint, last_hit_at bigint)
         ON CONFLICT (node, entry_id) DO UPDATE SET hits = excluded.hits, last_hit_at = excluded.last_hit_at, updated_at = excluded.updated_at
         WHERE (cs_hits.hits, cs_hits.last_hit_at) IS DISTINCT FROM (excluded.hits, excluded.last_hit_at)`,
        [this.node, JSON.stringify(hits)],
      );
    });
  }

  /**
   * The other nodes' hits per entry (sum of their counts, latest of their last hits) for the
   * entries whose count any other node shipped at or after `since` (PostgreSQL's clock, ms; 0:
   * every entry). `now`: PostgreSQL's clock when the read began, the next call's `since` (less a
   * margin: an upsert that began before `now` may commit after this read).
   */
  async peerHits(
    since: number,
  ): Promise<{ now: number; hits: Array<{ entryId: number; hits: number; lastHitAt: number | null }> }> {
    await this.ensureSchema();
    return this.withClient("the other nodes' hit counts could not be read", async (c) => {
      const now = Number((await c.query<{ now: string }>(`SELECT ${PG_NOW_MS} AS now`)).rows[0]?.now ?? 0);
      const r = await c.query<{ entry_id: string; hits: string; last: string | null }>(
        `SELECT entry_id, sum(hits) AS hits, max(last_hit_at) AS last FROM cs_hits
         WHERE node <> $1 AND entry_id IN (SELECT entry_id FROM cs_hits WHERE updated_at >= $2 AND node <> $1) GROUP BY entry_id`,
        [this.node, since],
      );
      return {
        now,
        hits: r.rows.map((x) => ({
          entryId: Number(x.entry_id),
          hits: Number(x.hits),
          lastHitAt: x.last === null ? null : Number(x.last),
        })),
      };
    });
  }

  /**
   * One page of an org's shipped call records from every node, newest first (time, then node name
   * byte-wise, then id, so pages do not overlap; cs_screened_org_at read backwards): the first `offset + limit` that match, for the caller to merge
   * with what its own outbox still holds.
   */
  async recentScreened(orgId: number, q: SiteCallQuery): Promise<SiteCallRow[]> {
    await this.ensureSchema();
    const where = ['org_id = $1'];
    const params: unknown[] = [orgId];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.channel) where.push(`data->>'channel' = ${p(q.channel)}`);
    if (q.action) where.push(`data->>'action' = ${p(q.action)}`);
    if (q.digits) {
      const d = p(q.digits);
      where.push(
        `(strpos(replace(data->>'number', '+', ''), ${d}) > 0 OR strpos(data->>'from_raw', ${d}) > 0 OR strpos(data->>'to_raw', ${d}) > 0)`,
      );
    }
    return this.withClient('the site-wide call records could not be read', async (c) => {
      const r = await c.query<{ node: string; data: Record<string, unknown> }>(
        `SELECT node, data FROM cs_screened WHERE ${where.join(' AND ')} ORDER BY at DESC, node COLLATE "C", id DESC LIMIT ${p(q.limit)} OFFSET ${p(q.offset)}`,
        params,
      );
      return r.rows.map((x) => ({ ...x.data, id: Number(x.data.id), at: Number(x.data.at), node: x.node }));
    });
  }

  /**
   * The dashboard's figures over every node's shipped call records (cs_screened) of one org since
   * `since` (ms): blocked per UTC day number and channel, the most blocked numbers, totals, and the
   * totals of each node.
   * `blocked`: the actions that count as blocked, as in dashboard-query.ts.
   */
  async dashboard(
    orgId: number,
    since: number,
    topN: number,
    blocked: readonly string[],
  ): Promise<{
    days: Array<{ d: number; channel: string; c: number }>;
    top: Array<{ number: string; count: number; lastAt: number }>;
    totals: { screened: number; blocked: number };
    nodes: Array<{ node: string; screened: number; blocked: number }>;
  }> {
    await this.ensureSchema();
    return this.withClient('the site-wide dashboard could not be read', async (c) => {
      const days = await c.query<{ d: string; channel: string; c: string }>(
        `SELECT at / 86400000 AS d, data->>'channel' AS channel, count(*) AS c FROM cs_screened
         WHERE org_id = $1 AND at >= $2 AND data->>'action' = ANY($3) GROUP BY 1, 2`,
        [orgId, since, blocked],
      );
      const top = await c.query<{ number: string; count: string; last_at: string }>(
        `SELECT data->>'number' AS number, count(*) AS count, max(at) AS last_at FROM cs_screened
         WHERE org_id = $1 AND at >= $2 AND data->>'action' = ANY($3) GROUP BY 1 ORDER BY count(*) DESC, max(at) DESC LIMIT $4`,
        [orgId, since, blocked, topN],
      );
      const totals = await c.query<{ screened: string; blocked: string }>(
        `SELECT count(*) AS screened, count(*) FILTER (WHERE data->>'action' = ANY($3)) AS blocked FROM cs_screened WHERE org_id = $1 AND at >= $2`,
        [orgId, since, blocked],
      );
      const nodes = await c.query<{ node: string; screened: string; blocked: string }>(
        `SELECT node, count(*) AS screened, count(*) FILTER (WHERE data->>'action' = ANY($3)) AS blocked FROM cs_screened WHERE org_id = $1 AND at >= $2
         GROUP BY node ORDER BY node COLLATE "C"`,
        [orgId, since, blocked],
      );
      return {
        nodes: nodes.rows.map((r) => ({ node: r.node, screened: Number(r.screened), blocked: Number(r.blocked) })),
        days: days.rows.map((r) => ({ d: Number(r.d), channel: r.channel, c: Number(r.c) })),
        top: top.rows.map((r) => ({ number: r.number, count: Number(r.count), lastAt: Number(r.last_at) })),
        totals: { screened: Number(totals.rows[0]?.screened ?? 0), blocked: Number(totals.rows[0]?.blocked ?? 0) },
      };
    });
  }

  /** A dedicated connection (LISTEN); the caller ends it. */
  async listenClient(): Promise<pg.Client> {
    const client = new pg.Client(this.clientConfig());
    // Until the caller attaches its own: a server that goes away emits 'error', fatal when unheard.
    client.on('error', (err) => this.logger.debug({ err: err.message }, 'LISTEN connection error'));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw this.error(err, 'not listening for changes');
    }
    return client;
  }

  /** A query for tools and tests (counts, migrate). */
  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.withClient('the query failed', async (c) => (await c.query<T>(sql, params)).rows);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
