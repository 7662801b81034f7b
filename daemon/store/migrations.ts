/**
 * Schema migrations, applied in order on open; `PRAGMA user_version` records the last one applied.
 * Each runs in one transaction: a failed migration leaves the database as it was.
 * Never edit a released migration; append a new one.
 */
import { CallscreenError } from '../core/errors.js';
import type { Database } from './database.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
  /** Steps SQL alone cannot say (they read the schema first); run after `sql`, in the same transaction. */
  readonly apply?: (db: Database) => Promise<void>;
}

/** Change-log triggers: any process that writes (CLI, panel, a script with sqlite3) is seen by every daemon. */
const CHANGE_TRIGGERS = `
CREATE TRIGGER entries_change_insert AFTER INSERT ON entries BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (NEW.org_id, NEW.kind, NEW.value);
END;
CREATE TRIGGER entries_change_update
AFTER UPDATE OF org_id, list, kind, value, mode, name, reason, expires_at, removed_at, contact_id ON entries BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (OLD.org_id, OLD.kind, OLD.value);
  INSERT INTO changes(org_id, what, key) SELECT NEW.org_id, NEW.kind, NEW.value
    WHERE NEW.org_id IS NOT OLD.org_id OR NEW.kind IS NOT OLD.kind OR NEW.value IS NOT OLD.value;
END;
CREATE TRIGGER entries_change_delete AFTER DELETE ON entries BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (OLD.org_id, OLD.kind, OLD.value);
END;
CREATE TRIGGER contact_numbers_change_insert AFTER INSERT ON contact_numbers BEGIN
  INSERT INTO changes(org_id, what, key) SELECT org_id, 'number', NEW.number FROM contacts WHERE id = NEW.contact_id;
END;
CREATE TRIGGER contact_numbers_change_delete AFTER DELETE ON contact_numbers BEGIN
  INSERT INTO changes(org_id, what, key) SELECT org_id, 'number', OLD.number FROM contacts WHERE id = OLD.contact_id;
END;
CREATE TRIGGER orgs_change_insert AFTER INSERT ON orgs BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (NEW.id, 'org', NULL);
END;
CREATE TRIGGER orgs_change_update AFTER UPDATE ON orgs BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (NEW.id, 'org', NULL);
END;
CREATE TRIGGER orgs_change_delete AFTER DELETE ON orgs BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (OLD.id, 'org', NULL);
END;
CREATE TRIGGER org_numbers_change_insert AFTER INSERT ON org_numbers BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (NEW.org_id, 'org', NULL);
END;
CREATE TRIGGER org_numbers_change_delete AFTER DELETE ON org_numbers BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (OLD.org_id, 'org', NULL);
END;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description:
      'organisations, contacts, block/allow entries, audit log, change log, screened calls, quarantine, users',
    sql: `
