/**
 * The what-if replay (issue #16): recorded calls of the window replayed through the core decision
 * with the current rules and with the proposal; what changes, for how many numbers, how many were
 * called back or are contacts; broad proposals; nothing saved.
 */
import t from 'tap';
import { describeReport, requireConfirmation, BROAD_NUMBERS } from '../../daemon/services/what-if.js';
import { recordCalls, DAY_MS } from '../support/call-records.js';
import { cliActor, services, type TapLike } from '../support/harness.js';

const DAY = DAY_MS;
const record = recordCalls;

async function fixture(t: TapLike) {
  const s = await services(t);
  const org = await s.orgs.add('acme', 'Acme', 'US', cliActor);
  await s.orgs.addDids('acme', ['+12125550100'], cliActor);
  const friend = await s.contacts.add('acme', 'Friend', ['+15551110003'], cliActor);
  const now = s.clock.now();
  await record(s.db, org.id, now, '+15551110001', 3);
  await record(s.db, org.id, now, '+15551110002', 2);
  await record(s.db, org.id, now, '+15551110002', 1, { direction: 'outbound' });
  await record(s.db, org.id, now, '+15551110003', 1);
  await record(s.db, org.id, now, '+15551110003', 1, { channel: 'sms' });
  await record(s.db, org.id, now, '+15552220001', 4);
  await record(s.db, org.id, now, 'unidentified', 2);
  await record(s.db, org.id, now, '+15551110001', 10, { ago: 40 * DAY });
  await record(s.db, org.id, now, '', 5); // fail-mode records: the list never answered them
  return { s, org, friend, now };
}

