/**
 * The stale report (issue #16): expired entries, entries with no hit in N days, entries that shadow
 * each other (asked of the core decision, with and without each entry); the audited clean-up.
 */
import t from 'tap';
import { cliActor, services } from '../support/harness.js';

const DAY = 86_400_000;

t.test('expired, shadowed and unused entries; the clean-up removes them, audited', async (t) => {
  const s = await services(t);
  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  const block = (number: string, mode: 'reject' | 'voicemail' = 'reject', expires?: string) =>
    s.blocklist.block('acme', { kind: 'exact', number }, { mode, ...(expires ? { expires } : {}) }, cliActor);
  const prefix = (p: string, mode: 'reject' | 'voicemail' = 'reject', expires?: string) =>
    s.blocklist.block('acme', { kind: 'prefix', prefix: p }, { mode, ...(expires ? { expires } : {}) }, cliActor);

  const p1 = await prefix('+1900');
  const e1 = await block('+19005550001');
  const e2 = await block('+19005550002', 'voicemail');
  const p2 = await prefix('+19005');
  const a1 = await s.blocklist.allow('acme', { kind: 'prefix', prefix: '+1800' }, {}, cliActor);
  const e3 = await block('+18005550001');
  const a2 = await s.blocklist.allow('acme', { kind: 'exact', number: '+18005550002' }, {}, cliActor);
  const e4 = await block('+15550001111', 'voicemail', '1d');
  const e5 = await block('+12125550199');
  await s.orgs.addDids('acme', ['+12125550199'], cliActor);
  const c = await s.contacts.add('acme', 'Pushy', ['+15552223333'], cliActor);
  const cb = await s.blocklist.block('acme', { kind: 'contact', contactId: c.id }, { mode: 'reject' }, cliActor);
  const e6 = await block('+15552223333');
  const p3 = await prefix('+1700', 'reject', '10d');
  const e7 = await block('+17005550001');
  s.clock.advance(2 * DAY);
  await s.db.run('UPDATE entries SET hit_count = 3, last_hit_at = ? WHERE id = ?', [s.clock.now() - 1000, e2.id]);

  const r = await s.stale.report('acme', { days: 1 });
  t.same(r.counts, { expired: 1, shadowed: 6, unused: 2 });
  const of = (cat: string) => r.entries.filter((e) => e.category === cat);
  t.same(
    of('expired').map((e) => e.id),
    [e4.id],
  );
  t.match(of('expired')[0], { why: /^expired on / });
  const shadowed = new Map(of('shadowed').map((e) => [e.id, e]));
  t.same(
    [...shadowed.keys()].sort((a, b) => a - b),
    [e1.id, p2.id, e3.id, a2.id, e5.id, e6.id].sort((a, b) => a - b),
  );
  t.match(
    shadowed.get(e1.id),
    {
      shadowedBy: { id: p2.id, kind: 'prefix', value: '+19005' },
      why: /without it, prefix entry \d+ \(\+19005\) gives the same answer \(reject\)/,
    },
    'a number under a prefix with the same mode (the longest: +19005, itself under +1900)',
  );
  t.match(shadowed.get(p2.id), { shadowedBy: { id: p1.id } }, 'a prefix under a shorter prefix with the same mode');
  t.match(shadowed.get(e3.id), {
    shadowedBy: { id: a1.id, kind: 'allow' },
    why: /never decides: allow entry \d+ \(\+1800\) wins \(allow\)/,
  });
  t.match(shadowed.get(a2.id), { shadowedBy: { id: a1.id } }, 'an allow under an allow prefix');
  // A block on an own DID never decides: an unattested caller presenting it gets the own-DID rule
  // (spoofed, #16; voicemail by default), an attested one the protection.
  t.match(shadowed.get(e5.id), {
    shadowedBy: { id: 'did', kind: 'spoofed' },
    why: /spoofed entry did \(\+12125550199\) wins/,
  });
  t.match(
    shadowed.get(e6.id),
    { shadowedBy: { id: cb.id, kind: 'contact' } },
    'a number on a blocked contact with the same mode',
  );
  t.same(
    of('unused')
      .map((e) => e.id)
      .sort((a, b) => a - b),
    [p3.id, e7.id].sort((a, b) => a - b),
    'unused: the prefix and the number no call hit; not the ones that stand in for a shadowed entry (+1900, +1800, the contact), not the one hit',
  );
  t.notOk(shadowed.has(e7.id), 'a number under a prefix that expires sooner is not shadowed');
  t.notOk(shadowed.has(e2.id), 'a number under a prefix with another mode is not shadowed');

  const limited = await s.stale.report('acme', { days: 1, limit: 2, categories: ['shadowed'] });
  t.same(limited.counts, { expired: 0, shadowed: 6, unused: 0 });
  t.equal(limited.entries.length, 2);
  t.equal(limited.total, 6);
  await t.rejects(s.stale.report('acme', { days: 0 }), { code: 'CS_ERR_INVALID_VALUE', details: { key: 'days' } });
  await t.rejects(s.stale.report('acme', { categories: ['old' as never] }), {
    code: 'CS_ERR_INVALID_VALUE',
    message: /category "old"/,
  });

  const dry = await s.stale.cleanUp('acme', { days: 1, categories: ['expired', 'shadowed'], dryRun: true }, cliActor);
  t.same(dry.removed, { expired: 1, shadowed: 6, unused: 0 });
  t.equal((await s.stale.report('acme', { days: 1 })).total, 9, 'a dry run removes nothing');

  const done = await s.stale.cleanUp(
    'acme',
    { days: 1, categories: ['expired', 'shadowed'] },
    { ...cliActor, name: 'alice' },
    'spring cleaning',
  );
  t.same(done.removed, { expired: 1, shadowed: 6, unused: 0 });
  const after = await s.stale.report('acme', { days: 1 });
  t.same(
    after.counts,
    { expired: 0, shadowed: 0, unused: 5 },
    'what stood in for the removed entries and had no hit is unused now',
  );
  const gone = await s.blocklist.getEntry((await s.orgs.require('acme')).id, e1.id);
  t.match(gone, { removedBy: 'alice', removedReason: 'spring cleaning' });
  const audit = await s.audit.query({ actor: 'alice' });
  t.equal(audit.events.filter((e) => e.action === 'unblock').length, 6);
  t.equal(audit.events.filter((e) => e.action === 'disallow').length, 1);
  t.match(
    audit.events.find((e) => e.target === '+19005550001'),
    { action: 'unblock', reason: 'spring cleaning', detail: { cleanup: 'shadowed', why: /gives the same answer/ } },
  );
  t.match(audit.events[0], { action: 'stale.cleanup', detail: { days: 1, expired: 1, shadowed: 6, unused: 0 } });
  const again = await s.stale.cleanUp('acme', { days: 1, categories: ['expired', 'shadowed'] }, cliActor);
  t.same(again.removed, { expired: 0, shadowed: 0, unused: 0 }, 'nothing left to clean');
});