CREATE TABLE orgs (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  region TEXT NOT NULL,
  agents_may_block INTEGER NOT NULL DEFAULT 0 CHECK (agents_may_block IN (0, 1)),
  outbound_policy TEXT NOT NULL DEFAULT 'warn' CHECK (outbound_policy IN ('off', 'warn', 'confirm', 'deny')),
  default_mode TEXT NOT NULL DEFAULT 'reject' CHECK (default_mode IN ('voicemail', 'reject')),
  reject_code INTEGER NOT NULL DEFAULT 603 CHECK (reject_code IN (603, 486, 607, 404)),
  created_at INTEGER NOT NULL
);
-- An organisation's own inbound numbers (DIDs): they pick the org of an inbound call and are protected.
CREATE TABLE org_numbers (
  number TEXT PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  added_at INTEGER NOT NULL
);
CREATE INDEX org_numbers_org ON org_numbers(org_id);
CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX contacts_org ON contacts(org_id);
CREATE TABLE contact_numbers (
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  number TEXT NOT NULL,
  PRIMARY KEY (contact_id, number)
) WITHOUT ROWID;
CREATE INDEX contact_numbers_number ON contact_numbers(number);
-- Block and allow entries. Unblocking sets removed_*: the history stays (seed 000: who, when).
CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  list TEXT NOT NULL CHECK (list IN ('block', 'allow')),
  kind TEXT NOT NULL CHECK (kind IN ('exact', 'prefix', 'contact', 'unidentified')),
  value TEXT NOT NULL,
  contact_id INTEGER REFERENCES contacts(id),
  mode TEXT NOT NULL DEFAULT 'reject' CHECK (mode IN ('voicemail', 'reject')),
  name TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  source TEXT NOT NULL CHECK (source IN ('cli', 'api', 'panel', 'import', 'astdb')),
  hit_count INTEGER NOT NULL DEFAULT 0,
  last_hit_at INTEGER,
  removed_at INTEGER,
  removed_by TEXT,
  removed_reason TEXT
);
CREATE UNIQUE INDEX entries_active ON entries(org_id, value, kind, list) WHERE removed_at IS NULL;
CREATE INDEX entries_org_created ON entries(org_id, created_at);
CREATE INDEX entries_contact ON entries(contact_id) WHERE contact_id IS NOT NULL;
-- Append-only: who did what, when, why, from where.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  org_id INTEGER,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  origin TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_org_at ON audit_log(org_id, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
-- What changed, in commit order; daemons follow it from the last sequence number they applied.
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id INTEGER,
  what TEXT NOT NULL,
  key TEXT
);
-- Every screened call and message (recent calls page, callscreen calls).
CREATE TABLE screened (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  org_id INTEGER,
  channel TEXT NOT NULL,
  direction TEXT NOT NULL,
  from_raw TEXT NOT NULL,
  to_raw TEXT NOT NULL,
  number TEXT NOT NULL,
  action TEXT NOT NULL,
  rule_kind TEXT,
  rule_id TEXT,
  reason TEXT NOT NULL DEFAULT '',
  adapter TEXT NOT NULL,
  call_id TEXT,
  fail_mode TEXT,
  latency_us INTEGER
);
CREATE INDEX screened_org_at ON screened(org_id, at);
-- SMS from blocked senders, held for supervisors (seed 002).
CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  received_at INTEGER NOT NULL,
  from_raw TEXT NOT NULL,
  from_number TEXT NOT NULL,
  to_number TEXT NOT NULL,
  body TEXT NOT NULL,
  deliver_to TEXT NOT NULL DEFAULT '',
  entry_id INTEGER,
  contact_id INTEGER,
  adapter TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released')),
  released_at INTEGER,
  released_by TEXT
);
CREATE INDEX quarantine_org_status ON quarantine(org_id, status, received_at);
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE user_orgs (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, org_id)
) WITHOUT ROWID;
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
);
${CHANGE_TRIGGERS}
`,
  },
  {
    version: 2,
    description: 'admin: per-org prefix minimum for supervisors; scoped, expiring API tokens; session idle time',
    sql: `
-- Admin-only org policy, apart from orgs so the screening path never reads it.
CREATE TABLE org_admin_policy (
  org_id INTEGER PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
  min_prefix_digits INTEGER CHECK (min_prefix_digits IS NULL OR min_prefix_digits BETWEEN 1 AND 15)
);
-- role: what the token may do (never above its owner's role; NULL for old tokens = the owner's);
-- read_only: GET only. expires_at NULL only for tokens made before this migration.
ALTER TABLE api_tokens ADD COLUMN role TEXT CHECK (role IS NULL OR role IN ('admin', 'supervisor', 'agent'));
ALTER TABLE api_tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1));
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN revoked_reason TEXT;
CREATE INDEX api_tokens_user ON api_tokens(user_id);
-- Idle timeout: a session unused this long ends even before its absolute expiry.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
CREATE INDEX sessions_user ON sessions(user_id);
`,
  },
  {
    version: 3,
    description:
      'rules (issue #16): disabled and observe-mode entries, patterns, entries scoped to DIDs, allowlist-only DIDs, a minimum pattern breadth',
    // entries is rebuilt (SQLite cannot change a CHECK): kind gains 'pattern'. Nothing references
    // entries(id) by foreign key, so the copy keeps ids, history and hit counts as they were. The
    // change-log triggers die with the old table and are made again below, watching the new columns.
    sql: `
