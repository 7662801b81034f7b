/**
 * The service operations issue #17 added for the API: removing DIDs, changing an org's region,
 * removing numbers from a contact, editing an entry in place. Each is all or nothing, names what was
 * wrong, and lands with its audit record; the daemon's index follows each through the change feed.
 */
import t from 'tap';
import { cliActor, services, startDaemon } from '../support/harness.js';

const inbound = { channel: 'call', direction: 'inbound' } as const;

t.test('removeDids: all or nothing, audited; the number is then neither protected nor routed', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.add('other', 'Other', 'US', cliActor);
  await s.orgs.addDids('demo', ['+1 212 555 0100', '+1 212 555 0101'], cliActor);
  await s.orgs.addDids('other', ['+1 212 555 0200'], cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  t.equal(ctx.screener.orgForDid('+12125550100')?.org.slug, 'demo');

  await t.rejects(
    s.orgs.removeDids('demo', ['(212) 555-0100', '+12125550200'], cliActor),
    { code: 'CS_ERR_INVALID_VALUE', details: { number: '+12125550200', key: 'numbers' } },
    "another org's DID is refused by name",
  );
  await t.rejects(s.orgs.removeDids('demo', ['not a number'], cliActor), { code: 'CS_ERR_INVALID_NUMBER' });
  await t.rejects(s.orgs.removeDids('demo', [], cliActor), { code: 'CS_ERR_INVALID_VALUE' });
  await t.rejects(s.orgs.removeDids('nosuch', ['+12125550100'], cliActor), { code: 'CS_ERR_ORG_NOT_FOUND' });
  t.same(
    await s.orgs.dids((await s.orgs.require('demo')).id),
    ['+12125550100', '+12125550101'],
    'nothing removed by a refused call',
  );

  t.same(await s.orgs.removeDids('demo', ['(212) 555-0100'], cliActor, 'number ported out'), ['+12125550100']);
  t.same(await s.orgs.dids((await s.orgs.require('demo')).id), ['+12125550101']);
  const audit = await s.audit.query({ action: 'org.did.remove' });
  t.match(audit.events[0], { actor: 'tester', target: '+12125550100', reason: 'number ported out' });

  await ctx.feed.poll();
  t.equal(ctx.screener.orgForDid('+12125550100'), undefined, 'the daemon no longer routes the removed DID');
  t.equal(ctx.screener.orgForDid('+12125550101')?.org.slug, 'demo', 'the other DID still routes');
  t.ok(
    await s.blocklist.block('demo', { kind: 'exact', number: '+12125550100' }, {}, cliActor),
    'no longer protected: it can be blocked',
  );
  t.same(
    await s.orgs.addDids('other', ['+12125550100'], cliActor),
    ['+12125550100'],
    'and can be given to another org',
  );
});

t.test('setRegion: validated, audited with from/to, and the daemon reads national numbers with it', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+442079460000' }, { mode: 'reject' }, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '02079460000', to: '' }),
    { action: 'allow' },
    'US: 020… is not the London number',
  );

  await t.rejects(s.orgs.setRegion('demo', 'XX', cliActor), {
    code: 'CS_ERR_INVALID_VALUE',
    details: { key: 'region', input: 'XX' },
  });
  t.equal(s.orgs.checkRegion(' gb '), 'GB');
  const org = await s.orgs.setRegion('demo', 'gb', cliActor, 'moved to London');
  t.equal(org.policy.region, 'GB');
  t.match((await s.audit.query({ action: 'org.region' })).events[0], {
    reason: 'moved to London',
    detail: { from: 'US', to: 'GB' },
  });
  const again = await s.orgs.setRegion('demo', 'GB', cliActor);
  t.equal(again.policy.region, 'GB');
  t.equal((await s.audit.query({ action: 'org.region' })).total, 1, 'no change, no audit record');

  await ctx.feed.poll();
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '020 7946 0000', to: '' }),
    { action: 'reject', normalized: '+442079460000' },
    'GB: the national form now matches',
  );
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '999', to: '' }),
    { action: 'allow', rule: { kind: 'protected', id: 'emergency' } },
    "GB's emergency number is protected",
  );
});

