/**
 * PatternSet (core/pattern-set.ts): the call path's filing of patterns finds exactly the patterns
 * `patternMatches` says match (the rule `callscreen check` applies to every pattern in turn), and
 * the decisions made from what it finds keep issue #16's precedence.
 */
import t from 'tap';
import { decide, type DecisionInput, type Matches } from '../../daemon/core/decide.js';
import type { EntryView } from '../../daemon/core/entry.js';
import { compilePattern, narrowestFirst, patternMatches, prefixBreadth } from '../../daemon/core/number-pattern.js';
import { orgPolicy } from '../support/org-policy.js';
import { PatternSet, type FiledPattern } from '../../daemon/core/pattern-set.js';

let nextId = 1;
const filed = (text: string, over: Partial<EntryView> = {}): FiledPattern<EntryView> => {
  const pattern = compilePattern(text);
  return {
    pattern,
    entry: {
      id: nextId++,
      list: 'block',
      kind: 'pattern',
      value: text,
      mode: 'reject',
      name: '',
      reason: '',
      expiresAt: null,
      breadth: pattern.breadth,
      ...over,
    },
  };
};
const setOf = (ps: readonly FiledPattern<EntryView>[]): PatternSet<EntryView> => {
  const set = PatternSet.of(ps);
  if (set === null) throw new Error('no set');
  return set;
};
/** Values of the entries matched, sorted (the set's own order is the walk's). */
const found = (set: PatternSet<EntryView>, n: string): string[] =>
  (set.collect(n, undefined) ?? []).map((e) => e.value).sort();
/** The reference: every pattern tested in turn, as NumberCheck does. */
const brute = (ps: readonly FiledPattern<EntryView>[], n: string): string[] =>
  ps
    .filter((p) => n.startsWith(p.pattern.lead) && patternMatches(p.pattern, n))
    .map((p) => p.entry.value)
    .sort();

t.test('no patterns: no set', async (t) => {
  t.equal(PatternSet.of([]), null);
});

t.test('wildcards of different lengths, "?" anywhere after the lead, and a trailing "*"', async (t) => {
  const ps = [
    filed('+1415555????'),
    filed('+1415555?????'), // one longer
    filed('+141555?0123'),
    filed('+14155?????'), // one shorter
    filed('+1415???9*'),
    filed('+44207946????'),
  ];
  const set = setOf(ps);
  t.equal(set.size, 6);
  t.same(found(set, '+14155550123'), ['+1415555????', '+141555?0123']);
  t.same(found(set, '+141555501234'), ['+1415555?????']);
  t.same(found(set, '+14155550'), [], 'shorter than every pattern it starts like');
  t.same(found(set, '+1415555012'), ['+14155?????']);
  t.same(found(set, '+14159999'), ['+1415???9*'], 'a trailing * matches no further digit');
  t.same(found(set, '+141599995555123'), ['+1415???9*'], 'and any number of them');
  t.same(found(set, '+1415999'), [], 'but not a digit fewer');
  t.same(found(set, '+442079460000'), ['+44207946????']);
  t.same(found(set, '+442079470000'), []);
  t.same(found(set, '+13125550123'), [], 'no lead in common');
  t.same(found(set, '+1'), []);
  t.same(found(set, ''), []);
  t.same(found(set, 'unidentified'), [], 'not a number');
  t.same(found(set, '+1415x550123'), [], 'a non-digit stops the walk');
});

t.test('ranges: inclusive ends, same length only, leads of any length (even "+" alone)', async (t) => {
  const ps = [
    filed('+14155550100..+14155550199'),
    filed('+14155550000..+14155559999'),
    filed('+1999999..+2000001'), // the ends share only "+": filed at the root
  ];
  const set = setOf(ps);
  t.same(found(set, '+14155550100'), ['+14155550000..+14155559999', '+14155550100..+14155550199']);
  t.same(found(set, '+14155550199'), ['+14155550000..+14155559999', '+14155550100..+14155550199']);
  t.same(found(set, '+14155550200'), ['+14155550000..+14155559999']);
  t.same(found(set, '+141555501500'), [], 'a longer number with the same start');
  t.same(found(set, '+2000000'), ['+1999999..+2000001']);
  t.same(found(set, '+1999999'), ['+1999999..+2000001']);
  t.same(found(set, '+2000002'), []);
});