CREATE TABLE entries_v3 (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  list TEXT NOT NULL CHECK (list IN ('block', 'allow')),
  kind TEXT NOT NULL CHECK (kind IN ('exact', 'prefix', 'contact', 'unidentified', 'pattern')),
  value TEXT NOT NULL,
  contact_id INTEGER REFERENCES contacts(id),
  mode TEXT NOT NULL DEFAULT 'reject' CHECK (mode IN ('voicemail', 'reject')),
  name TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  source TEXT NOT NULL CHECK (source IN ('cli', 'api', 'panel', 'import', 'astdb')),
  hit_count INTEGER NOT NULL DEFAULT 0,
  last_hit_at INTEGER,
  removed_at INTEGER,
  removed_by TEXT,
  removed_reason TEXT,
  -- Disabled: kept, listed, never matches (epoch ms and who; NULL = enabled).
  disabled_at INTEGER,
  disabled_by TEXT,
  -- Observe mode since (epoch ms; NULL = enforced): matches and is recorded, lets the call through.
  observe_since INTEGER,
  -- The DIDs (E.164, space-separated) the entry applies to; '' = every call of the org.
  dids TEXT NOT NULL DEFAULT ''
);
INSERT INTO entries_v3 (id, org_id, list, kind, value, contact_id, mode, name, reason, created_by, created_at, expires_at, source,
  hit_count, last_hit_at, removed_at, removed_by, removed_reason)
SELECT id, org_id, list, kind, value, contact_id, mode, name, reason, created_by, created_at, expires_at, source,
  hit_count, last_hit_at, removed_at, removed_by, removed_reason FROM entries;
DROP TABLE entries;
ALTER TABLE entries_v3 RENAME TO entries;
CREATE UNIQUE INDEX entries_active ON entries(org_id, value, kind, list) WHERE removed_at IS NULL;
CREATE INDEX entries_org_created ON entries(org_id, created_at);
CREATE INDEX entries_contact ON entries(contact_id) WHERE contact_id IS NOT NULL;
CREATE TRIGGER entries_change_insert AFTER INSERT ON entries BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (NEW.org_id, NEW.kind, NEW.value);
END;
CREATE TRIGGER entries_change_update
AFTER UPDATE OF org_id, list, kind, value, mode, name, reason, expires_at, removed_at, contact_id, disabled_at, observe_since, dids ON entries BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (OLD.org_id, OLD.kind, OLD.value);
  INSERT INTO changes(org_id, what, key) SELECT NEW.org_id, NEW.kind, NEW.value
    WHERE NEW.org_id IS NOT OLD.org_id OR NEW.kind IS NOT OLD.kind OR NEW.value IS NOT OLD.value;
END;
CREATE TRIGGER entries_change_delete AFTER DELETE ON entries BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (OLD.org_id, OLD.kind, OLD.value);
END;
-- Allowlist-only DID: NULL = screened as usual; 'voicemail' or 'reject' = only allow-listed callers
-- and the org's contacts ring, everyone else gets this.
ALTER TABLE org_numbers ADD COLUMN allowlist_only TEXT CHECK (allowlist_only IS NULL OR allowlist_only IN ('voicemail', 'reject'));
CREATE TRIGGER org_numbers_change_update AFTER UPDATE ON org_numbers BEGIN
  INSERT INTO changes(org_id, what, key) VALUES (NEW.org_id, 'org', NULL);
END;
-- Fewest fixed digits (after "+") a pattern may have; NULL = 6 (see PATTERN_MIN_DIGITS_DEFAULT).
ALTER TABLE org_admin_policy ADD COLUMN min_pattern_digits INTEGER CHECK (min_pattern_digits IS NULL OR min_pattern_digits BETWEEN 1 AND 15);
`,
  },
  {
    version: 4,
    description:
      'caller identity (issue #16): per-org attestation rules and stand-ins, allow entries only when attested, attestation in call records',
    sql: `
