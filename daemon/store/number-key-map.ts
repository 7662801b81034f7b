/**
 * A compact map from a phone number to a summary of its entries: open addressing with linear
 * probing over three parallel Float64Arrays (key, meta, expiry).
 *
 * It holds every number of one organisation that has an exact entry (block or allow) or belongs to
 * a blocked contact, and for each the little a verdict needs — entry id, block/allow, mode, expiry —
 * so that *every* verdict is answered from memory, listed or not, without waiting on SQLite or the
 * libuv thread pool that SQLite shares with scrypt, file I/O and DNS (issue #13: a sign-in flood held
 * the pool, uncached listed callers missed their deadline and were let through).
 *
 * Why not a Map<number, object>: E.164 numbers exceed V8's small-integer range, so each key would
 * be a boxed heap number and each value an object: ~150 bytes a number. Here a slot is 24 bytes;
 * 1,000,000 numbers take 2^21 slots (load ≤ 0.5), 48 MiB.
 */
const EMPTY = 0;
const TOMBSTONE = -1;
const MIN_CAPACITY = 1024;
const MAX_LOAD = 0.5;

/**
 * The key of a normalised number: E.164 digits as a positive integer (15 digits < 2^53, exact);
 * short codes as a negative that also encodes their length (so `000` ≠ `00`).
 */
export function numberKey(normalized: string): number {
  // Digit loop rather than Number(slice): string-to-double conversion of 11+ digits took ~0.5 µs,
  // a third of a cached verdict. Exact: at most 15 digits, below 2^53.
  const plus = normalized.charCodeAt(0) === 43; /* + */
  let k = 0;
  for (let i = plus ? 1 : 0; i < normalized.length; i++) k = k * 10 + (normalized.charCodeAt(i) - 48);
  return plus ? k : -(normalized.length * 10_000_000 + k);
}

/** The number a key stands for: numberKey's inverse (`+15551234567`, or a short code with its zeros). */
export function numberOfKey(key: number): string {
  if (key > 0) return '+' + String(key);
  const v = -key;
  const length = Math.floor(v / 10_000_000);
  return String(v - length * 10_000_000).padStart(length, '0');
}

/** What `get` returns for a key that is absent. */
export const ABSENT = -2;

// Every index into the tables below is masked to their length, so a read is never out of range;
// noUncheckedIndexedAccess still types it `number | undefined`, and `?? EMPTY` (or 0) says what an
// absent slot would be rather than asserting it away.
export class NumberKeyMap {
  private keys: Float64Array;
  /** Per slot: the caller's summary of the number (any double ≥ -1; see ScreeningIndex). */
  private metas: Float64Array;
  /** Per slot: a second double for the caller (the index keeps the expiry there, epoch ms, 0 = none). */
  private extras: Float64Array;
  private mask: number;
  private live = 0;
  private used = 0; // live + tombstones
  /** Slot of the last successful `get`, so `extra()` right after it costs no second probe. */
  private lastSlot = -1;

  constructor(expected = 0) {
    let cap = MIN_CAPACITY;
    while (cap * MAX_LOAD < expected) cap *= 2;
    this.keys = new Float64Array(cap);
    this.metas = new Float64Array(cap);
    this.extras = new Float64Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.live;
  }

  /** Bytes held by the tables. */
  get byteLength(): number {
    return this.keys.byteLength + this.metas.byteLength + this.extras.byteLength;
  }

  /**
   * Every key held now, a copy in slot order: the caller may wait between keys while the map changes
   * (a set may rehash it), and reads each key's summary again with `get` when it comes to it.
   */
  keysNow(): Float64Array {
    const out = new Float64Array(this.live);
    let j = 0;
    for (const k of this.keys) if (k !== EMPTY && k !== TOMBSTONE) out[j++] = k;
    return out;
  }

  has(key: number): boolean {
    return this.slotOf(key) >= 0;
  }

  /** The meta stored with `key`, or ABSENT. Its extra is then `extra()`. */
  get(key: number): number {
    const i = this.slotOf(key);
    this.lastSlot = i;
    return i < 0 ? ABSENT : (this.metas[i] ?? ABSENT);
  }

  /** The extra of the key last found by `get` (0 when that `get` found nothing). */
  extra(): number {
    return this.lastSlot < 0 ? 0 : (this.extras[this.lastSlot] ?? 0);
  }

  /** Adds `key` or replaces what it holds. */
  set(key: number, meta: number, extra: number): void {
    if (key === EMPTY || key === TOMBSTONE || !Number.isFinite(key)) throw new RangeError(`invalid number key ${key}`);
    this.lastSlot = -1;
    const existing = this.slotOf(key);
    if (existing >= 0) {
      this.metas[existing] = meta;
      this.extras[existing] = extra;
      return;
    }
    if (this.used + 1 > this.keys.length * MAX_LOAD)
      this.rehash(this.live + 1 > this.keys.length * MAX_LOAD * 0.5 ? this.keys.length * 2 : this.keys.length);
    const keys = this.keys;
    let i = hash(key) & this.mask;
    let firstTomb = -1;
    for (;;) {
      const v = keys[i] ?? EMPTY;
      if (v === EMPTY) break;
      if (v === TOMBSTONE && firstTomb < 0) firstTomb = i;
      i = (i + 1) & this.mask;
    }
    const slot = firstTomb >= 0 ? firstTomb : i;
    if (firstTomb < 0) this.used++;
    keys[slot] = key;
    this.metas[slot] = meta;
    this.extras[slot] = extra;
    this.live++;
  }

  delete(key: number): boolean {
    this.lastSlot = -1;
    const i = this.slotOf(key);
    if (i < 0) return false;
    this.keys[i] = TOMBSTONE;
    this.live--;
    return true;
  }

  private slotOf(key: number): number {
    const keys = this.keys;
    let i = hash(key) & this.mask;
    for (;;) {
      const v = keys[i] ?? EMPTY;
      if (v === key) return i;
      if (v === EMPTY) return -1;
      i = (i + 1) & this.mask;
    }
  }

  private rehash(capacity: number): void {
    const oldKeys = this.keys;
    const oldMetas = this.metas;
    const oldExtras = this.extras;
    this.keys = new Float64Array(capacity);
    this.metas = new Float64Array(capacity);
    this.extras = new Float64Array(capacity);
    this.mask = capacity - 1;
    this.live = 0;
    this.used = 0;
    for (let j = 0; j < oldKeys.length; j++) {
      const v = oldKeys[j] ?? EMPTY;
      if (v !== EMPTY && v !== TOMBSTONE) this.set(v, oldMetas[j] ?? 0, oldExtras[j] ?? 0);
    }
  }
}

/** Mixes the high and low 32 bits of an integral double (murmur3 finaliser). */
function hash(key: number): number {
  const lo = key | 0; // low 32 bits (ToInt32 takes the value modulo 2^32)
  const hi = (key / 4294967296) | 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
