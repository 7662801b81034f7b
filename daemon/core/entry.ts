/**
 * Block and allow entries as the core sees them. Modes follow seed 001:
 * - `voicemail` — "Block and allow voicemails": calls go to voicemail, SMS are blocked;
 * - `reject`    — "Block all communications": calls, voicemail and SMS are blocked.
 */
export type BlockMode = 'voicemail' | 'reject';
export type ListKind = 'block' | 'allow';
/**
 * exact number, number prefix, every number of a contact, the unidentified-caller class, or a
 * pattern (wildcards or a range: core/number-pattern.ts).
 */
export type EntryKind = 'exact' | 'prefix' | 'contact' | 'unidentified' | 'pattern';
/** auto: a flood hold made by the daemon; handset: a feature code pressed on a phone. */
export type EntrySource = 'cli' | 'api' | 'panel' | 'import' | 'astdb' | 'auto' | 'handset';

export const BLOCK_MODES: readonly BlockMode[] = ['voicemail', 'reject'];
export const ENTRY_SOURCES: readonly EntrySource[] = ['cli', 'api', 'panel', 'import', 'astdb', 'auto', 'handset'];

/** The fields a verdict needs; the store's full row has more (hits, audit fields). */
export interface EntryView {
  readonly id: number;
  readonly list: ListKind;
  readonly kind: EntryKind;
  /** E.164 number, `+`-prefix, contact id as text, or '' for unidentified. */
  readonly value: string;
  readonly mode: BlockMode;
  readonly name: string;
  readonly reason: string;
  /** Epoch ms; null = never expires. */
  readonly expiresAt: number | null;
  /** Allow entries: only when the carrier attested the caller (STIR/SHAKEN A); absent = false. */
  readonly requireAttestation?: boolean;
  /**
   * Observe mode: it matches and is recorded ("would have blocked") but lets the call through.
   * Absent = false. (Disabled entries never reach the core: the index does not load them.)
   */
  readonly observe?: boolean;
  /** The DIDs (E.164) it applies to; absent, null or empty = every call of the org. */
  readonly dids?: readonly string[] | null;
  /** Prefix and pattern entries: numbers covered (core/number-pattern.ts), the narrowest wins. */
  readonly breadth?: number;
}

/** Whether an entry applies to a call to `did` (null: no DID, e.g. an agent's own call). */
export function appliesTo(entry: EntryView, did: string | null): boolean {
  const dids = entry.dids;
  if (dids === undefined || dids === null || dids.length === 0) return true;
  return did !== null && dids.includes(did);
}

export function isActive(entry: EntryView, now: number): boolean {
  return entry.expiresAt === null || entry.expiresAt > now;
}