-- What an inbound call gets when the carrier's STIR/SHAKEN verification failed (allow = no rule).
ALTER TABLE orgs ADD COLUMN attestation_failed TEXT NOT NULL DEFAULT 'allow' CHECK (attestation_failed IN ('allow', 'voicemail', 'reject'));
-- A caller presenting one of the org's own DIDs without attestation is spoofed (allow = off).
ALTER TABLE orgs ADD COLUMN own_did_unattested TEXT NOT NULL DEFAULT 'voicemail' CHECK (own_did_unattested IN ('allow', 'voicemail', 'reject'));
-- Carrier stand-ins for "no caller ID" (screening.anonymous_standins) count as unidentified.
ALTER TABLE orgs ADD COLUMN standins_unidentified INTEGER NOT NULL DEFAULT 0 CHECK (standins_unidentified IN (0, 1));
-- Allow entries: only for an attested caller. Set when the entry is made; never updated.
ALTER TABLE entries ADD COLUMN require_attestation INTEGER NOT NULL DEFAULT 0 CHECK (require_attestation IN (0, 1));
-- The call's verification as the carrier reported it: passed-A, failed, no-validation…; NULL none.
ALTER TABLE screened ADD COLUMN attestation TEXT;
`,
  },
  {
    version: 5,
    description:
      'flood detection settings per org; block requests from handsets queued for an admin; entry sources auto and handset',
    sql: `
-- Flood and robocall detection per org (daemon/core/flood-policy.ts): a JSON object of the keys an
-- admin changed; a key left out (or no row) takes the documented default.
CREATE TABLE org_flood_policy (
  org_id INTEGER PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
  settings TEXT NOT NULL DEFAULT '{}'
);
-- A handset feature code (block the last or the current caller) by someone who may not block that
-- number: kept for an admin to approve (the block is then made as the admin) or decline.
CREATE TABLE block_requests (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  number TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  origin TEXT NOT NULL DEFAULT '',
  why TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
  decided_by TEXT,
  decided_at INTEGER,
  entry_id INTEGER
);
CREATE INDEX block_requests_org_status ON block_requests(org_id, status, requested_at);
`,
    apply: widenEntrySources,
  },
  {
    version: 6,
    description: 'call records by number: what-if replays read one number or prefix of the window, not every record',
    sql: `
-- A what-if of a number or prefix seeks here (org, number range, time) instead of reading every
-- record of the window, and reads nothing else: direction and channel are in the index, so the
-- replay never touches the table (1M records: a seek instead of a ~1 s scan; a prefix covering
-- every record reads the index in number order, no sort). Costs one more index entry per record
-- written (~45 bytes; by the write-behind recorder, off the call path).
CREATE INDEX screened_org_number ON screened(org_id, number, at, direction, channel);
`,
  },
  {
    version: 7,
    description: 'admin: a role per organisation (a person may be admin of one org and agent of another)',
    sql: `
-- role: the user's role in this organisation; NULL = users.role (every row before this migration).
ALTER TABLE user_orgs ADD COLUMN role TEXT CHECK (role IS NULL OR role IN ('admin', 'supervisor', 'agent'));
`,
  },
  {
    version: 8,
    description:
      'replica of a shared PostgreSQL store: last change applied, and how far call records and hit counts were shipped',
    sql: `
-- One row. applied_seq: the last change of the shared store's log applied to this file (0: never;
-- store_id '' or another store's: resync whole). shipped_screened_id / shipped_hits_at: the outbox
-- marks (screened rows with a larger id, hit counts of entries hit at or after that time (ms) are
-- still to be shipped). Unused while [store] backend = "sqlite".
CREATE TABLE replica_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  store_id TEXT NOT NULL DEFAULT '',
  applied_seq INTEGER NOT NULL DEFAULT 0,
  applied_at INTEGER,
  resynced_at INTEGER,
  shipped_screened_id INTEGER NOT NULL DEFAULT 0,
  shipped_hits_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO replica_state (id) VALUES (1);
`,
  },
  {
    version: 9,
    description: 'shared store: the hits other nodes counted on each entry, and how far they were pulled',
    sql: `