t.test('a prefix block: calls, numbers, called back, contacts; broad; nothing saved', async (t) => {
  const { s } = await fixture(t);
  const before = await s.db.get<{ c: number }>('SELECT count(*) AS c FROM entries');
  const r = await s.whatIf.report('acme', {
    list: 'block',
    target: { kind: 'prefix', prefix: '+1555111' },
    options: { mode: 'reject' },
  });
  t.match(r.rule, { list: 'block', kind: 'prefix', value: '+1555111', mode: 'reject', replaces: null });
  t.equal(r.replayed.calls, 19, 'every record of the last 30 days (older ones left out)');
  t.same(r.matched, { calls: 8, numbers: 3 });
  t.same(r.changed, { calls: 8, inboundCalls: 6, inboundSms: 1, outbound: 1, numbers: 3, calledBack: 1, contacts: 1 });
  t.same(r.transitions, { 'allow→reject': 6, 'allow→quarantine': 1, 'allow→warn': 1 });
  t.equal(r.examples.length, 3);
  t.match(r.examples[0], {
    number: '+15551110001',
    calls: 3,
    before: 'allow',
    after: 'reject',
    calledBack: false,
    contact: false,
  });
  t.match(
    r.examples.find((e) => e.number === '+15551110002'),
    { calledBack: true },
  );
  t.match(
    r.examples.find((e) => e.number === '+15551110003'),
    { contact: true },
  );
  t.equal(r.broad, true);
  t.same(r.broadBecause, ['1 of them is a contact', 'agents called 1 of them back']);
  t.equal(
    (await s.db.get<{ c: number }>('SELECT count(*) AS c FROM entries'))?.c,
    before?.c,
    'a what-if saves nothing',
  );
  t.throws(() => requireConfirmation(r, false, 'add --yes'), {
    code: 'CS_ERR_CONFIRM_REQUIRED',
    message: /1 of them is a contact.*add --yes/,
  });
  t.doesNotThrow(() => requireConfirmation(r, true, 'add --yes'));
  t.match(
    describeReport(r).join('\n'),
    /changed\s+8 records \(6 inbound calls, 1 inbound SMS, 1 agents' own\) from 3 numbers/,
  );

  const wider = await s.whatIf.report('acme', { list: 'block', target: { kind: 'prefix', prefix: '+1555111' } }, 60);
  t.equal(wider.changed.inboundCalls, 16, 'a 60-day window takes the older records too');
});

t.test('an exact block, a mode change of an existing entry, a shadowed entry, an allow', async (t) => {
  const { s } = await fixture(t);
  const exact = await s.whatIf.report('acme', { list: 'block', target: { kind: 'exact', number: '(555) 222-0001' } });
  t.match(exact, {
    rule: { value: '+15552220001', mode: 'reject' },
    changed: { calls: 4, numbers: 1, calledBack: 0, contacts: 0 },
    broad: false,
    broadBecause: [],
  });
  t.match(describeReport(exact).at(-1), /not broad/);

  const entry = await s.blocklist.block(
    'acme',
    { kind: 'exact', number: '+15552220001' },
    { mode: 'reject' },
    cliActor,
  );
  const mode = await s.whatIf.report('acme', {
    list: 'block',
    target: { kind: 'exact', number: '+15552220001' },
    options: { mode: 'voicemail' },
  });
  t.match(mode, {
    rule: { replaces: entry.id, mode: 'voicemail' },
    matched: { calls: 4 },
    changed: { calls: 4 },
    transitions: { 'reject→voicemail': 4 },
  });
  const same = await s.whatIf.report('acme', {
    list: 'block',
    target: { kind: 'exact', number: '+15552220001' },
    options: { mode: 'reject' },
  });
  t.match(same, { matched: { calls: 4 }, changed: { calls: 0, numbers: 0 } }, 'the same entry again changes nothing');

  await s.blocklist.block('acme', { kind: 'prefix', prefix: '+1555222' }, { mode: 'voicemail' }, cliActor);
  const shadow = await s.whatIf.report('acme', {
    list: 'block',
    target: { kind: 'prefix', prefix: '+155522' },
    options: { mode: 'voicemail' },
  });
  t.match(
    shadow,
    { matched: { calls: 0 }, changed: { calls: 0 } },
    'a shorter prefix under a longer one and an exact entry decides nothing',
  );

  const allow = await s.whatIf.report('acme', { list: 'allow', target: { kind: 'exact', number: '+15552220001' } });
  t.match(allow, {
    rule: { list: 'allow', mode: null },
    changed: { calls: 4, numbers: 1 },
    transitions: { 'reject→allow': 4 },
    broad: false,
  });
});

t.test('unidentified callers, a contact block, refusals', async (t) => {
  const { s, friend } = await fixture(t);
  const anon = await s.whatIf.report('acme', {
    list: 'block',
    target: { kind: 'unidentified' },
    options: { mode: 'voicemail' },
  });
  t.match(anon, { changed: { calls: 2, numbers: 1 }, transitions: { 'allow→voicemail': 2 } });
  const contact = await s.whatIf.report('acme', { list: 'block', target: { kind: 'contact', contactId: friend.id } });
  t.match(
    contact,
    { changed: { calls: 2, inboundCalls: 1, inboundSms: 1, contacts: 1 }, broad: false },
    'blocking a contact is not broad for being a contact',
  );

  await t.rejects(
    s.whatIf.report('acme', { list: 'block', target: { kind: 'exact', number: '+12125550100' } }),
    { code: 'CS_ERR_PROTECTED_NUMBER' },
    'the same refusals as the write',
  );
  await t.rejects(s.whatIf.report('acme', { list: 'block', target: { kind: 'exact', number: 'reception' } }), {
    code: 'CS_ERR_INVALID_NUMBER',
  });
  await t.rejects(s.whatIf.report('acme', { list: 'block', target: { kind: 'exact', number: '+15551110001' } }, 0), {
    code: 'CS_ERR_INVALID_VALUE',
    message: /days/,
  });
  await t.rejects(s.whatIf.report('nope', { list: 'block', target: { kind: 'exact', number: '+15551110001' } }), {
    code: 'CS_ERR_ORG_NOT_FOUND',
  });
  await t.rejects(
    s.whatIf.report('acme', {
      list: 'block',
      target: { kind: 'exact', number: '+15551110001' },
      options: { expires: '2020-01-01' },
    }),
    { code: 'CS_ERR_INVALID_VALUE' },
  );
});

t.test(`broad by count: more than ${BROAD_NUMBERS} distinct numbers`, async (t) => {
  const s = await services(t);
  const org = await s.orgs.add('acme', 'Acme', 'US', cliActor);
  const now = s.clock.now();
  for (let i = 0; i < BROAD_NUMBERS + 1; i++)
    await record(s.db, org.id, now, `+1900555${String(i).padStart(4, '0')}`, 1);
  const r = await s.whatIf.report('acme', { list: 'block', target: { kind: 'prefix', prefix: '+1900' } });
  t.match(r, { changed: { numbers: BROAD_NUMBERS + 1 }, broad: true });
  t.match(r.broadBecause[0], /26 distinct numbers \(more than 25\)/);
  t.equal(r.examples.length, 10, 'ten examples at most');
  const narrow = await s.whatIf.report('acme', { list: 'block', target: { kind: 'prefix', prefix: '+19005550000' } });
  t.match(narrow, { changed: { numbers: 1 }, broad: false });
});

t.test(
  'pages: more groups than one page (1,000) are all replayed, a number split across pages counted once',
  async (t) => {
    const s = await services(t);
    const org = await s.orgs.add('acme', 'Acme', 'US', cliActor);
    const now = s.clock.now();
    // 1,100 numbers, each with an inbound and an outbound record: 2,200 groups, pairs straddling page ends.
    await s.db.run(
      `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 2199)
     INSERT INTO screened (at, org_id, channel, direction, from_raw, to_raw, number, action, adapter)
     SELECT ?, ?, 'call', CASE WHEN i % 2 = 0 THEN 'inbound' ELSE 'outbound' END, '', '', '+1900555' || printf('%04d', i / 2), 'allow', 'test' FROM c`,
      [now - DAY, org.id],
    );
    const r = await s.whatIf.report('acme', { list: 'block', target: { kind: 'prefix', prefix: '+1900' } });
    t.same(r.changed, {
      calls: 2200,
      inboundCalls: 1100,
      inboundSms: 0,
      outbound: 1100,
      numbers: 1100,
      calledBack: 1100,
      contacts: 0,
    });
  },
);

t.test(
  'an observe-first block changes nothing and is not broad; a DID-scoped block counts only calls to its DIDs',
  async (t) => {
    const { s, org, now } = await fixture(t);
    await s.orgs.addDids('acme', ['+12125550199'], cliActor);
    const observed = await s.whatIf.report('acme', {
      list: 'block',
      target: { kind: 'prefix', prefix: '+1555111' },
      options: { observe: true },
    });
    t.same(observed.matched, { calls: 8, numbers: 3 }, 'it would have matched what the enforced block matches');
    t.equal(observed.changed.calls, 0, 'but let every call through');
    t.equal(observed.broad, false, 'so it needs no confirmation: observing first is how a broad rule is tried');

    // Calls to the second DID, in the national form a PBX may send.
    await record(s.db, org.id, now, '+15553330001', 3, { to: '2125550199' });
    await record(s.db, org.id, now, '+15553330001', 2);
    const scoped = await s.whatIf.report('acme', {
      list: 'block',
      target: { kind: 'exact', number: '+15553330001' },
      options: { dids: ['+12125550199'] },
    });
    t.equal(scoped.changed.inboundCalls, 3, 'only the calls to +12125550199');
    const whole = await s.whatIf.report('acme', { list: 'block', target: { kind: 'exact', number: '+15553330001' } });
    t.equal(whole.changed.inboundCalls, 5, 'the same block for every DID: all five');
    await t.rejects(
      s.whatIf.report('acme', {
        list: 'block',
        target: { kind: 'exact', number: '+15553330001' },
        options: { dids: ['+12125550777'] },
      }),
      { code: 'CS_ERR_INVALID_VALUE', message: /not one of organisation "acme"'s numbers/ },
      "a DID not the org's is refused as the save would",
    );
  },
);
