/**
 * Block and allow entries as the core sees them. Modes follow seed 001:
 * - `voicemail` — "Block and allow voicemails": calls go to voicemail, SMS are blocked;
 * - `reject`    — "Block all communications": calls, voicemail and SMS are blocked.
 */
export type BlockMode = 'voicemail' | 'reject';
export type ListKind = 'block' | 'allow';
/** exact number, number prefix, every number of a contact, or the unidentified-caller class. */
export type EntryKind = 'exact' | 'prefix' | 'contact' | 'unidentified';
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
}

export function isActive(entry: EntryView, now: number): boolean {
  return entry.expiresAt === null || entry.expiresAt > now;
}
