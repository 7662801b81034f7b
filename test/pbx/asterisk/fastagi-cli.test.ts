// `callscreen calls` and `callscreen quarantine …` in-process (runCli), on what FastAGI records and holds.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureCli } from '../../support/cli-capture.js';
import { cliActor, services, startDaemon, tempDir } from '../../support/harness.js';

const cli = (argv: string[]) => captureCli(argv);

t.test('calls lists screened calls; quarantine lists, deletes, and refuses release without a PBX link', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', reason: 'spam' },
    cliActor,
  );
  const { ctx, daemon } = await startDaemon(t, s.dbPath, { clock: s.clock });
  const req = {
    org: 'demo',
    channel: 'call',
    direction: 'inbound',
    from: '+15557770001',
    to: '+15550100',
    callId: 'c1',
  } as const;
  const v = await ctx.screener.screen(req);
  ctx.screener.recordVerdict(req, ctx.index.org('demo')?.org.id ?? null, v, 'fastagi', 42);
  const sms = { ...req, channel: 'sms' } as const;
  const vs = await ctx.screener.screen(sms);
  const orgId = ctx.index.org('demo')?.org.id ?? 0;
  const id1 = await ctx.quarantine.hold({
    orgId,
    fromRaw: '<sip:+15557770001@127.0.0.2>',
    to: '+15550100',
    body: 'prize 1',
    deliverTo: 'pjsip:agent101',
    verdict: vs,
    adapter: 'fastagi',
  });
  await ctx.quarantine.hold({
    orgId,
    fromRaw: '<sip:+15557770001@127.0.0.2>',
    to: '+15550100',
    body: 'prize 2',
    deliverTo: 'pjsip:agent101',
    verdict: vs,
    adapter: 'fastagi',
  });
  await daemon.stop();

  const calls = await cli(['--db', s.dbPath, 'calls', '--org', 'demo']);
  t.equal(calls.code, 0, calls.err);
  t.match(calls.out, /\+15557770001.*\+15550100.*reject.*exact:\d+/);
  const json = JSON.parse((await cli(['--db', s.dbPath, 'calls', '--org', 'demo', '--json'])).out) as {
    calls: Array<Record<string, unknown>>;
  };
  t.match(json.calls[0], { action: 'reject', from: '+15557770001', callId: 'c1', latencyUs: 42, adapter: 'fastagi' });

  const list = await cli(['--db', s.dbPath, 'quarantine', 'list', '--org', 'demo']);
  t.equal(list.code, 0, list.err);
  t.match(list.out, /prize 1/);
  t.match(list.out, /pjsip:agent101/);

  const rel = await cli(['--db', s.dbPath, 'quarantine', 'release', String(id1), '--org', 'demo', '--by', 'sup']);
  t.equal(rel.code, 69, 'no AMI: CS_ERR_UNAVAILABLE');
  t.match(rel.err, /CS_ERR_UNAVAILABLE/);

  const dir = tempDir(t);
  const conf = join(dir, 'c.toml');
  // AMI enabled but nothing listening: release fails clearly and the message stays held.
  writeFileSync(
    conf,
    `[store]\npath = ${JSON.stringify(s.dbPath)}\n[log]\nlevel = "silent"\n[ami]\nenabled = true\nport = 1\nsecret = "x"\naction_timeout_ms = 300\n`,
  );
  const rel2 = await cli(['--config', conf, 'quarantine', 'release', String(id1), '--org', 'demo', '--by', 'sup']);
  t.equal(rel2.code, 69, rel2.err);
  t.match(rel2.err, /CS_ERR_UNAVAILABLE: cannot log in to AMI/);

  const usage = await cli(['--db', s.dbPath, 'quarantine', 'delete-all', '--org', 'demo']);
  t.equal(usage.code, 64, 'delete-all needs --contact or --from');
  const del = await cli([
    '--db',
    s.dbPath,
    'quarantine',
    'delete-all',
    '--org',
    'demo',
    '--from',
    '(555) 777-0001',
    '--by',
    'sup',
  ]);
  t.equal(del.code, 0, del.err);
  t.match(del.out, /deleted 2 messages/);
  const empty = JSON.parse((await cli(['--db', s.dbPath, 'quarantine', 'list', '--org', 'demo', '--json'])).out) as {
    total: number;
  };
  t.equal(empty.total, 0);
});
