/**
 * Flood and robocall detection settings of one organisation (issue #16), with their defaults. An
 * org stores only the keys an admin changed (table org_flood_policy, `callscreen org flood`); every
 * other key takes the default below. Pure: validation and merging, no I/O.
 */
import { BLOCK_MODES, type BlockMode } from './entry.js';
import { CallscreenError } from './errors.js';

export interface FloodPolicy {
  /** Detection on for the org (default true). */
  readonly enabled: boolean;
  /** One number calling more than this many times within `windowMinutes` is held (default 5). */
  readonly maxCalls: number;
  /** The sliding window every count is taken over (minutes, default 10). */
  readonly windowMinutes: number;
  /**
   * Neighbours: numbers that differ only in their last `prefixDigits` digits share a prefix
   * (default 4: +1415555 for +14155551234). More than `prefixMaxCalls` calls from at least two of
   * them within the window hold the prefix (default 10).
   */
  readonly prefixDigits: number;
  readonly prefixMaxCalls: number;
  /** One number calling this many different DIDs of the org within the window is held (default 4). */
  readonly didSweep: number;
  /** How long a hold lasts before it expires by itself (minutes, default 60). */
  readonly holdMinutes: number;
  /** What a held caller gets (default voicemail: a person who really called can still leave a message). */
  readonly mode: BlockMode;
  /**
   * Neighbour spoofing, opt in (default false): callers sharing the called DID's area code and
   * exchange (+1 NPA NXX) are counted together; more than `neighbourMaxCalls` such calls within
   * the window (from at least two numbers) hold that exchange. North American numbers only.
   */
  readonly neighbour: boolean;
  readonly neighbourMaxCalls: number;
}

export const DEFAULT_FLOOD_POLICY: FloodPolicy = Object.freeze({
  enabled: true,
  maxCalls: 5,
  windowMinutes: 10,
  prefixDigits: 4,
  prefixMaxCalls: 10,
  didSweep: 4,
  holdMinutes: 60,
  mode: 'voicemail',
  neighbour: false,
  neighbourMaxCalls: 3,
});

/** Bounds of each numeric key: counts stay small so that what the detector keeps per key is bounded. */
export const FLOOD_LIMITS: Readonly<
  Record<
    'maxCalls' | 'windowMinutes' | 'prefixDigits' | 'prefixMaxCalls' | 'didSweep' | 'holdMinutes' | 'neighbourMaxCalls',
    readonly [number, number]
  >
> = {
  maxCalls: [1, 100],
  windowMinutes: [1, 1440],
  prefixDigits: [1, 6],
  prefixMaxCalls: [2, 100],
  didSweep: [2, 50],
  holdMinutes: [1, 10080],
  neighbourMaxCalls: [1, 100],
};

export type FloodKey = keyof FloodPolicy;
export const FLOOD_KEYS: readonly FloodKey[] = Object.keys(DEFAULT_FLOOD_POLICY) as FloodKey[];

/**
 * Checks a partial policy (from the CLI, the API or the stored JSON) and returns it with only known,
 * valid keys; throws CS_ERR_INVALID_VALUE naming the first bad key.
 */
export function checkFloodChanges(input: Readonly<Record<string, unknown>>): Partial<FloodPolicy> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!(FLOOD_KEYS as readonly string[]).includes(key)) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `unknown flood setting "${key}" (one of ${FLOOD_KEYS.join(', ')})`,
        { key },
      );
    }
    if (key === 'enabled' || key === 'neighbour') {
      if (typeof value !== 'boolean')
        throw new CallscreenError('CS_ERR_INVALID_VALUE', `flood setting ${key} must be true or false`, { key });
    } else if (key === 'mode') {
      if (!BLOCK_MODES.includes(value as BlockMode))
        throw new CallscreenError(
          'CS_ERR_INVALID_VALUE',
          `flood setting mode must be one of ${BLOCK_MODES.join(', ')}`,
          { key },
        );
    } else {
      const [min, max] = FLOOD_LIMITS[key as keyof typeof FLOOD_LIMITS];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new CallscreenError(
          'CS_ERR_INVALID_VALUE',
          `flood setting ${key} must be a whole number from ${min} to ${max}`,
          { key },
        );
      }
    }
    out[key] = value;
  }
  return out;
}

/** The effective policy: the defaults with an org's stored changes over them. */
export function floodPolicy(changes: Partial<FloodPolicy>): FloodPolicy {
  return { ...DEFAULT_FLOOD_POLICY, ...changes };
}
