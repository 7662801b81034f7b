/**
 * Checked reads for the bench scripts: under noUncheckedIndexedAccess an indexed read is typed
 * `T | undefined` even where the script's own loop keeps it in range. These return the value or
 * throw naming what was missing, so a broken bench stops with a reason instead of measuring NaN.
 */
export function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new RangeError(`index ${i} of ${xs.length}`);
  return x;
}

/** The value, or an Error saying what was missing (a child's pid, a map entry the script put there). */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}, found ${String(value)}`);
  return value;
}