t.test('a wildcard and a range on the same lead, and two patterns with the same text', async (t) => {
  const a = filed('+1415555????');
  const b = filed('+14155550000..+14155550999');
  const c = filed('+1415555????', { list: 'allow' });
  const set = setOf([a, b, c]);
  const hit = set.collect('+14155550123', undefined) ?? [];
  t.same(
    hit.map((e) => e.id).sort((x, y) => x - y),
    [a.entry.id, b.entry.id, c.entry.id],
  );
});

t.test('appends to what the caller already found; allocates nothing when nothing matches', async (t) => {
  const set = setOf([filed('+1415555????')]);
  const prefix: EntryView = {
    id: 999,
    list: 'block',
    kind: 'prefix',
    value: '+1415',
    mode: 'reject',
    name: '',
    reason: '',
    expiresAt: null,
    breadth: prefixBreadth(4),
  };
  const out = [prefix];
  t.equal(set.collect('+14155550123', out), out, 'the same array');
  t.same(
    out.map((e) => e.kind),
    ['prefix', 'pattern'],
  );
  t.equal(set.collect('+13125550123', undefined), undefined);
  const mine = [prefix];
  t.equal(set.collect('+13125550123', mine), mine);
  t.equal(mine.length, 1);
});

t.test('finds exactly what testing every pattern finds (many patterns, many numbers)', async (t) => {
  // A fixed pseudo-random sequence: the same cases every run.
  let seed = 16;
  const rand = (k: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  const digits = (k: number): string => Array.from({ length: k }, () => String(rand(10))).join('');
  const ps: FiledPattern<EntryView>[] = [];
  for (let i = 0; i < 300; i++) {
    const len = 7 + rand(9); // 7..15 digits
    const cc = String(1 + rand(9));
    if (rand(4) === 0) {
      const lo = Number(cc + digits(len - 1));
      const hi = Math.min(lo + rand(5000), Number(cc + '9'.repeat(len - 1)));
      ps.push(filed(`+${lo}..+${hi}`));
    } else {
      const body = (cc + digits(len - 1)).split('');
      const lead = 1 + rand(len - 1);
      for (let j = lead; j < len; j++) if (rand(2) === 0) body[j] = '?';
      if (!body.includes('?')) body[len - 1] = '?';
      ps.push(filed(`+${body.join('')}${rand(5) === 0 ? '*' : ''}`));
    }
  }
  const set = setOf(ps);
  let cases = 0;
  let hits = 0;
  const differ: string[] = [];
  for (const p of ps) {
    // Numbers built from each pattern (most match it), and their neighbours.
    for (let k = 0; k < 20; k++) {
      const c = p.pattern;
      const base = c.lo !== '' ? c.lo : c.mask.replace(/\?/g, () => String(rand(10)));
      const n = k % 4 === 0 ? base + digits(rand(3)) : k % 4 === 1 ? base.slice(0, -1) : base;
      const mutated = k % 5 === 0 ? n.slice(0, -1) + String(rand(10)) : n;
      const want = brute(ps, mutated);
      cases++;
      hits += want.length;
      if (JSON.stringify(found(set, mutated)) !== JSON.stringify(want)) differ.push(mutated);
    }
  }
  for (let k = 0; k < 2000; k++) {
    const n = `+${String(1 + rand(9))}${digits(6 + rand(10))}`;
    cases++;
    if (JSON.stringify(found(set, n)) !== JSON.stringify(brute(ps, n))) differ.push(n);
  }
  t.ok(hits > 1000, `the cases match something (${hits} matches in ${cases} numbers)`);
  t.same(differ, [], `all ${cases} numbers agree`);
});

// ---- decisions made from what the set finds (as the index builds Matches) ----

const NOW = Date.UTC(2026, 5, 1);
const DID = '+15550100';
const OTHER_DID = '+15550199';
const policy = orgPolicy();
/** Matches as ScreeningIndex.lookupSync builds them: prefixes and patterns, narrowest first. */
const decideWith = (
  set: PatternSet<EntryView>,
  n: string,
  exact: readonly EntryView[] = [],
  did: string | null = DID,
  prefixes: readonly EntryView[] = [],
) => {
  const ruled = set.collect(n, [...prefixes]) ?? [];
  const matches: Matches = {
    exact,
    prefixes: ruled.sort(narrowestFirst),
    unidentified: [],
    protection: null,
  };
  const input: DecisionInput = {
    channel: 'call',
    direction: 'inbound',
    subject: { kind: 'number', value: n },
    withheld: false,
    did,
    matches,
    policy,
    now: NOW,
  };
  return decide(input);
};

t.test('a pattern and an exact entry for the same number: the exact entry decides', async (t) => {
  const wild = filed('+1555123????', { mode: 'voicemail' });
  const set = setOf([wild]);
  t.match(decideWith(set, '+15551234567'), { action: 'voicemail', rule: { id: wild.entry.id, kind: 'pattern' } });
  const exact: EntryView = {
    id: nextId++,
    list: 'block',
    kind: 'exact',
    value: '+15551234567',
    mode: 'reject',
    name: '',
    reason: '',
    expiresAt: null,
  };
  t.match(decideWith(set, '+15551234567', [exact]), { action: 'reject', rule: { id: exact.id, kind: 'exact' } });
  const allowed = { ...exact, id: nextId++, list: 'allow' as const };
  t.match(decideWith(set, '+15551234567', [allowed]), { action: 'allow', rule: { kind: 'allow' } });
});

t.test('the narrowest of a prefix, a wildcard and a range decides', async (t) => {
  const wild = filed('+1555123????', { mode: 'voicemail' }); // 10,000 numbers
  const range = filed('+15551234500..+15551234599'); // 100
  const set = setOf([wild, range]);
  t.match(decideWith(set, '+15551234567'), { action: 'reject', rule: { id: range.entry.id } });
  t.match(decideWith(set, '+15551234467'), { action: 'voicemail', rule: { id: wild.entry.id } });
  const prefix: EntryView = {
    id: nextId++,
    list: 'block',
    kind: 'prefix',
    value: '+155512345',
    mode: 'voicemail',
    name: '',
    reason: '',
    expiresAt: null,
    breadth: prefixBreadth(10), // 100,000: broader than both patterns
  };
  t.match(decideWith(set, '+15551234567', [], DID, [prefix]), { rule: { id: range.entry.id } });
  const longPrefix = { ...prefix, id: nextId++, value: '+1555123456', breadth: prefixBreadth(14) }; // 10
  t.match(decideWith(set, '+15551234567', [], DID, [longPrefix]), { rule: { id: longPrefix.id } });
});

t.test('an observe-mode pattern never decides, and is named when nothing else blocks', async (t) => {
  const watched = filed('+1555123????', { observe: true, mode: 'voicemail' });
  const set = setOf([watched]);
  t.match(decideWith(set, '+15551234567'), {
    action: 'allow',
    observed: 'voicemail',
    rule: { id: watched.entry.id },
  });
  const enforced = filed('+15551234???');
  const both = setOf([watched, enforced]);
  t.match(decideWith(both, '+15551234567'), { action: 'reject', rule: { id: enforced.entry.id }, observed: undefined });
});

t.test('a pattern scoped to a DID applies to calls to that DID only', async (t) => {
  const scoped = filed('+1555123????', { dids: [DID] });
  const set = setOf([scoped]);
  t.match(decideWith(set, '+15551234567', [], DID), { action: 'reject', rule: { id: scoped.entry.id } });
  t.match(decideWith(set, '+15551234567', [], OTHER_DID), { action: 'allow', rule: null });
  t.match(decideWith(set, '+15551234567', [], null), { action: 'allow', rule: null }, 'no DID known');
});

t.test('an expired pattern never matches', async (t) => {
  const expired = filed('+1555123????', { expiresAt: NOW - 1 });
  t.match(decideWith(setOf([expired]), '+15551234567'), { action: 'allow', rule: null });
  const live = filed('+1555123????', { expiresAt: NOW + 1 });
  t.match(decideWith(setOf([live]), '+15551234567'), { action: 'reject', rule: { id: live.entry.id } });
});
