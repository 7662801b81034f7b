/**
 * The configuration schema: one JSON Schema (validated with ajv, as fastify does), with the
 * defaults that make `npm start` work with no file at all. Every key is documented here; the README's
 * table and config/callscreen.example.toml are kept in step by a test.
 */
import type { FromSchema } from 'json-schema-to-ts';

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: {
          type: 'string',
          minLength: 1,
          default: './var/callscreen.db',
          description: 'SQLite database file; created with its schema on first start',
        },
        busy_timeout_ms: {
          type: 'integer',
          minimum: 0,
          maximum: 600000,
          default: 5000,
          description: 'how long a write waits for another process holding the lock (ms)',
        },
        change_poll_ms: {
          type: 'integer',
          minimum: 5,
          maximum: 10000,
          default: 50,
          description: 'how often the daemon checks for changes committed by other processes (ms)',
        },
        cache_max_entries: {
          type: 'integer',
          minimum: 100,
          maximum: 10000000,
          default: 100000,
          description: 'listed numbers whose entries are kept in the in-memory LRU',
        },
        backup_before_migrate: {
          type: 'boolean',
          default: true,
          description: 'copy the database aside before a schema migration',
        },
        backend: {
          enum: ['sqlite', 'postgres'],
          default: 'sqlite',
          description:
            'sqlite: this node alone; postgres: PostgreSQL (url) is the shared system of record and path is this node\'s replica (docs/operations.md, "Several nodes")',
        },
        url: {
          type: 'string',
          default: '',
          description:
            'PostgreSQL url postgres://user:password@host:port/database when backend = postgres; the password is never logged',
        },
        pool_size: {
          type: 'integer',
          minimum: 1,
          maximum: 100,
          default: 4,
          description: 'PostgreSQL connections this process keeps open at most (plus one for LISTEN)',
        },
        tls: {
          enum: ['off', 'require', 'verify'],
          default: 'off',
          description:
            'TLS to PostgreSQL: off, require (encrypted, server not verified) or verify (certificate checked against tls_ca and the host name)',
        },
        tls_ca: {
          type: 'string',
          default: '',
          description: "PEM file of the CA that signed PostgreSQL's certificate (tls = verify; empty: the system CAs)",
        },
        connect_timeout_ms: {
          type: 'integer',
          minimum: 100,
          maximum: 60000,
          default: 2000,
          description:
            'a PostgreSQL connection not made by then fails, and a write with it fails with CS_ERR_UNAVAILABLE (ms)',
        },
        node_name: {
          type: 'string',
          pattern: '^[A-Za-z0-9._-]{0,64}$',
          default: '',
          description: "this node's name in the shared change log and call records (empty: the host name)",
        },
        replica_poll_ms: {
          type: 'integer',
          minimum: 10,
          maximum: 60000,
          default: 1000,
          description: 'how often the replicator asks PostgreSQL for changes when no NOTIFY woke it (ms)',
        },
        log_keep: {
          type: 'integer',
          minimum: 1000,
          maximum: 100000000,
          default: 1000000,
          description: "changes kept in PostgreSQL's change log; a node further behind resyncs whole",
        },
      },
    },
    screening: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        default_region: {
          type: 'string',
          pattern: '^[A-Z]{2}$',
          default: 'US',
          description: 'region used to read a DID before its organisation is known',
        },
        fail_mode: {
          enum: ['open', 'closed'],
          default: 'open',
          description:
            'when the list cannot answer (no organisation for the number called, an error): open lets the call through, closed rejects it with 503 and holds SMS',
        },
        deadline_ms: {
          type: 'integer',
          minimum: 1,
          maximum: 10000,
          default: 250,
          description:
            'accepted so that existing files still load; no longer used: every verdict comes from memory and never waits (issue #13)',
        },
        anonymous_standins: {
          type: 'array',
          maxItems: 1000,
          default: ['+266696687', '+86282452253', '+7378742833'],
          items: { type: 'string', pattern: '^[+]?[0-9]{3,15}$' },
          description:
            'numbers some carriers put in place of a withheld caller ID; they count as unidentified for organisations with standins-unidentified on (docs/caller-identity.md says where each comes from)',
        },
        dial_prefixes: {
          type: 'array',
          maxItems: 20,
          default: ['9'],
          items: { type: 'string', pattern: '^[0-9*#]{1,6}$' },
          description:
            'outside-line prefixes agents dial before a number; removed before the outbound screen when what is left is a number (*67, *82 always are)',
        },
      },
    },
    records: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        flush_ms: {
          type: 'integer',
          minimum: 10,
          maximum: 60000,
          default: 500,
          description: 'how often call records and hit counts are written (ms)',
        },
        keep: {
          type: 'integer',
          minimum: 1000,
          maximum: 100000000,
          default: 1000000,
          description: 'screened-call records kept; older ones are pruned',
        },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: {
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
          description: 'pino log level',
        },
        format: { enum: ['json', 'pretty'], default: 'json', description: 'json for journald, pretty for a terminal' },
      },
    },
    fastagi: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true, description: 'serve FastAGI for Asterisk' },
        listen: {
          type: 'string',
          minLength: 1,
          default: '127.0.0.1:4573',
          description: 'IPv4 address or host name:port for FastAGI (port 1-65535; checked in config-rules.ts)',
        },
        org_from: {
          enum: ['did', 'context', 'fixed'],
          default: 'did',
          description:
            'how the org of an inbound call is found: the dialled DID, the dialplan context name, or default_org',
        },
        default_org: {
          type: 'string',
          default: '',
          description: 'org used when org_from = fixed, or when a DID belongs to no org (empty: fail mode applies)',
        },
        idle_timeout_ms: {
          type: 'integer',
          minimum: 100,
          maximum: 600000,
          default: 5000,
          description: 'a FastAGI connection that sends nothing for this long is closed (ms)',
        },
        max_connections: {
          type: 'integer',
          minimum: 1,
          maximum: 100000,
          default: 2000,
          description: 'simultaneous FastAGI connections accepted',
        },
      },
    },
    ami: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: {
          type: 'boolean',
          default: false,
          description: 'connect to the Asterisk Manager Interface (agent warnings, SMS release)',
        },
        host: { type: 'string', default: '127.0.0.1', description: 'AMI host' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 5038, description: 'AMI port' },
        username: { type: 'string', default: 'callscreen', description: 'AMI user (manager.conf)' },
        secret: { type: 'string', writeOnly: true, default: '', description: 'AMI secret; never logged' },
        action_timeout_ms: {
          type: 'integer',
          minimum: 100,
          maximum: 60000,
          default: 3000,
          description: 'an AMI action with no response by then fails (ms)',
        },
        reconnect_min_ms: {
          type: 'integer',
          minimum: 10,
          maximum: 60000,
          default: 500,
          description: 'first reconnect delay; doubles up to reconnect_max_ms (ms)',
        },
        reconnect_max_ms: {
          type: 'integer',
          minimum: 100,
          maximum: 600000,
          default: 30000,
          description: 'longest reconnect delay (ms)',
        },
        keepalive_ms: {
          type: 'integer',
          minimum: 1000,
          maximum: 600000,
          default: 15000,
          description: 'Ping interval to detect a dead connection (ms)',
        },
        event_batch_ms: {
          type: 'integer',
          minimum: 0,
          maximum: 1000,
          default: 20,
          description:
            'while no action awaits a response, read events at most once per this many ms, so a busy PBX wakes the daemon once per batch instead of once per call; events are handled up to this much later; 0 reads each as it arrives (ms)',
        },
        astdb_mirror: {
          type: 'boolean',
          default: true,
          description:
            'keep the verdicts of listed numbers in Asterisk\'s AstDB so the dialplan answers them without a FastAGI round trip (docs/asterisk-contract.md, "AstDB mirror"); on whenever [ami] is, off with any fastagi.org_from other than did',
        },
        astdb_family: {
          type: 'string',
          pattern: '^[A-Za-z0-9_-]{1,32}$',
          default: 'callscreen',
          description: 'AstDB family the mirror owns (everything under it is rewritten at each sync)',
        },
        astdb_alive_ttl_ms: {
          type: 'integer',
          minimum: 3000,
          maximum: 600000,
          default: 15000,
          description:
            "the dialplan stops using the mirror this long after the daemon's last heartbeat (a crash); renewed every third of it (ms)",
        },
        astdb_window: {
          type: 'integer',
          minimum: 1,
          maximum: 5000,
          default: 1024,
          description:
            "keys in flight at once during a sync (one DBPut each, or 100 to a CallScreenDBPut with callscreen's module): enough to keep Asterisk busy while the daemon holds a read for 1 ms (an agent warning sent meanwhile waits behind at most this many, ~2-10 us each)",
        },
        astdb_caller_forms: {
          type: 'array',
          minItems: 1,
          maxItems: 3,
          uniqueItems: true,
          default: ['e164', 'national', 'trunk'],
          items: { enum: ['e164', 'national', 'trunk'] },
          contains: { const: 'e164' },
          description:
            "the caller-ID forms the dialplan answers from the mirror: e164 (+15551234567, always: the keys are E.164), national (5551234567), trunk (15551234567, 07700900123), the last two read into E.164 by the dialplan with the org's region; a form left out goes to FastAGI",
        },
      },
    },
    agents: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        endpoint_pattern: {
          type: 'string',
          default: '^(PJSIP|SIP)/(agent[0-9]+)',
          description: 'regex on a channel name; group 2 is the endpoint that receives warnings',
        },
        message_from: {
          type: 'string',
          default: 'sip:callscreen@localhost',
          description: 'From URI of warning messages',
        },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true, description: 'serve the web panel and HTTP API' },
        listen: {
          type: 'string',
          minLength: 1,
          default: '127.0.0.1:8080',
          description: 'IPv4 address or host name:port of the panel and API',
        },
        tls_cert: { type: 'string', default: '', description: 'PEM certificate file; with tls_key, serve HTTPS' },
        tls_key: { type: 'string', writeOnly: true, default: '', description: 'PEM private key file' },
        session_hours: {
          type: 'integer',
          minimum: 1,
          maximum: 720,
          default: 12,
          description: 'how long a panel sign-in lasts (hours)',
        },
        secure_cookies: { type: 'boolean', default: false, description: 'mark cookies Secure (set true behind TLS)' },
      },
    },
    esl: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false, description: 'serve outbound Event Socket for FreeSWITCH' },
        listen: {
          type: 'string',
          minLength: 1,
          default: '127.0.0.1:8084',
          description: 'IPv4 address or host name:port for outbound ESL',
        },
      },
    },
    esl_inbound: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: {
          type: 'boolean',
          default: false,
          description:
            'log in to FreeSWITCH mod_event_socket (SMS screening through the chatplan, agent warnings, SMS release)',
        },
        host: {
          type: 'string',
          default: '127.0.0.1',
          description: 'mod_event_socket host (event_socket.conf.xml listen-ip)',
        },
        port: {
          type: 'integer',
          minimum: 1,
          maximum: 65535,
          default: 8021,
          description: 'mod_event_socket port (event_socket.conf.xml listen-port)',
        },
        password: {
          type: 'string',
          writeOnly: true,
          default: '',
          description: 'event_socket.conf.xml password; required when enabled; never logged',
        },
        command_timeout_ms: {
          type: 'integer',
          minimum: 100,
          maximum: 60000,
          default: 3000,
          description:
            'a command (or the connect + auth handshake) with no reply by then fails and the connection is re-made (ms)',
        },
        reconnect_min_ms: {
          type: 'integer',
          minimum: 10,
          maximum: 60000,
          default: 500,
          description: 'first reconnect delay; doubles up to reconnect_max_ms (ms)',
        },
        reconnect_max_ms: {
          type: 'integer',
          minimum: 100,
          maximum: 600000,
          default: 30000,
          description: 'longest reconnect delay (ms)',
        },
        chatplan_marker: {
          type: 'string',
          pattern: '^[A-Za-z][A-Za-z0-9_]{0,31}$',
          default: 'callscreen',
          description:
            'message header the chatplan sets to "screen" before fire (also <marker>_direction and the global variable <marker>_sms)',
        },
        // At least 3 s: FreeSWITCH schedules in whole seconds and its task thread looks every 0.5 s,
        // so a task set for +N s can run after N-1 s; the renewal (every third) must come before that.
        watchdog_ms: {
          type: 'integer',
          minimum: 3000,
          maximum: 300000,
          default: 15000,
          description:
            'if the daemon stops renewing for this long (rounded up to whole seconds), FreeSWITCH switches SMS screening off by itself (sched_api); renewed every third of it. Messages fired in that window after a crash are lost (ms)',
        },
      },
      // An inbound Event Socket login with an empty password cannot succeed: refuse it at load time.
      // `required` too: ajv checks if/then before it fills defaults, so an absent key is seen as absent.
      if: { properties: { enabled: { const: true } }, required: ['enabled'] },
      then: { required: ['password'], properties: { password: { minLength: 1 } } },
    },
    sip_edge: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: {
          type: 'boolean',
          default: false,
          description: 'connect to drachtio-server as a SIP edge application',
        },
        host: { type: 'string', default: '127.0.0.1', description: 'drachtio-server admin host' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 9022, description: 'drachtio-server admin port' },
        secret: {
          type: 'string',
          writeOnly: true,
          default: '',
          description: 'drachtio-server shared secret; never logged',
        },
        pbx_uri: { type: 'string', default: 'sip:127.0.0.1:5060', description: 'where allowed calls are proxied' },
        voicemail_uri: {
          type: 'string',
          default: '',
          description: 'where voicemail-mode callers are sent (empty: 302 to the PBX)',
        },
      },
    },
  },
} as const;

/**
 * The loaded config's type, derived from the schema above (json-schema-to-ts), so a key added there
 * is typed everywhere at once. Keys with a `default` are present after loading (ajv fills them,
 * `useDefaults`), hence required here; the whole tree is frozen by the loader, hence readonly.
 */
export type Config = DeepReadonly<FromSchema<typeof CONFIG_SCHEMA>>;

type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/**
 * Dotted keys whose values are never logged or printed: the ones the schema marks `writeOnly`
 * (JSON Schema's "may be set, never read back"). The one list: `redactConfig` (`config check`)
 * and the logger's redact paths both read it.
 */
export const SECRET_KEYS: readonly string[] = secretKeys(CONFIG_SCHEMA.properties);

function secretKeys(
  sections: Readonly<Record<string, { readonly properties: Readonly<Record<string, object>> }>>,
): string[] {
  return Object.entries(sections).flatMap(([section, s]) =>
    Object.entries(s.properties).flatMap(([key, k]) =>
      'writeOnly' in k && k.writeOnly === true ? [`${section}.${key}`] : [],
    ),
  );
}
/** Keys holding a url whose password part is never logged or printed (the rest stays readable). */
export const SECRET_URL_KEYS: readonly string[] = ['store.url'];
