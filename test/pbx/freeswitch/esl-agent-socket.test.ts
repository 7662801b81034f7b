// Agent warnings go out as `api chat` on the agent call's own outbound socket. A real FreeSWITCH
// (1.10.12) refuses `api` on a socket the dialplan opened without `full` ("-ERR command not found"),
// which is why config/freeswitch/dialplan-callscreen-agent.xml says `socket 127.0.0.1:8084 full`.
// The fake now refuses it the same way, so this stays true in the fast tests.
import t from 'tap';
import { captureLogger, cliActor, services, startDaemon } from '../../support/harness.js';
import { channelData, dialOut, executed } from '../../support/fake-freeswitch.js';
import { buildEslServer } from '../../../daemon/pbx/freeswitch/esl-component.js';
import type { EslServer } from '../../../daemon/pbx/freeswitch/esl-server.js';

t.test('the warning reaches mod_sms only over a `full` socket', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.orgs.updateSettings('demo', { outboundPolicy: 'warn' }, cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', reason: 'robocalls' },
    cliActor,
  );
  const { logger, lines } = captureLogger('debug');
  let server: EslServer | undefined;
  await startDaemon(t, s.dbPath, {
    clock: s.clock,
    logger,
    toml: '[esl]\nenabled = true\nlisten = "127.0.0.1:0"',
    components: (ctx) => [(server = buildEslServer(ctx))],
  });
  const port = Number(server?.address().split(':').at(-1));
  const agentCall = (control: string) =>
    dialOut(
      port,
      channelData({
        Control: control,
        variable_callscreen_direction: 'outbound',
        'Caller-Username': '1001',
        'Caller-Destination-Number': '5557770001',
      }),
    );
  const notSent = () => lines.filter((l) => l.msg === 'agent warning not sent').length;

  const full = await agentCall('full');
  t.same(executed(full), ['set callscreen_action=allow'], 'warn: the call goes on');
  t.ok(
    full.commands.some((c) => c.startsWith('api chat sip|')),
    'api chat sent',
  );
  t.equal(notSent(), 0, 'and taken');

  const single = await agentCall('single-channel');
  t.same(executed(single), ['set callscreen_action=allow'], 'the call still goes on');
  t.equal(notSent(), 1, 'but the warning is refused and logged');
});
