// The identity rules through the daemon's own Screener and in-memory index (issue #16): carrier
// stand-ins, dial prefixes, and "allow only when attested" on every path an entry reaches memory
// by (loaded at start, written while running), plus `callscreen check`'s answer.
import t from 'tap';
import { NumberCheck } from '../../daemon/services/number-check.js';
import { identitySettingsFrom } from '../../daemon/services/identity-settings.js';
import { cliActor, services, startDaemon } from '../support/harness.js';

const PASSED = { status: 'passed', level: 'A' } as const;
const inbound = (from: string, extra: object = {}) =>
  ({ org: 'demo', channel: 'call', direction: 'inbound', from, to: '+15550100', ...extra }) as const;
const outbound = (to: string) =>
  ({ org: 'demo', channel: 'call', direction: 'outbound', from: 'agent101', to }) as const;

t.test('identity rules in the daemon', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', name: 'Collector' },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1555779' }, { mode: 'reject' }, cliActor);
  await s.blocklist.allow(
    'demo',
    { kind: 'exact', number: '+15557790001' },
    { name: 'Bank', requireAttestation: true },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'unidentified' }, { mode: 'voicemail' }, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock, toml: '[screening]\ndial_prefixes = ["9", "0"]' });
  const screen = ctx.screener.screenSync.bind(ctx.screener);

  await t.test('outbound: 9 and *67 are removed before the screen', async (t) => {
    for (const dialled of [
      '+15557770001',
      '15557770001',
      '915557770001',
      '*6715557770001',
      '*82915557770001',
      '015557770001',
    ]) {
      t.match(screen(outbound(dialled)), { action: 'warn', normalized: '+15557770001' }, dialled);
    }
    t.match(
      screen(outbound('911')),
      { action: 'allow', rule: { kind: 'protected', id: 'emergency' } },
      '911 stays 911',
    );
  });

  await t.test('carrier stand-ins: unidentified only when the org says so', async (t) => {
    t.match(screen(inbound('+266696687')), { action: 'allow' }, 'off by default: a number like any other');
    await ctx.orgs.updateSettings('demo', { standinsUnidentified: true }, cliActor);
    await ctx.feed.poll();
    t.match(screen(inbound('+266696687')), {
      action: 'voicemail',
      normalized: 'unidentified',
      rule: { kind: 'unidentified' },
    });
    t.match(screen(inbound('sip:266696687@carrier')), { action: 'voicemail' }, 'without "+" too');
    t.match(screen(inbound('+15557780001')), { action: 'allow' }, 'other numbers are not');
  });

  await t.test('"allow only when attested", loaded at start', async (t) => {
    t.match(screen(inbound('+15557790001', { attestation: PASSED })), {
      action: 'allow',
      rule: { kind: 'allow', name: 'Bank' },
      attestation: PASSED,
    });
    t.match(screen(inbound('+15557790001')), { action: 'reject', rule: { kind: 'prefix' } });
  });

  await t.test('"allow only when attested", written while running (and changed back)', async (t) => {
    await ctx.blocklist.allow(
      'demo',
      { kind: 'exact', number: '+15557790002' },
      { requireAttestation: true },
      cliActor,
    );
    await ctx.feed.poll();
    t.match(screen(inbound('+15557790002')), { action: 'reject' }, 'unattested');
    t.match(screen(inbound('+15557790002', { attestation: PASSED })), { action: 'allow' }, 'attested');
    await ctx.blocklist.allow('demo', { kind: 'exact', number: '+15557790002' }, {}, cliActor);
    await ctx.feed.poll();
    t.match(screen(inbound('+15557790002')), { action: 'allow' }, 'allowed again without the condition');
  });

  await t.test('own DID and failed verification, recorded with the attestation', async (t) => {
    t.match(screen(inbound('+15550100')), { action: 'voicemail', rule: { kind: 'spoofed' } });
    await ctx.orgs.updateSettings('demo', { attestationFailed: 'reject' }, cliActor);
    await ctx.feed.poll();
    const failed = { status: 'failed', level: null } as const;
    const s1 = ctx.screening.screen({ ...inbound('+15557780002', { attestation: failed }) }, ctx.index.org('demo'));
    t.match(s1.verdict, { action: 'reject', rule: { kind: 'attestation' } });
    ctx.screening.record(s1, 'test', 1);
    await ctx.recorder.flush();
    const row = await ctx.db.get<{ attestation: string | null }>(
      "SELECT attestation FROM screened WHERE adapter = 'test'",
    );
    t.equal(row?.attestation, 'failed');
  });

  await t.test('callscreen check gives the same answers (NumberCheck)', async (t) => {
    const check = new NumberCheck(ctx.db, ctx.normalizer, ctx.clock, identitySettingsFrom(() => ctx.config)());
    t.match(await check.screen(outbound('915557770001')), { action: 'warn', normalized: '+15557770001' });
    t.match(await check.screen(inbound('+266696687')), { action: 'voicemail' });
    t.match(await check.screen(inbound('+15557790001')), { action: 'reject' });
    t.match(await check.screen(inbound('+15557790001', { attestation: PASSED })), { action: 'allow' });
  });
});

t.test('callscreen check --verstat and the identity settings from the CLI', async (t) => {
  const { runOn } = await import('../cli/cli-runner.js');
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.close();
  const settings = await runOn(s.dbPath, [
    'org',
    'settings',
    'demo',
    '--attestation-failed',
    'voicemail',
    '--standins-unidentified',
    'on',
  ]);
  t.equal(settings.code, 0, settings.err);
  t.match(
    settings.out,
    /attestation-failed\s+voicemail[\s\S]*own-did-unattested\s+voicemail[\s\S]*standins-unidentified\s+on/,
  );
  const failed = await runOn(s.dbPath, [
    'check',
    '+15557780001',
    '--org',
    'demo',
    '--verstat',
    'TN-Validation-Failed',
    '--json',
  ]);
  t.equal(failed.code, 0, failed.err);
  t.match(JSON.parse(failed.out), { action: 'voicemail', rule: { kind: 'attestation' }, attestation: 'failed' });
  const own = await runOn(s.dbPath, ['check', '+15550100', '--org', 'demo']);
  t.match(own.out, /^voicemail {2}\+15550100\n.*treated as spoofed/);
  const attested = await runOn(s.dbPath, [
    'check',
    '+15550100',
    '--org',
    'demo',
    '--verstat',
    'TN-Validation-Passed-A',
  ]);
  t.match(attested.out, /^allow /);
  const bad = await runOn(s.dbPath, ['check', '+15550100', '--org', 'demo', '--verstat', 'green']);
  t.equal(bad.code, 65, 'CS_ERR_INVALID_VALUE');
  t.match(bad.err, /--verstat "green" is not/);
  const allowed = await runOn(s.dbPath, ['allow', '+15557790001', '--org', 'demo', '--attested', '--json']);
  t.equal(allowed.code, 0, allowed.err);
  t.match(JSON.parse(allowed.out), { requireAttestation: true });
});
