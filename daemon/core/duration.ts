import { CallscreenError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * Parses an expiry: a duration from now (`90m`, `12h`, `30d`, `2w`) or an ISO-8601 date/time
 * (`2026-12-31`, `2026-12-31T18:00:00Z`). Returns epoch ms. A time in the past is refused: it
 * would create an entry that never matches.
 */
export function parseExpiry(text: string, now: number): number {
  const s = text.trim();
  const rel = /^(\d{1,6})\s*([mhdw])$/i.exec(s);
  let at: number;
  const relMs = rel ? UNIT_MS[(rel[2] ?? '').toLowerCase()] : undefined;
  if (rel && relMs !== undefined) {
    at = now + Number(rel[1]) * relMs;
  } else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) {
    at = Date.parse(s.length === 10 ? s + 'T00:00:00Z' : s);
    if (Number.isNaN(at)) throw invalid(text, 'not a real date');
  } else {
    throw invalid(text, 'use a duration like 30d, 12h, 90m, 2w or an ISO-8601 date like 2026-12-31');
  }
  if (at <= now) throw invalid(text, 'that time has already passed');
  return at;
}

function invalid(text: string, why: string): CallscreenError {
  return new CallscreenError('CS_ERR_INVALID_VALUE', `expiry "${text}" is not valid: ${why}`, {
    key: 'expires',
    input: text,
  });
}
