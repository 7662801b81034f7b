// The handset feature codes over the outbound Event Socket (esl-handset.ts), against
// test/support/fake-freeswitch.ts (real ESL framing, not FreeSWITCH: the real one is in
// test/e2e/freeswitch-handset.test.ts). Real daemon underneath: HandsetBlockService decides.
import t from 'tap';
import { UserService } from '../../../daemon/admin/user-service.js';
import { EslServer } from '../../../daemon/pbx/freeswitch/esl-server.js';
import { readHandset } from '../../../daemon/pbx/freeswitch/esl-handset.js';
import { captureLogger, cliActor, services, startDaemon } from '../../support/harness.js';
import { channelData, dialOut, executed } from '../../support/fake-freeswitch.js';

const handsetData = (over: Record<string, string>): Record<string, string> =>
  channelData({
    'Caller-Destination-Number': '*32',
    variable_callscreen_handset: 'last-caller',
    variable_callscreen_handset_endpoint: 'agent101',
    ...over,
  });

t.test('readHandset: only a channel with callscreen_handset is a handset request', async (t) => {
  t.equal(readHandset(channelData()), undefined, 'an ordinary call');
  t.match(
    readHandset(
      handsetData({ variable_callscreen_block_caller: ' +15557770001 ', variable_callscreen_handset_did: '+15550100' }),
    ),
    { how: 'last-caller', endpoint: 'agent101', caller: '+15557770001', did: '+15550100' },
  );
  t.match(readHandset(handsetData({})), { caller: '', did: '' }, 'missing values are empty, not undefined');
});

t.test('through the ESL server: one set with the result, no screening', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.orgs.add('other', 'Other', 'US', cliActor);
  await s.orgs.addDids('other', ['+15550900'], cliActor);
  const users = new UserService(s.db, s.orgs, s.audit, s.clock, { N: 1024, r: 8, p: 1 });
  await users.add('agent101', 'supervisor', ['demo'], 'agent101-password', cliActor);
  const { logger, lines } = captureLogger('debug');
  let server: EslServer | undefined;
  const { ctx } = await startDaemon(t, s.dbPath, {
    clock: s.clock,
    components: (c) => [
      (server = new EslServer(
        { screening: c.screening, handset: c.handset, config: () => c.config, logger },
        { listen: '127.0.0.1:0' },
      )),
    ],
  });
  if (!server) throw new Error('no server');
  const port = Number(server.address().split(':').at(-1));

  const blocked = await dialOut(
    port,
    handsetData({ variable_callscreen_block_caller: '+15557770001', variable_callscreen_handset_did: '+15550100' }),
  );
  t.same(executed(blocked), ['set callscreen_block_result=blocked'], 'one command: the result');
  t.equal(blocked.commands.length, 2, 'connect and the set: then our FIN');
  t.match((await s.blocklist.list('demo', { search: '5557770001' })).entries, [
    { value: '+15557770001', createdBy: 'agent101', source: 'handset' },
  ]);

  const again = await dialOut(
    port,
    handsetData({
      variable_callscreen_handset: 'current-call',
      variable_callscreen_block_caller: '5557770001',
      variable_callscreen_handset_did: '+15550100',
    }),
  );
  t.same(executed(again), ['set callscreen_block_result=already-blocked'], 'the national form is the same number');

  const otherOrg = await dialOut(
    port,
    handsetData({ variable_callscreen_block_caller: '+15557770002', variable_callscreen_handset_did: '+15550900' }),
  );
  t.same(
    executed(otherOrg),
    ['set callscreen_block_result=queued'],
    'the DID picks the org: agent101 does not work in "other", so it is queued there',
  );
  t.equal((await ctx.handset.list('other'))[0]?.number, '+15557770002');

  const noDid = await dialOut(port, handsetData({ variable_callscreen_block_caller: '+15557770003' }));
  t.same(executed(noDid), ['set callscreen_block_result=refused'], 'no DID and two orgs: no org, refused');

  const noEndpoint = await dialOut(
    port,
    handsetData({
      variable_callscreen_handset_endpoint: '',
      variable_callscreen_block_caller: '+15557770004',
      variable_callscreen_handset_did: '+15550100',
    }),
  );
  t.same(executed(noEndpoint), ['set callscreen_block_result=refused'], 'no phone user: refused');
  const badHow = await dialOut(
    port,
    handsetData({
      variable_callscreen_handset: 'everyone',
      variable_callscreen_block_caller: '+15557770004',
      variable_callscreen_handset_did: '+15550100',
    }),
  );
  t.same(executed(badHow), ['set callscreen_block_result=refused']);
  const nobody = await dialOut(
    port,
    handsetData({ variable_callscreen_block_caller: '', variable_callscreen_handset_did: '+15550100' }),
  );
  t.same(executed(nobody), ['set callscreen_block_result=refused'], 'no last caller (mod_db had none): refused');
  t.equal((await s.blocklist.list('demo', { search: '5557770004' })).total, 0, 'nothing blocked by a refused request');
  t.ok(
    lines.some((l) => String(l.msg).startsWith('handset: callscreen_handset_endpoint is empty')),
    'the refusal says why in the log',
  );
});
