import t from 'tap';
import { cliActor, services, startDaemon } from '../support/harness.js';

const inbound = { channel: 'call', direction: 'inbound', to: '+12125550100' } as const;

t.test('protected numbers: refused on write, allowed in verdicts even if a row slips in', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['(212) 555-0100'], cliActor);
  for (const n of ['911', '112', '933', '2125550100', 'sip:+12125550100@pbx']) {
    await t.rejects(
      s.blocklist.block('demo', { kind: 'exact', number: n }, {}, cliActor),
      { code: 'CS_ERR_PROTECTED_NUMBER' },
      `block ${n} refused`,
    );
  }
  await s.orgs.add('syd', 'Sydney', 'AU', cliActor);
  await t.rejects(
    s.blocklist.block('syd', { kind: 'exact', number: '000' }, {}, cliActor),
    { code: 'CS_ERR_PROTECTED_NUMBER' },
    'AU 000',
  );
  t.ok(
    await s.blocklist.allow('demo', { kind: 'exact', number: '911' }, {}, cliActor),
    'allowing a protected number is harmless and accepted',
  );
  const blocked = await s.db.get<{ c: number }>("SELECT count(*) AS c FROM entries WHERE list = 'block'");
  t.equal(blocked?.c, 0, 'nothing was written for the refused blocks');

  // A script writing SQLite directly bypasses the service; the verdict still protects.
  await s.db.run(
    "INSERT INTO entries (org_id, list, kind, value, created_by, created_at, source) VALUES (1, 'block', 'exact', '911', 'x', 0, 'cli')",
  );
  await s.db.run(
    "INSERT INTO entries (org_id, list, kind, value, created_by, created_at, source) VALUES (1, 'block', 'prefix', '+1212', 'x', 0, 'cli')",
  );
  await s.db.run(
    "INSERT INTO entries (org_id, list, kind, value, created_by, created_at, source) VALUES (1, 'block', 'unidentified', '', 'x', 0, 'cli')",
  );
  await s.db.run(
    "INSERT INTO entries (org_id, list, kind, value, created_by, created_at, source) VALUES (2, 'block', 'unidentified', '', 'x', 0, 'cli')",
  );
  await s.blocklist.allow('syd', { kind: 'exact', number: '+61298765432' }, {}, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  t.match(await ctx.screener.screen({ ...inbound, org: 'demo', from: '911' }), {
    action: 'allow',
    rule: { kind: 'protected', id: 'emergency' },
  });
  // Issue #16: an own DID is protected from the list, but presented unattested it is spoofed
  // (own-did-unattested, default voicemail); attested, it is let through as before.
  t.match(
    await ctx.screener.screen({
      ...inbound,
      org: 'demo',
      from: '+12125550100',
      attestation: { status: 'passed', level: 'A' },
    }),
    { action: 'allow', rule: { kind: 'protected', id: 'did' } },
    'own DID under a blocked prefix, attested',
  );
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '+12125550100' }),
    { action: 'voicemail', rule: { kind: 'spoofed', id: 'did' } },
    'own DID unattested: spoofed, never the prefix block',
  );
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '+12125550199' }),
    { action: 'reject', rule: { kind: 'prefix' } },
    'the prefix itself works',
  );
  t.match(
    await ctx.screener.screen({ org: 'syd', channel: 'call', direction: 'outbound', from: '201', to: '000' }),
    { action: 'allow', rule: { kind: 'protected' } },
    'an agent dialling AU 000 is never warned or denied even with unidentified callers blocked',
  );
});

