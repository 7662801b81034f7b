/**
 * What a reloaded config changes, and which changes the running daemon can take without a restart.
 * The daemon applies `DAEMON_LIVE_KEYS` itself; a component may apply more through
 * `Component.reload()`; anything left (listener addresses, the database path, PBX credentials…)
 * is reported as needing a restart and keeps its old value until then.
 */
import type { Config } from '../config/schema.js';

/** Keys the daemon applies live. screening.* are read from ctx.config at each request. */
export const DAEMON_LIVE_KEYS: readonly string[] = [
  'log.level',
  'store.change_poll_ms',
  'records.flush_ms',
  'screening.fail_mode',
  'screening.deadline_ms',
  'screening.anonymous_standins',
  'screening.dial_prefixes',
];

export interface ReloadResult {
  /** Keys whose new value is in effect. */
  readonly applied: readonly string[];
  /** Keys that changed in the file but keep their old value until `systemctl restart callscreen`. */
  readonly restartRequired: readonly string[];
}

/** Dotted keys (`fastagi.listen`) whose values differ; section order follows the schema. */
export function diffConfig(before: Config, after: Config): string[] {
  const out: string[] = [];
  const a = before as unknown as Record<string, Record<string, unknown>>;
  const b = after as unknown as Record<string, Record<string, unknown>>;
  for (const section of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const sa = a[section] ?? {};
    const sb = b[section] ?? {};
    for (const key of new Set([...Object.keys(sa), ...Object.keys(sb)])) {
      if (JSON.stringify(sa[key]) !== JSON.stringify(sb[key])) out.push(`${section}.${key}`);
    }
  }
  return out;
}
