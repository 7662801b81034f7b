import t from 'tap';
import { cliActor, services, startDaemon } from '../support/harness.js';

t.test('a blocked number is rejected, voicemail mode goes to voicemail, others allowed', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '(555) 123-4567' },
    { mode: 'reject', name: 'Spam', reason: 'robocalls' },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'exact', number: '+15557654321' }, { mode: 'voicemail' }, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  const base = { org: 'demo', channel: 'call', direction: 'inbound', to: '+15550100' } as const;
  const v1 = await ctx.screener.screen({ ...base, from: 'sip:+15551234567@carrier;user=phone' });
  t.equal(v1.action, 'reject');
  t.equal(v1.rule?.kind, 'exact');
  t.equal(v1.sipCode, 603);
  t.match(v1.reason, /robocalls/);
  t.equal((await ctx.screener.screen({ ...base, from: '5557654321' })).action, 'voicemail');
  t.equal((await ctx.screener.screen({ ...base, from: '+15550000000' })).action, 'allow');
  t.equal((await ctx.screener.screen({ ...base, channel: 'sms', from: '+15551234567' })).action, 'quarantine');
  t.equal(
    (
      await ctx.screener.screen({
        org: 'demo',
        channel: 'call',
        direction: 'outbound',
        from: '101',
        to: '1-555-123-4567',
      })
    ).action,
    'warn',
  );
});
