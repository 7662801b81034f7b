/**
 * An organisation's number patterns (number-pattern.ts) filed for the call path: which patterns
 * match a normalised number, with no allocation unless one does.
 *
 * Patterns are filed by their lead (the characters every match starts with, "+digits") in a digit
 * trie held in one typed array: a lookup walks the number's digits once, stops at the first digit
 * no lead continues with, and tests only the patterns whose lead it passed. A wildcard is then
 * tested at its fixed digits after the lead only (`+1200?????0?`: one digit, not five), a range by
 * its ends. Numbers shorter or longer than any pattern can match are refused before the walk.
 * Which patterns match is exactly what `patternMatches` says for each (the test `callscreen check`
 * applies to every pattern in turn; test/core/pattern-set.test.ts compares the two); the order they
 * are returned in is the walk's (shorter leads first), so callers sort (narrowestFirst).
 *
 * Why (issue #16's "no slower than today by more than 10 %"): the index's first trie was objects (a
 * 10-slot array per node) walked by property loads, and each pattern reached was tested over every
 * character after its lead; with 80 patterns it was the largest extra self time of a verdict. Pure.
 */
import type { CompiledPattern } from './number-pattern.js';

/** A pattern and what it stands for (the index's entry). */
export interface FiledPattern<E> {
  readonly pattern: CompiledPattern;
  readonly entry: E;
}

/** A filed pattern as the lookup tests it. */
interface Test<E> {
  readonly entry: E;
  /** Range ends ('' for a wildcard): the number is their length and between them. */
  readonly lo: string;
  readonly hi: string;
  /** Wildcards: the number's length (characters with "+"), or its least length when `open`. */
  readonly length: number;
  readonly open: boolean;
  /** Wildcards: positions after the lead that hold a digit, and that digit's char code. */
  readonly at: readonly number[];
  readonly code: readonly number[];
}

/** A slot of the trie: the child node × 2, + 1 when patterns end at that child; 0 = no child. */
const HAS_PATTERNS = 1;

export class PatternSet<E> {
  private constructor(
    /** (node × 10 + digit) → slot (HAS_PATTERNS). Node 0 is the root ("+"), never a child. */
    private readonly child: Int32Array,
    /** node → the first index in `tests` of the patterns whose lead ends at it. */
    private readonly first: Int32Array,
    /** node → one past the last such index (= first when none). */
    private readonly last: Int32Array,
    /** Grouped by the node their lead ends at. */
    private readonly tests: readonly Test<E>[],
    /** The shortest and longest number (characters, with "+") any pattern can match. */
    private readonly minLength: number,
    private readonly maxLength: number,
  ) {}

  /** Files `patterns` (in the order given, within one lead); null when there are none. */
  static of<E>(patterns: readonly FiledPattern<E>[]): PatternSet<E> | null {
    if (patterns.length === 0) return null;
    // Built with plain arrays (the node count is not known ahead), then copied into typed ones.
    const child: number[] = new Array<number>(10).fill(0);
    const byNode: Test<E>[][] = [[]];
    let minLength = Number.MAX_SAFE_INTEGER;
    let maxLength = 0;
    for (const { pattern: p, entry } of patterns) {
      let node = 0;
      for (let i = 1; i < p.lead.length; i++) {
        const slot = node * 10 + p.lead.charCodeAt(i) - 48;
        let next = (child[slot] ?? 0) >> 1;
        if (next === 0) {
          next = byNode.length;
          byNode.push([]);
          for (let d = 0; d < 10; d++) child.push(0);
          child[slot] = next * 2;
        }
        node = next;
      }
      const test = testOf(p, entry);
      byNode[node]?.push(test);
      const shortest = test.lo !== '' ? test.lo.length : test.length;
      // A trailing "*" has no upper bound (as patternMatches says), whatever the number's length.
      const longest = test.lo !== '' ? test.lo.length : test.open ? Number.MAX_SAFE_INTEGER : test.length;
      if (shortest < minLength) minLength = shortest;
      if (longest > maxLength) maxLength = longest;
    }
    for (let slot = 0; slot < child.length; slot++) {
      const next = (child[slot] ?? 0) >> 1;
      if (next !== 0 && (byNode[next]?.length ?? 0) > 0) child[slot] = next * 2 + HAS_PATTERNS;
    }
    const first = new Int32Array(byNode.length);
    const last = new Int32Array(byNode.length);
    const tests: Test<E>[] = [];
    byNode.forEach((here, node) => {
      first[node] = tests.length;
      tests.push(...here);
      last[node] = tests.length;
    });
    return new PatternSet(Int32Array.from(child), first, last, tests, minLength, maxLength);
  }

  /** Patterns filed. */
  get size(): number {
    return this.tests.length;
  }

  /**
   * Appends the entries of the patterns matching `n` (normalised E.164) to `out`, creating it on
   * the first match; returns it (undefined when nothing matched and none was given).
   */
  collect(n: string, out: E[] | undefined): E[] | undefined {
    const length = n.length;
    if (length < this.minLength || length > this.maxLength || n.charCodeAt(0) !== 43 /* + */) return out;
    const child = this.child;
    // Leads of "+" alone (a range whose ends differ in their first digit) end at the root.
    if ((this.last[0] ?? 0) > 0) out = this.test(0, n, out);
    let node = 0;
    for (let i = 1; i < length; i++) {
      const d = n.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return out;
      const slot = child[node * 10 + d] ?? 0;
      if (slot === 0) return out;
      node = slot >> 1;
      if ((slot & HAS_PATTERNS) !== 0) out = this.test(node, n, out);
    }
    return out;
  }

  /** Tests the patterns whose lead ends at `node` (which `n` starts with). */
  private test(node: number, n: string, out: E[] | undefined): E[] | undefined {
    const to = this.last[node] ?? 0;
    for (let k = this.first[node] ?? 0; k < to; k++) {
      const t = this.tests[k];
      if (t !== undefined && matches(t, n)) (out ??= []).push(t.entry);
    }
    return out;
  }
}

/** patternMatches, for a number that starts with the pattern's lead (the walk saw to that). */
function matches(t: Test<unknown>, n: string): boolean {
  if (t.lo !== '') return n.length === t.lo.length && n >= t.lo && n <= t.hi;
  if (t.open ? n.length < t.length : n.length !== t.length) return false;
  const at = t.at;
  const code = t.code;
  for (let j = 0; j < at.length; j++) if (n.charCodeAt(at[j] ?? 0) !== code[j]) return false;
  return true;
}

function testOf<E>(p: CompiledPattern, entry: E): Test<E> {
  const at: number[] = [];
  const code: number[] = [];
  for (let i = p.lead.length; i < p.mask.length; i++) {
    const c = p.mask.charCodeAt(i);
    if (c !== 63 /* ? */) {
      at.push(i);
      code.push(c);
    }
  }
  return { entry, lo: p.lo, hi: p.hi, length: p.mask.length, open: p.open, at, code };
}
