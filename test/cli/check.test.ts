// `callscreen check` answers from the asked org and the number's own entries (NumberCheck), not a
// whole index: the same verdict as the daemon's screener for every kind of rule, a bounded number
// of reads that never touch another org, and the command's output.
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../support/manual-clock.js';
import type { ScreenRequest } from '../../daemon/core/screen-request.js';
import { runCli } from '../../daemon/cli/program.js';
import { NumberCheck } from '../../daemon/services/number-check.js';
import { cliActor, services, startDaemon, tempDir } from '../support/harness.js';

t.test("NumberCheck gives the daemon's verdict for every rule, reading only the asked org", async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  const s = await services(t, { clock });
  const b = s.blocklist;
  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  await s.orgs.addDids('acme', ['+15550100'], cliActor);
  await s.orgs.add('beta', 'Beta', 'GB', cliActor);
  await s.orgs.updateSettings('beta', { outboundPolicy: 'deny', rejectCode: 486 }, cliActor);
  await b.block(
    'acme',
    { kind: 'exact', number: '+15551230001' },
    { mode: 'reject', name: 'Robo', reason: 'survey' },
    cliActor,
  );
  await b.block('acme', { kind: 'exact', number: '+15551230002' }, { mode: 'voicemail' }, cliActor);
  await b.block('acme', { kind: 'exact', number: '+15551230003' }, { mode: 'reject', expires: '1h' }, cliActor); // expires below
  await b.block('acme', { kind: 'prefix', prefix: '+1900' }, { mode: 'reject' }, cliActor);
  await b.block('acme', { kind: 'prefix', prefix: '+1900555' }, { mode: 'voicemail' }, cliActor);
  await b.allow('acme', { kind: 'prefix', prefix: '+19005551' }, { reason: 'partner' }, cliActor);
  await b.block('acme', { kind: 'prefix', prefix: '+1555123' }, { mode: 'voicemail' }, cliActor);
  await b.allow('acme', { kind: 'exact', number: '+15551239999' }, { reason: 'courier' }, cliActor);
  await b.block('acme', { kind: 'unidentified' }, { mode: 'voicemail' }, cliActor);
  const contact = await s.contacts.add('acme', 'Pest', ['+15557770001', '+15557770002'], cliActor);
  await b.block('acme', { kind: 'contact', contactId: contact.id }, { mode: 'reject' }, cliActor);
  await b.block('beta', { kind: 'exact', number: '+15551230002' }, { mode: 'reject' }, cliActor); // another org's list
  await b.block('beta', { kind: 'prefix', prefix: '+44' }, { mode: 'reject' }, cliActor);
  clock.advance(2 * 3600_000);
  const { ctx } = await startDaemon(t, s.dbPath, { clock });

  const numbers = [
    '+15551230001',
    '(555) 123-0002',
    '5551230003',
    '+19005550000',
    '+19005551234',
    '+19001111111',
    '5551234567',
    '+15551239999',
    '+15557770002',
    '5550100',
    '911',
    '',
    'anonymous',
    '+447700900123',
    '+15559990000',
    'sip:+15551230001@carrier.example',
  ];
  const requests: ScreenRequest[] = [];
  for (const org of ['acme', 'beta']) {
    for (const n of numbers) {
      requests.push({ org, channel: 'call', direction: 'inbound', from: n, to: '+15550100' });
      requests.push({ org, channel: 'sms', direction: 'inbound', from: n, to: '+15550100' });
      requests.push({ org, channel: 'call', direction: 'outbound', from: '201', to: n });
      requests.push({ org, channel: 'call', direction: 'inbound', from: n, to: '+15550100', withheld: true });
    }
  }
  const check = new NumberCheck(s.db, s.normalizer, clock);
  const actions = new Set<string>();
  for (const req of requests) {
    const daemon = await ctx.screener.screen(req);
    const mine = await check.screen(req);
    actions.add(mine.action);
    t.same(
      mine,
      daemon,
      `${req.org} ${req.direction} ${req.channel} ${req.direction === 'inbound' ? req.from : req.to}${req.withheld ? ' withheld' : ''}`,
    );
  }
  t.same(
    [...actions].sort(),
    ['allow', 'deny', 'quarantine', 'reject', 'voicemail', 'warn'].filter((a) => actions.has(a)).sort(),
  );
  t.ok(actions.size >= 5, `the cases reach ${[...actions].join(', ')}`);

  // What it reads: a handful of statements, every one about acme or the number, whatever the list holds.
  const seen: Array<{ sql: string; params: unknown }> = [];
  const spy = new Proxy(s.db, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if ((prop === 'all' || prop === 'get' || prop === 'each') && typeof v === 'function') {
        return (sql: string, params: unknown, ...rest: unknown[]) => {
          seen.push({ sql, params });
          return (v as (...a: unknown[]) => unknown).call(target, sql, params, ...rest);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const acmeId = (await s.orgs.require('acme')).id;
  await new NumberCheck(spy, s.normalizer, clock).screen({
    org: 'acme',
    channel: 'call',
    direction: 'inbound',
    from: '+15551230001',
    to: '',
  });
  t.ok(seen.length <= 6, `${seen.length} statements`);
  for (const q of seen.slice(1))
    t.equal((q.params as unknown[])[0], acmeId, `only acme's rows: ${String(q.sql.trim().split('\n')[0])}`);
  t.notOk(
    seen.some((q) => /FROM orgs(?! WHERE slug)/.test(q.sql)),
    'no read of every org',
  );
  await t.rejects(check.screen({ org: 'nope', channel: 'call', direction: 'inbound', from: '1', to: '' }), {
    code: 'CS_ERR_ORG_NOT_FOUND',
  });
});

t.test('the check command: verdict, --json, unknown org', async (t) => {
  const db = join(tempDir(t), 'c.db');
  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['--db', db, ...argv], {
      stdout: { write: (x: string) => (out += x) },
      stderr: { write: (x: string) => (err += x) },
      env: { USER: 'tester' },
    });
    return { code, out, err };
  };
  t.equal((await run('init')).code, 0);
  t.equal((await run('org', 'add', 'acme', '--name', 'Acme', '--region', 'US')).code, 0);
  t.equal((await run('block', '5551234567', '--org', 'acme', '--mode', 'reject', '--name', 'Robo')).code, 0);
  const text = await run('check', '(555) 123-4567', '--org', 'acme');
  t.equal(text.code, 0, text.err);
  t.match(text.out, /^reject {2}\+15551234567 {2}\(SIP 603\)\n.*Robo/);
  const json = await run('check', '5551234567', '--org', 'acme', '--json');
  t.match(JSON.parse(json.out), {
    action: 'reject',
    normalized: '+15551234567',
    rule: { kind: 'exact' },
    sipCode: 603,
    org: 'acme',
  });
  const sms = await run('check', '5551234567', '--org', 'acme', '--channel', 'sms', '--json');
  t.match(JSON.parse(sms.out), { action: 'quarantine' });
  const unknown = await run('check', '5551234567', '--org', 'nope');
  t.equal(unknown.code, 66);
  t.match(unknown.err, /CS_ERR_ORG_NOT_FOUND/);
});
