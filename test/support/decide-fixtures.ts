/**
 * What the pure decision suites (test/core/decide*.test.ts, attestation-policy, the AstDB mirror's
 * identity values) feed the core: empty matches, blocklist entries from a few fields, and a call's
 * decision input. One copy, so a new EntryView or DecisionInput field is added here once.
 */
import type { DecisionInput, Matches } from '../../daemon/core/decide.js';
import type { EntryView } from '../../daemon/core/entry.js';

export const NO_MATCHES: Matches = { exact: [], prefixes: [], unidentified: [], protection: null };

type EntryFields = Partial<EntryView> & Pick<EntryView, 'list' | 'kind'>;

export interface EntryMaker {
  /** A reject entry with a fresh id (1, 2, … per maker), `defaults` and then `p` laid over it. */
  readonly entry: (p: EntryFields) => EntryView;
  /** `e` as another entry (a fresh id), changed by `over`: e.g. an expired twin of an entry. */
  readonly copy: (e: EntryView, over: Partial<EntryView>) => EntryView;
}

export function entryMaker(defaults: Partial<EntryView> = {}): EntryMaker {
  let nextId = 1;
  return {
    entry: (p) => ({
      id: nextId++,
      value: '',
      mode: 'reject',
      name: '',
      reason: '',
      expiresAt: null,
      ...defaults,
      ...p,
    }),
    copy: (e, over) => ({ ...e, id: nextId++, ...over }),
  };
}

/**
 * Builds decision inputs for an inbound call, not withheld, from `base` (the suite's caller, policy
 * and clock); a case gives its matches (laid over NO_MATCHES) and anything else it changes.
 */
export function inputMaker(
  base: Pick<DecisionInput, 'subject' | 'policy' | 'now'> & Partial<DecisionInput>,
): (m: Partial<Matches>, over?: Partial<DecisionInput>) => DecisionInput {
  return (m, over = {}) => ({
    channel: 'call',
    direction: 'inbound',
    withheld: false,
    ...base,
    matches: { ...NO_MATCHES, ...m },
    ...over,
  });
}