-- peer_hits / peer_last_hit_at: the sum of the other nodes' hit counts of this entry and the latest
-- of their last hits (ms), pulled from the shared store by the outbox (issue #15). hit_count and
-- last_hit_at stay this node's own (what it ships); the panel, API, CLI and stale report show the
-- two together. Local columns: never replicated, and no change-feed trigger watches them.
-- Always 0 / NULL while [store] backend = "sqlite".
ALTER TABLE entries ADD COLUMN peer_hits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE entries ADD COLUMN peer_last_hit_at INTEGER;
-- PostgreSQL's clock (ms) up to which other nodes' hit counts were pulled (0: never).
ALTER TABLE replica_state ADD COLUMN peer_hits_at INTEGER NOT NULL DEFAULT 0;
`,
  },
  {
    version: 10,
    description: "store identity: a random token naming this database file, for the AstDB mirror's generation marker",
    sql: `
-- One row, never replicated (each node's file has its own change log). The AstDB mirror writes it
-- into Asterisk with the last change it applied, and replays only later changes on a reconnect when
-- the token still matches (daemon/pbx/asterisk/astdb-generation.ts). A new database (a reinstall, a
-- replica rebuilt) gets a new token, and \`callscreen restore\` gives the restored file a new one:
-- its change log is another history from the same sequence numbers on.
CREATE TABLE store_identity (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  token TEXT NOT NULL
);
INSERT INTO store_identity (id, token) VALUES (1, lower(hex(randomblob(16))));
-- The mirror's replay reads the org's volatile numbers (timed, attested-only, observed, DID-scoped:
-- daemon/store/volatile-numbers.ts): few rows, found here instead of by a scan of every entry
-- (1M entries: ~0.4 s). Partial: plain entries, nearly all of them, are not in it.
CREATE INDEX entries_volatile ON entries(org_id, value)
  WHERE removed_at IS NULL AND kind = 'exact'
    AND (expires_at IS NOT NULL OR require_attestation = 1 OR observe_since IS NOT NULL OR dids <> '');
`,
  },
];

/**
 * entries.source gains 'auto' (flood holds) and 'handset' (feature codes). SQLite cannot alter a
 * CHECK constraint, and rebuilding entries would have to name every column (later migrations add
 * some): the table's SQL text is edited in place instead, the documented way for a change that does
 * not touch stored data (sqlite.org/lang_altertable.html, "other kinds of table schema changes"),
 * and schema_version is bumped so every connection, this one included, reads the new text.
 */
async function widenEntrySources(db: Database): Promise<void> {
  const row = await db.get<{ sql: string }>("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'entries'");
  const from = "'import', 'astdb')";
  if (!row || !row.sql.includes(from)) {
    throw new CallscreenError(
      'CS_ERR_DB_SCHEMA',
      'entries.source has an unexpected CHECK constraint; cannot add the sources auto and handset',
      {},
    );
  }
  const version = (await db.get<{ schema_version: number }>('PRAGMA schema_version'))?.schema_version ?? 0;
  await db.exec('PRAGMA writable_schema = ON');
  await db.run("UPDATE sqlite_schema SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'entries'", [
    from,
    "'import', 'astdb', 'auto', 'handset')",
  ]);
  await db.exec(`PRAGMA schema_version = ${version + 1}`);
  await db.exec('PRAGMA writable_schema = OFF');
}

/** The newest migration's version (MIGRATIONS are in ascending order). */
export const SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

export async function schemaVersion(db: Database): Promise<number> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  return row?.user_version ?? 0;
}

/**
 * Brings the schema up to date. `beforeMigrate` runs once, only when there is something to apply to
 * a database that already has data (the daemon takes a backup there).
 */
export async function migrate(
  db: Database,
  beforeMigrate?: (from: number, to: number) => Promise<void>,
): Promise<{ from: number; to: number }> {
  const from = await schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new CallscreenError(
      'CS_ERR_DB_SCHEMA',
      `database ${db.path} has schema version ${from}, newer than this program's ${SCHEMA_VERSION}; upgrade callscreen`,
      { path: db.path, found: from, supported: SCHEMA_VERSION },
    );
  }
  const pending = MIGRATIONS.filter((m) => m.version > from);
  if (pending.length === 0) return { from, to: from };
  if (from > 0 && beforeMigrate) await beforeMigrate(from, SCHEMA_VERSION);
  for (const m of pending) {
    await db.transaction(async () => {
      await db.exec(m.sql);
      if (m.apply) await m.apply(db);
      await db.exec(`PRAGMA user_version = ${m.version}`);
    });
  }
  return { from, to: SCHEMA_VERSION };
}
