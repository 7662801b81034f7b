// The block-caller FastAGI route (handset feature codes) against the daemon, with a fake Asterisk:
// who may block blocks (audited as that user, source handset), an agent's block is queued for an
// admin, an admin approves it, and what cannot be blocked is refused, each answered in
// CALLSCREEN_BLOCK_RESULT.
import t from 'tap';
import { buildFastAgiServer } from '../../../daemon/pbx/asterisk/fastagi-component.js';
import type { FastAgiServer } from '../../../daemon/pbx/asterisk/fastagi-server.js';
import { UserService } from '../../../daemon/admin/user-service.js';
import { runOn } from '../../cli/cli-runner.js';
import { agiCall, callEnv } from '../../support/faults-agi.js';
import { cliActor, services, startDaemon } from '../../support/harness.js';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

t.test('block-caller: blocked, already blocked, queued, approved, refused', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  const users = new UserService(s.db, s.orgs, s.audit, s.clock, FAST_SCRYPT);
  await users.add('agent101', 'supervisor', ['demo'], 'supervisor-pw-1', cliActor);
  await users.add('agent102', 'agent', ['demo'], 'agent-pw-12345', cliActor);
  let server: FastAgiServer | undefined;
  await startDaemon(t, s.dbPath, {
    clock: s.clock,
    toml: '[fastagi]\nlisten = "127.0.0.1:0"\ndefault_org = "demo"',
    components: (c) => [(server = buildFastAgiServer(c))],
  });
  const port = server!.address().port;
  const press = async (endpoint: string, how: string, caller: string): Promise<string | undefined> => {
    const r = await agiCall(
      port,
      callEnv({
        agi_network_script: 'block-caller',
        agi_request: `agi://127.0.0.1/block-caller`,
        agi_channel: `PJSIP/${endpoint}-00000007`,
        agi_callerid: endpoint,
        agi_context: 'from-agents',
        agi_extension: '*32',
        agi_arg_1: how,
        agi_arg_2: caller,
      }),
    );
    return /^SET VARIABLE CALLSCREEN_BLOCK_RESULT "(.*)"$/.exec(r.commands.at(-1) ?? '')?.[1];
  };

  t.equal(await press('agent101', 'last-caller', '+14155550101'), 'blocked', 'a supervisor blocks the last caller');
  const e = (await s.blocklist.list('demo', { search: '4155550101' })).entries[0];
  t.match(e, {
    kind: 'exact',
    createdBy: 'agent101',
    source: 'handset',
    mode: 'reject',
    reason: 'blocked from the handset (last caller)',
  });
  t.match((await s.audit.query({ actor: 'agent101', action: 'block' })).events, [
    { target: '+14155550101', origin: 'handset agent101' },
  ]);
  t.equal(
    await press('agent101', 'current-call', '(415) 555-0101'),
    'already-blocked',
    'any form of the number; nothing rewritten',
  );

  t.equal(await press('agent102', 'current-call', '+14155550102'), 'queued', 'agents may not block numbers: queued');
  t.equal(await press('agent102', 'current-call', '+14155550102'), 'queued', 'twice: still one request');
  t.equal(await press('agent999', 'last-caller', '+14155550103'), 'queued', 'a phone with no user: queued');
  t.same((await s.blocklist.list('demo', { search: '41555501' })).total, 1, 'nothing else blocked');
  const pending = await s.handset.list('demo');
  t.match(pending, [
    { number: '+14155550102', requestedBy: 'agent102', origin: 'handset agent102', why: /agents may block only when/ },
    { number: '+14155550103', requestedBy: 'agent999', why: /no callscreen user named "agent999"/ },
  ]);
  t.equal(pending.length, 2);
  t.match((await s.audit.query({ action: 'block.request' })).events.length, 2);

  const list = await runOn(s.dbPath, ['requests', 'list', '--org', 'demo']);
  t.match(list.out, /\+14155550102\s+agent102 \(handset agent102\)/);
  const ok = await runOn(s.dbPath, ['requests', 'approve', String(pending[0]!.id), '--org', 'demo', '--by', 'boss']);
  t.equal(ok.code, 0, ok.err);
  t.match((await s.blocklist.list('demo', { search: '4155550102' })).entries, [
    { createdBy: 'boss', reason: /block request \d+ from agent102/ },
  ]);
  const no = await runOn(s.dbPath, [
    'requests',
    'decline',
    String(pending[1]!.id),
    '--org',
    'demo',
    '--reason',
    'known caller',
  ]);
  t.equal(no.code, 0, no.err);
  const again = await runOn(s.dbPath, ['requests', 'decline', String(pending[1]!.id), '--org', 'demo']);
  t.match(again.err, /already declined/);
  t.same(await s.handset.list('demo'), [], 'nothing pending');

  // An agent may block a contact when the org lets agents block.
  await s.orgs.updateSettings('demo', { agentsMayBlock: true }, cliActor);
  const c = await s.contacts.add('demo', 'Pest', ['+14155550104'], cliActor);
  t.equal(await press('agent102', 'current-call', '+14155550104'), 'blocked', 'agent blocks the contact');
  t.match((await s.blocklist.list('demo', { search: '4155550104' })).entries, [
    { kind: 'contact', value: String(c.id), createdBy: 'agent102' },
  ]);

  t.equal(await press('agent101', 'last-caller', ''), 'refused', 'no last caller');
  t.equal(await press('agent101', 'last-caller', 'anonymous'), 'refused', 'a withheld last caller');
  t.equal(await press('agent101', 'last-caller', '+15550100'), 'refused', 'one of our own numbers');
  t.equal(await press('agent101', 'hang-up', '+14155550105'), 'refused', 'an unknown kind');
  t.equal(await press('carrier', 'last-caller', '+14155550105'), 'refused', 'a channel that is no phone');
});
