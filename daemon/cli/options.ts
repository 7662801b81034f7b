/** Option parsers shared by the command modules; bad values are usage errors naming the option. */
import { CallscreenError } from '../core/errors.js';

export function positiveInt(option: string): (text: string) => number {
  return (text: string) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0) {
      throw new CallscreenError('CS_ERR_USAGE', `${option} "${text}" is not a positive whole number`, { key: option });
    }
    return n;
  };
}

/** Exactly one of the given targets was supplied, or a usage error listing them. */
export function exactlyOne<T>(what: string, candidates: ReadonlyArray<T | undefined | false>): T {
  const given = candidates.filter((c): c is T => c !== undefined && c !== false);
  const [only] = given;
  if (given.length !== 1 || only === undefined) {
    throw new CallscreenError('CS_ERR_USAGE', `give exactly one target: ${what} (got ${given.length})`);
  }
  return only;
}

/** A whole number ≥ 0 (an --offset), or a usage error naming the option. */
export function nonNegativeInt(option: string): (text: string) => number {
  return (text: string) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) {
      throw new CallscreenError('CS_ERR_USAGE', `${option} "${text}" is not a whole number (0 or more)`, {
        key: option,
      });
    }
    return n;
  };
}
