/**
 * Rules a JSON schema cannot say, checked after it by the one loader (`ConfigLoader.fromText`), so
 * `callscreen config check`, `doctor`, a SIGHUP reload and the daemon's start refuse the same files
 * for the same reasons. Each rule names what the daemon would otherwise fail on later, at start or
 * on the first call: a listen address it cannot bind, a regex it cannot compile, half a TLS pair.
 */
import { isIP } from 'node:net';
import type { Config } from './schema.js';

export interface RuleViolation {
  /** Dotted key (`fastagi.listen`). */
  readonly key: string;
  readonly text: string;
}

/** Keys holding `host:port` listen addresses (the ones the daemon binds). */
export const LISTEN_KEYS = ['fastagi.listen', 'admin.listen', 'esl.listen'] as const;
export type ListenKey = (typeof LISTEN_KEYS)[number];

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * `host:port` with host an IPv4 address or a host name, and port 0–65535 (0: any free port, which
 * tests use). IPv6 literals are refused: the listeners split host and port at the last colon and
 * would not bind `[::1]`. Returns the reason when it is not an address the daemon can use.
 */
export function parseListenAddress(value: string): ListenAddress | string {
  if (value.includes('[') || (value.match(/:/g) ?? []).length > 1) return `"${value}": IPv6 listen addresses are not supported; use an IPv4 address or a host name`;
  const m = /^([^:]*):(\d+)$/.exec(value);
  if (!m) return `"${value}" is not host:port (e.g. 127.0.0.1:4573)`;
  const host = m[1]!;
  const port = Number(m[2]);
  if (m[2]!.length > 5 || port > 65535) return `port ${m[2]!} is out of range (0-65535)`;
  if (host === '') return 'the host is empty (127.0.0.1: this host only; 0.0.0.0: every interface)';
  if (/^[0-9.]+$/.test(host)) {
    if (isIP(host) !== 4) return `"${host}" is not an IPv4 address`;
    return { host, port };
  }
  // A host name: RFC 1123 labels (letters, digits, hyphens; no leading or trailing hyphen).
  const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  if (host.length > 253 || !host.split('.').every((l) => label.test(l))) return `"${host}" is not a host name or IPv4 address`;
  return { host, port };
}

/** Every rule broken by `config` (already schema-valid, defaults filled). */
export function checkConfigRules(config: Config): RuleViolation[] {
  const out: RuleViolation[] = [];
  const listen: Record<ListenKey, string> = { 'fastagi.listen': config.fastagi.listen, 'admin.listen': config.admin.listen, 'esl.listen': config.esl.listen };
  const bound: Array<{ key: ListenKey; host: string; port: number }> = [];
  const wildcard = (h: string): boolean => h === '0.0.0.0';
  for (const key of LISTEN_KEYS) {
    const parsed = parseListenAddress(listen[key]);
    if (typeof parsed === 'string') {
      out.push({ key, text: parsed });
      continue;
    }
    const enabled = key === 'fastagi.listen' ? config.fastagi.enabled : key === 'admin.listen' ? config.admin.enabled : config.esl.enabled;
    if (!enabled || parsed.port === 0) continue;
    // Two enabled listeners on one port: the second would fail to bind at start.
    const other = bound.find((b) => b.port === parsed.port && (b.host === parsed.host || wildcard(b.host) || wildcard(parsed.host)));
    // Named on both keys: either may be the one written in the file (the other a default).
    if (other) {
      out.push({ key: other.key, text: `${listen[other.key]} clashes with ${key} ${listen[key]}; each listener needs its own port` });
      out.push({ key, text: `${listen[key]} clashes with ${other.key} ${listen[other.key]}; each listener needs its own port` });
    }
    bound.push({ key, ...parsed });
  }
  try {
    new RegExp(config.agents.endpoint_pattern);
  } catch (err) {
    out.push({ key: 'agents.endpoint_pattern', text: `is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}` });
  }
  if ((config.admin.tls_cert === '') !== (config.admin.tls_key === '')) {
    out.push({ key: config.admin.tls_cert === '' ? 'admin.tls_cert' : 'admin.tls_key', text: 'must be set together with admin.tls_key and admin.tls_cert (both or neither)' });
  }
  for (const section of ['ami', 'esl_inbound'] as const) {
    const s = config[section];
    if (s.reconnect_min_ms > s.reconnect_max_ms) out.push({ key: `${section}.reconnect_min_ms`, text: `(${s.reconnect_min_ms}) must not exceed ${section}.reconnect_max_ms (${s.reconnect_max_ms})` });
  }
  return out;
}
