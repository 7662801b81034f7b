/**
 * Rules a JSON schema cannot say, checked after it by the one loader (`ConfigLoader.fromText`), so
 * `callscreen config check`, `doctor`, a SIGHUP reload and the daemon's start refuse the same files
 * for the same reasons. Each rule names what the daemon would otherwise fail on later, at start or
 * on the first call: a listen address it cannot bind, a regex it cannot compile, half a TLS pair.
 */
import type { Config } from './schema.js';
import { parseListenAddress } from '../net/listen.js';

export interface RuleViolation {
  /** Dotted key (`fastagi.listen`). */
  readonly key: string;
  readonly text: string;
}

/** Keys holding `host:port` listen addresses (the ones the daemon binds). */
export const LISTEN_KEYS = ['fastagi.listen', 'admin.listen', 'esl.listen'] as const;
export type ListenKey = (typeof LISTEN_KEYS)[number];

/** Every rule broken by `config` (already schema-valid, defaults filled). */
export function checkConfigRules(config: Config): RuleViolation[] {
  const out: RuleViolation[] = [];
  const listen: Record<ListenKey, string> = {
    'fastagi.listen': config.fastagi.listen,
    'admin.listen': config.admin.listen,
    'esl.listen': config.esl.listen,
  };
  const bound: Array<{ key: ListenKey; host: string; port: number }> = [];
  const wildcard = (h: string): boolean => h === '0.0.0.0';
  for (const key of LISTEN_KEYS) {
    const parsed = parseListenAddress(listen[key]);
    if (typeof parsed === 'string') {
      out.push({ key, text: parsed });
      continue;
    }
    const enabled =
      key === 'fastagi.listen'
        ? config.fastagi.enabled
        : key === 'admin.listen'
          ? config.admin.enabled
          : config.esl.enabled;
    if (!enabled || parsed.port === 0) continue;
    // Two enabled listeners on one port: the second would fail to bind at start.
    const other = bound.find(
      (b) => b.port === parsed.port && (b.host === parsed.host || wildcard(b.host) || wildcard(parsed.host)),
    );
    // Named on both keys: either may be the one written in the file (the other a default).
    if (other) {
      out.push({
        key: other.key,
        text: `${listen[other.key]} clashes with ${key} ${listen[key]}; each listener needs its own port`,
      });
      out.push({
        key,
        text: `${listen[key]} clashes with ${other.key} ${listen[other.key]}; each listener needs its own port`,
      });
    }
    bound.push({ key, ...parsed });
  }
  try {
    new RegExp(config.agents.endpoint_pattern);
  } catch (err) {
    out.push({
      key: 'agents.endpoint_pattern',
      text: `is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
  const storeUrl = checkStoreUrl(config);
  if (storeUrl !== null) out.push({ key: 'store.url', text: storeUrl });
  if ((config.admin.tls_cert === '') !== (config.admin.tls_key === '')) {
    out.push({
      key: config.admin.tls_cert === '' ? 'admin.tls_cert' : 'admin.tls_key',
      text: 'must be set together with admin.tls_key and admin.tls_cert (both or neither)',
    });
  }
  for (const section of ['ami', 'esl_inbound'] as const) {
    const s = config[section];
    if (s.reconnect_min_ms > s.reconnect_max_ms)
      out.push({
        key: `${section}.reconnect_min_ms`,
        text: `(${s.reconnect_min_ms}) must not exceed ${section}.reconnect_max_ms (${s.reconnect_max_ms})`,
      });
  }
  return out;
}

/**
 * With backend = postgres the url must be a PostgreSQL url with a host and a database; the reason
 * never repeats the url itself (it may hold a password).
 */
function checkStoreUrl(config: Config): string | null {
  if (config.store.backend !== 'postgres') return null;
  if (config.store.url === '')
    return 'must be set when store.backend = "postgres" (postgres://user:password@host:5432/database)';
  let u: URL;
  try {
    u = new URL(config.store.url);
  } catch {
    return 'is not a url (postgres://user:password@host:5432/database)';
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    return `must start with postgres:// (got ${u.protocol}//)`;
  if (u.hostname === '') return 'has no host (postgres://user:password@host:5432/database)';
  if (u.pathname.replace(/^\//, '') === '') return 'names no database (postgres://user:password@host:5432/database)';
  return null;
}
