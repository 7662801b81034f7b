// Flood detection is fed by every adapter through ScreeningService.record: here the outbound Event
// Socket (FreeSWITCH), against the fake FreeSWITCH peer. A flooding caller is held by an auto rule
// and its next call is sent to voicemail by FreeSWITCH's transfer.
import t from 'tap';
import { cliActor, services, silentLogger, startDaemon, until } from '../../support/harness.js';
import { channelData, dialOut, executed } from '../../support/fake-freeswitch.js';
import { EslServer } from '../../../daemon/pbx/freeswitch/esl-server.js';

t.test('a caller flooding through FreeSWITCH is held and then sent to voicemail', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.flood.set('demo', { maxCalls: 2 }, cliActor);
  let server: EslServer | undefined;
  const { ctx } = await startDaemon(t, s.dbPath, {
    clock: s.clock,
    components: (c) => [
      (server = new EslServer(
        { screening: c.screening, config: () => c.config, logger: silentLogger() },
        { listen: '127.0.0.1:0' },
      )),
    ],
  });
  const port = Number(server!.address().split(':').at(-1));
  const from = { 'Caller-Caller-ID-Number': '+13055550199' };
  for (let i = 0; i < 3; i++)
    t.same(executed(await dialOut(port, channelData(from))), ['set callscreen_action=allow'], `call ${i + 1} allowed`);
  t.ok(
    await until(async () => (await s.blocklist.list('demo', { search: '3055550199' })).total === 1, 5000, 20),
    'hold written',
  );
  t.match((await s.blocklist.list('demo', { search: '3055550199' })).entries, [
    { createdBy: 'auto', source: 'auto', mode: 'voicemail' },
  ]);
  await ctx.feed.poll();
  t.same(
    executed(await dialOut(port, channelData(from))),
    ['transfer +15550100 XML callscreen_voicemail'],
    'the next call goes to voicemail',
  );
});