t.test('org isolation: one org’s list never affects another’s', async (t) => {
  const s = await services(t);
  await s.orgs.add('a', 'A', 'US', cliActor);
  await s.orgs.add('b', 'B', 'US', cliActor);
  await s.blocklist.block('a', { kind: 'exact', number: '+15551234567' }, {}, cliActor);
  await s.blocklist.block('a', { kind: 'prefix', prefix: '+1900' }, {}, cliActor);
  await s.blocklist.block('a', { kind: 'unidentified' }, {}, cliActor);
  await s.blocklist.allow('b', { kind: 'exact', number: '+15557654321' }, {}, cliActor);
  await s.blocklist.block('a', { kind: 'exact', number: '+15557654321' }, {}, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  for (const from of ['+15551234567', '+19005550000', 'anonymous', '+15557654321']) {
    t.not((await ctx.screener.screen({ ...inbound, org: 'a', from })).action, 'allow', `a blocks ${from}`);
    t.match(await ctx.screener.screen({ ...inbound, org: 'b', from }), { action: 'allow' }, `b lets ${from} through`);
  }
  t.equal((await s.blocklist.list('b')).total, 1, 'list shows only b’s entry');
  await t.rejects(
    s.blocklist.unblock('b', { kind: 'exact', number: '+15551234567' }, cliActor),
    { code: 'CS_ERR_ENTRY_NOT_FOUND' },
    'b cannot unblock a’s entry',
  );
  await s.orgs.addDids('a', ['+12125550100'], cliActor);
  await t.rejects(
    s.orgs.addDids('b', ['+12125550100'], cliActor),
    { code: 'CS_ERR_DID_TAKEN' },
    'a DID belongs to one org',
  );
  const contact = await s.contacts.add('a', 'Mallory', ['+15550001111'], cliActor);
  await t.rejects(
    s.blocklist.block('b', { kind: 'contact', contactId: contact.id }, {}, cliActor),
    { code: 'CS_ERR_CONTACT_NOT_FOUND' },
    'b cannot block a’s contact',
  );
});

t.test('contact blocks cover every number, including numbers added later (through the change feed)', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const c = await s.contacts.add('demo', 'Mallory', ['+15550001111', '(555) 000-2222'], cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  t.equal(
    (await ctx.screener.screen({ ...inbound, org: 'demo', from: '+15550001111' })).action,
    'allow',
    'not blocked yet (and cached)',
  );
  await s.blocklist.block(
    'demo',
    { kind: 'contact', contactId: c.id },
    { mode: 'voicemail', name: 'Mallory' },
    cliActor,
  );
  await ctx.feed.poll();
  for (const from of ['+15550001111', '5550002222']) {
    t.match(
      await ctx.screener.screen({ ...inbound, org: 'demo', from }),
      { action: 'voicemail', rule: { kind: 'contact', value: String(c.id) } },
      from,
    );
  }
  await s.contacts.addNumbers('demo', c.id, ['555-000-3333'], cliActor);
  await ctx.feed.poll();
  t.match(
    ctx.screener.screenSync({ ...inbound, org: 'demo', from: '+15550003333' }),
    { action: 'voicemail', rule: { kind: 'contact' } },
    'a number added later is blocked, and cached by the feed',
  );
  t.match(await ctx.screener.screen({ ...inbound, org: 'demo', channel: 'sms', from: '+15550003333' }), {
    action: 'quarantine',
  });
  await s.blocklist.unblock('demo', { kind: 'contact', contactId: c.id }, cliActor, 'made up');
  await ctx.feed.poll();
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '+15550003333' }),
    { action: 'allow', rule: null },
    'unblocking the contact frees all numbers',
  );
});

t.test('expiry: an entry past its expiry stops matching without any write', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, { expires: '2h' }, cliActor);
  await t.rejects(
    s.blocklist.block('demo', { kind: 'exact', number: '+15551234568' }, { expires: '2020-01-01' }, cliActor),
    { code: 'CS_ERR_INVALID_VALUE' },
  );
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  t.equal((await ctx.screener.screen({ ...inbound, org: 'demo', from: '+15551234567' })).action, 'reject');
  s.clock.advance(2 * 3600_000);
  t.equal((await ctx.screener.screen({ ...inbound, org: 'demo', from: '+15551234567' })).action, 'allow');
  const listed = await s.blocklist.list('demo');
  t.equal(listed.entries[0]?.expired, true, 'list marks it expired');
});

t.test('writes reject text that is not a number; nothing is written', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await t.rejects(s.blocklist.block('demo', { kind: 'exact', number: 'call me maybe' }, {}, cliActor), {
    code: 'CS_ERR_INVALID_NUMBER',
  });
  await t.rejects(s.blocklist.block('demo', { kind: 'prefix', prefix: '9x' }, {}, cliActor), {
    code: 'CS_ERR_INVALID_PREFIX',
  });
  await t.rejects(s.blocklist.block('nope', { kind: 'exact', number: '+15551234567' }, {}, cliActor), {
    code: 'CS_ERR_ORG_NOT_FOUND',
  });
  await t.rejects(
    s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, { name: 'a\u0007b' }, cliActor),
    { code: 'CS_ERR_INVALID_VALUE' },
  );
  t.equal((await s.db.get<{ c: number }>('SELECT count(*) AS c FROM entries'))?.c, 0);
});

t.test('audit log is append-only and unblocking keeps the history', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const blocked = await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15551234567' },
    { reason: 'spam' },
    { name: 'alice', source: 'panel', origin: 'panel 10.0.0.5' },
  );
  s.clock.advance(60_000);
  await s.blocklist.unblock(
    'demo',
    { kind: 'exact', number: '+15551234567' },
    { name: 'bob', source: 'cli', origin: 'cli@host' },
    'customer called',
  );
  const all = await s.blocklist.list('demo', { includeRemoved: true });
  t.match(
    all.entries[0],
    {
      id: blocked.id,
      createdBy: 'alice',
      source: 'panel',
      removedBy: 'bob',
      removedReason: 'customer called',
      removedAt: s.clock.now(),
    },
    'who blocked and who unblocked are both kept',
  );
  t.equal((await s.blocklist.list('demo')).total, 0, 'no longer active');
  const { events } = await s.audit.query({ orgId: all.org.id });
  t.same(
    events.map((e) => e.action),
    ['unblock', 'block', 'org.add'],
  );
  t.match(events[0], { actor: 'bob', reason: 'customer called', origin: 'cli@host', detail: { blockedBy: 'alice' } });
  t.match(events[1], { actor: 'alice', reason: 'spam', origin: 'panel 10.0.0.5' });
  await t.rejects(s.db.run("UPDATE audit_log SET actor = 'mallory'"), /append-only/);
  await t.rejects(s.db.run('DELETE FROM audit_log'), /append-only/);
  t.equal((await s.audit.query({})).total, 3, 'still all there');
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, {}, cliActor);
  t.equal(
    (await s.blocklist.list('demo', { includeRemoved: true })).total,
    2,
    'blocking again adds a new row; the old one stays',
  );
});
