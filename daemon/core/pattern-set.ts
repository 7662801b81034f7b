/**
 * An organisation's number patterns (number-pattern.ts) filed for the call path: which patterns
 * match a normalised number, with no allocation unless one does.
 *
 * Patterns are filed by their lead (the characters every match starts with, "+digits") in a digit
 * trie held in typed arrays: a lookup walks the number's digits once, stops at the first digit no
 * lead continues with, and tests only the patterns whose lead it passed. Numbers shorter or longer
 * than any pattern can match are refused before the walk. Which patterns match is exactly what
 * `patternMatches` says for each (the same function `callscreen check` uses); the order they are
 * returned in is the walk's (shorter leads first), so callers sort (narrowestFirst).
 *
 * Before: a trie of objects (a 10-slot array per node), walked by property loads. Pure: no I/O.
 */
import { patternMatches, type CompiledPattern } from './number-pattern.js';

/** A pattern and what it stands for (the index's entry). */
export interface FiledPattern<E> {
  readonly pattern: CompiledPattern;
  readonly entry: E;
}

export class PatternSet<E> {
  private constructor(
    /** node × 10 + digit → the child node; 0 = none (0 is the root, never a child). */
    private readonly child: Int32Array,
    /** node → the first index in `filed` of the patterns whose lead ends at it. */
    private readonly first: Int32Array,
    /** node → one past the last such index (= first when none). */
    private readonly last: Int32Array,
    /** The patterns, grouped by the node their lead ends at. */
    private readonly filed: readonly FiledPattern<E>[],
    /** The shortest and longest number (characters, with "+") any pattern can match. */
    private readonly minLength: number,
    private readonly maxLength: number,
  ) {}

  /** Files `patterns` (in the order given, within one lead); null when there are none. */
  static of<E>(patterns: readonly FiledPattern<E>[]): PatternSet<E> | null {
    if (patterns.length === 0) return null;
    // Build with plain arrays first (node count unknown), then freeze into typed arrays.
    const child: number[] = new Array<number>(10).fill(0);
    const byNode: FiledPattern<E>[][] = [[]];
    let minLength = Number.MAX_SAFE_INTEGER;
    let maxLength = 0;
    for (const p of patterns) {
      const lead = p.pattern.lead;
      let node = 0;
      for (let i = 1; i < lead.length; i++) {
        const slot = node * 10 + lead.charCodeAt(i) - 48;
        let next = child[slot] ?? 0;
        if (next === 0) {
          next = byNode.length;
          byNode.push([]);
          for (let d = 0; d < 10; d++) child.push(0);
          child[slot] = next;
        }
        node = next;
      }
      byNode[node]?.push(p);
      const c = p.pattern;
      const shortest = c.lo !== '' ? c.lo.length : c.mask.length;
      // A trailing "*" has no upper bound (as patternMatches says), whatever the number's length.
      const longest = c.lo !== '' ? c.lo.length : c.open ? Number.MAX_SAFE_INTEGER : c.mask.length;
      if (shortest < minLength) minLength = shortest;
      if (longest > maxLength) maxLength = longest;
    }
    const first = new Int32Array(byNode.length);
    const last = new Int32Array(byNode.length);
    const filed: FiledPattern<E>[] = [];
    byNode.forEach((here, node) => {
      first[node] = filed.length;
      filed.push(...here);
      last[node] = filed.length;
    });
    return new PatternSet(Int32Array.from(child), first, last, filed, minLength, maxLength);
  }

  /** Patterns filed. */
  get size(): number {
    return this.filed.length;
  }

  /**
   * Appends the entries of the patterns matching `n` (normalised E.164) to `out`, creating it on
   * the first match; returns it (undefined when nothing matched and none was given).
   */
  collect(n: string, out: E[] | undefined): E[] | undefined {
    const length = n.length;
    if (length < this.minLength || length > this.maxLength || n.charCodeAt(0) !== 43 /* + */) return out;
    let node = 0;
    for (let i = 1; ; i++) {
      const to = this.last[node] ?? 0;
      for (let k = this.first[node] ?? 0; k < to; k++) {
        const f = this.filed[k];
        if (f !== undefined && patternMatches(f.pattern, n)) (out ??= []).push(f.entry);
      }
      if (i >= length) return out;
      const d = n.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return out;
      node = this.child[node * 10 + d] ?? 0;
      if (node === 0) return out;
    }
  }
}