t.test('removeNumbers: all or nothing, audited; a blocked contact no longer blocks the removed number', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const c = await s.contacts.add('demo', 'Vendor', ['+15550001111', '+15550002222'], cliActor);
  const other = await s.contacts.add('demo', 'Other', ['+15550003333'], cliActor);
  t.equal(await s.contacts.activeBlock(1, c.id), undefined, 'not blocked yet');
  const entry = await s.blocklist.block('demo', { kind: 'contact', contactId: c.id }, { expires: '1h' }, cliActor);
  t.match(await s.contacts.activeBlock(1, c.id), { id: entry.id, mode: 'reject' });
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  t.match(await ctx.screener.screen({ ...inbound, org: 'demo', from: '+15550002222', to: '' }), { action: 'reject' });

  await t.rejects(
    s.contacts.removeNumbers('demo', c.id, ['555-000-2222', '+15550003333'], cliActor),
    { code: 'CS_ERR_INVALID_VALUE', details: { number: '+15550003333' } },
    "another contact's number is refused by name",
  );
  await t.rejects(s.contacts.removeNumbers('demo', 999, ['+15550002222'], cliActor), {
    code: 'CS_ERR_CONTACT_NOT_FOUND',
  });
  await t.rejects(s.contacts.removeNumbers('demo', c.id, [], cliActor), { code: 'CS_ERR_INVALID_VALUE' });
  t.same((await s.contacts.require(1, c.id)).numbers, ['+15550001111', '+15550002222'], 'nothing removed');

  const after = await s.contacts.removeNumbers('demo', c.id, ['555-000-2222'], cliActor, 'reassigned');
  t.same(after.numbers, ['+15550001111']);
  t.same((await s.contacts.require(1, other.id)).numbers, ['+15550003333']);
  t.match((await s.audit.query({ action: 'contact.number.remove' })).events[0], {
    target: `contact ${c.id}`,
    reason: 'reassigned',
    detail: { numbers: ['+15550002222'] },
  });
  await ctx.feed.poll();
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '+15550002222', to: '' }),
    { action: 'allow' },
    'removed number gets through',
  );
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '+15550001111', to: '' }),
    { action: 'reject' },
    'the rest of the contact stays blocked',
  );

  s.clock.advance(3_600_001);
  t.equal(await s.contacts.activeBlock(1, c.id), undefined, 'an expired block is not in force');
});

t.test('edit: in place, only the given fields, audited with before/after; refusals write nothing', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const e = await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15551234567' },
    { mode: 'reject', name: 'Spam', reason: 'robocalls' },
    cliActor,
  );
  const allow = await s.blocklist.allow(
    'demo',
    { kind: 'exact', number: '+15559990000' },
    { name: 'Doctor' },
    cliActor,
  );
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });

  const edited = await s.blocklist.edit(
    'demo',
    e.id,
    { mode: 'voicemail', reason: 'survey calls' },
    { ...cliActor, name: 'editor' },
    'ticket 7',
  );
  t.match(edited, {
    id: e.id,
    mode: 'voicemail',
    name: 'Spam',
    reason: 'survey calls',
    expiresAt: null,
    createdBy: 'tester',
    value: '+15551234567',
  });
  const ev = (await s.audit.query({ action: 'block.update' })).events[0];
  t.match(ev, {
    actor: 'editor',
    target: '+15551234567',
    reason: 'ticket 7',
    detail: {
      entry: e.id,
      changed: ['mode', 'reason'],
      before: { mode: 'reject', reason: 'robocalls' },
      after: { mode: 'voicemail', reason: 'survey calls' },
    },
  });
  await ctx.feed.poll();
  t.match(
    await ctx.screener.screen({ ...inbound, org: 'demo', from: '+15551234567', to: '' }),
    { action: 'voicemail' },
    'the daemon follows the edit',
  );

  const timed = await s.blocklist.edit('demo', e.id, { expires: '2h' }, cliActor);
  t.equal(timed.expiresAt, s.clock.now() + 7_200_000);
  t.equal((await s.blocklist.edit('demo', e.id, { expires: null }, cliActor)).expiresAt, null, 'null = never');
  const count = (await s.audit.query({ action: 'block.update' })).total;
  await s.blocklist.edit('demo', e.id, { name: 'Spam' }, cliActor);
  t.equal((await s.audit.query({ action: 'block.update' })).total, count, 'no change, no audit record');

  await t.rejects(s.blocklist.edit('demo', e.id, { name: 'x', expires: 'yesterday' }, cliActor), {
    code: 'CS_ERR_INVALID_VALUE',
    details: { key: 'expires' },
  });
  await t.rejects(s.blocklist.edit('demo', e.id, { name: 'bad\u0007' }, cliActor), {
    code: 'CS_ERR_INVALID_VALUE',
    details: { key: 'name' },
  });
  await t.rejects(s.blocklist.edit('demo', e.id, { mode: 'loud' as 'reject' }, cliActor), {
    code: 'CS_ERR_INVALID_VALUE',
    details: { key: 'mode' },
  });
  await t.rejects(
    s.blocklist.edit('demo', allow.id, { mode: 'reject' }, cliActor),
    { code: 'CS_ERR_INVALID_VALUE', details: { key: 'mode' } },
    'allow entries have no mode',
  );
  await t.rejects(s.blocklist.edit('demo', 999, { name: 'x' }, cliActor), { code: 'CS_ERR_ENTRY_NOT_FOUND' });
  t.match(
    await s.blocklist.getEntry(1, e.id),
    { name: 'Spam', mode: 'voicemail', expiresAt: null },
    'refused edits wrote nothing',
  );
  t.match(await s.blocklist.edit('demo', allow.id, { name: 'Dr Who' }, cliActor), { list: 'allow', name: 'Dr Who' });
  t.equal((await s.audit.query({ action: 'allow.update' })).total, 1);

  await s.blocklist.removeById('demo', e.id, cliActor);
  await t.rejects(
    s.blocklist.edit('demo', e.id, { name: 'x' }, cliActor),
    { code: 'CS_ERR_ENTRY_NOT_FOUND' },
    'a removed entry cannot be edited back',
  );
});
