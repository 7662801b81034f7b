/**
 * The value, or a thrown Error naming what was missing: for a test's reads that its earlier
 * assertions make certain (a row it just wrote, a regex group of a matched line). Under
 * noUncheckedIndexedAccess such reads are typed `T | undefined`; this fails the test with a clear
 * message instead of a TypeError further on (and instead of a non-null assertion, which would hide it).
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}, found ${String(value)}`);
  return value;
}
