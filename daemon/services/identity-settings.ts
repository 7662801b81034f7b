/**
 * The site-wide identity settings the Screener applies per request (docs/caller-identity.md):
 * carrier stand-ins for "no caller ID" (`screening.anonymous_standins`, used by organisations that
 * turn standins-unidentified on) and the outside-line prefixes agents dial (`screening.dial_prefixes`).
 * Read through a function so a reload (SIGHUP) applies at once; built once per config object.
 */
import type { Config } from '../config/schema.js';
import { digitsOf } from '../core/phone-number.js';

export interface IdentitySettings {
  /** Stand-ins by their digits (`266696687`), so `+266696687` and `266696687` both match. */
  readonly standins: ReadonlySet<string>;
  readonly dialPrefixes: readonly string[];
}

export const NO_IDENTITY_SETTINGS: IdentitySettings = Object.freeze({
  standins: new Set<string>(),
  dialPrefixes: Object.freeze([]),
});

/** `() => settings of config()` that rebuilds only when config() returns a new object. */
export function identitySettingsFrom(config: () => Config): () => IdentitySettings {
  let last: Config | undefined;
  let settings = NO_IDENTITY_SETTINGS;
  return () => {
    const c = config();
    if (c !== last) {
      last = c;
      settings = Object.freeze({
        standins: new Set(c.screening.anonymous_standins.map(digitsOf)),
        dialPrefixes: Object.freeze([...c.screening.dial_prefixes]),
      });
    }
    return settings;
  };
}