t.test('more exact numbers than one page (1,000) under a prefix: every one is found shadowed', async (t) => {
  const s = await services(t);
  const org = await s.orgs.add('acme', 'Acme', 'US', cliActor);
  await s.blocklist.block('acme', { kind: 'prefix', prefix: '+1900' }, { mode: 'reject' }, cliActor);
  await s.db.run(
    `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 1099)
     INSERT INTO entries (org_id, list, kind, value, mode, created_by, created_at, source)
     SELECT ?, 'block', 'exact', '+1900555' || printf('%04d', i), 'reject', 'import', ?, 'import' FROM c`,
    [org.id, s.clock.now()],
  );
  const r = await s.stale.report('acme', { categories: ['shadowed'], limit: 5 });
  t.same(r.counts, { expired: 0, unused: 0, shadowed: 1100 });
  t.equal(r.entries.length, 5);
  t.match(r.entries[0], { category: 'shadowed', kind: 'exact', value: /^\+1900555\d{4}$/, createdBy: 'import' });
});

t.test(
  'hits other nodes of a shared store counted (peer_hits, issue #15) count: an entry hit only elsewhere is not unused',
  async (t) => {
    const s = await services(t);
    await s.orgs.add('acme', 'Acme', 'US', cliActor);
    const here = await s.blocklist.block('acme', { kind: 'exact', number: '+15550000001' }, {}, cliActor);
    const elsewhere = await s.blocklist.block('acme', { kind: 'exact', number: '+15550000002' }, {}, cliActor);
    const both = await s.blocklist.block('acme', { kind: 'exact', number: '+15550000003' }, {}, cliActor);
    const never = await s.blocklist.block('acme', { kind: 'exact', number: '+15550000004' }, {}, cliActor);
    s.clock.advance(10 * DAY);
    const now = s.clock.now();
    await s.db.run('UPDATE entries SET hit_count = 2, last_hit_at = ? WHERE id = ?', [now - DAY, here.id]);
    await s.db.run('UPDATE entries SET peer_hits = 5, peer_last_hit_at = ? WHERE id = ?', [now - DAY, elsewhere.id]);
    await s.db.run(
      'UPDATE entries SET hit_count = 1, last_hit_at = ?, peer_hits = 4, peer_last_hit_at = ? WHERE id = ?',
      [now - 9 * DAY, now - 2 * DAY, both.id],
    );
    const r = await s.stale.report('acme', { days: 3, categories: ['unused'] });
    t.same(
      r.entries.map((e) => e.id),
      [never.id],
      'only the entry no node hit is unused',
    );
    const old = await s.stale.report('acme', { days: 1, categories: ['unused'] });
    t.match(
      old.entries.find((e) => e.id === both.id),
      { hitCount: 5, lastHitAt: now - 2 * DAY, why: /last hit on / },
      "its hits and last hit are every node's",
    );
    const listed = (await s.blocklist.list('acme')).entries;
    t.match(
      listed.find((e) => e.id === elsewhere.id),
      { hitCount: 5, lastHitAt: now - DAY },
      "the entry list counts the other nodes' hits",
    );
    t.match(
      listed.find((e) => e.id === both.id),
      { hitCount: 5, lastHitAt: now - 2 * DAY },
    );
  },
);
