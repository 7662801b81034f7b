// `callscreen quarantine release` on a FreeSWITCH site, in-process (runCli) against
// test/support/fake-freeswitch-inbound.ts: with [esl_inbound] enabled and [ami] not, the CLI logs in
// to mod_event_socket itself and sends the released message with `sendevent SMS::SEND_MESSAGE`; it
// leaves the running daemon's screening switch and watchdog alone. AMI still wins when both are on.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureCli } from '../support/cli-capture.js';
import { QuarantineService } from '../../daemon/services/quarantine-service.js';
import type { Verdict } from '../../daemon/core/verdict.js';
import { cliActor, services, tempDir, type TapLike } from '../support/harness.js';
import { FakeFreeswitchInbound } from '../support/fake-freeswitch-inbound.js';

const PASSWORD = 'cli-esl-pw-4410';

const cli = (argv: string[]) => captureCli(argv);

const verdict: Verdict = {
  action: 'quarantine',
  normalized: '+15557770001',
  rule: { id: 1, kind: 'exact', value: '+15557770001' },
  reason: 'listed',
};

async function setup(t: TapLike) {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  const org = await s.orgs.require('demo');
  const id = await new QuarantineService(s.db, s.audit, s.clock, null).hold({
    orgId: org.id,
    fromRaw: '"Spam" <sip:+15557770001@carrier.example>;tag=zz1',
    to: '+15550100',
    body: 'please call back',
    deliverTo: 'sip/external/+15550100@pbx.example',
    verdict,
    adapter: 'esl-sms',
  });
  // What a running daemon left in FreeSWITCH: screening on, its watchdog task pending.
  const fake = new FakeFreeswitchInbound({ password: PASSWORD, vars: { callscreen_sms: 'screen' } });
  await fake.listen();
  fake.apiReply('sched_api +15 callscreen_watchdog global_setvar callscreen_sms=off'); // the daemon's task, as its login scheduled it
  t.teardown(() => fake.close());
  const conf = (extra: string): string => {
    const file = join(tempDir(t), 'c.toml');
    writeFileSync(file, `[store]\npath = ${JSON.stringify(s.dbPath)}\n[log]\nlevel = "silent"\n${extra}`);
    return file;
  };
  const status = async (): Promise<string> =>
    (await s.db.get<{ status: string }>('SELECT status FROM quarantine WHERE id = ?', [id]))?.status ?? '';
  return { s, id, fake, conf, status };
}

t.test(
  'release with [esl_inbound]: one login, one sendevent to where it was going, exit; the row says released',
  async (t) => {
    const { id, fake, conf, status } = await setup(t);
    const file = conf(`[esl_inbound]\nenabled = true\nport = ${fake.port}\npassword = "${PASSWORD}"\n`);
    const r = await cli(['--config', file, 'quarantine', 'release', String(id), '--org', 'demo', '--by', 'sup']);
    t.equal(r.code, 0, r.err);
    t.equal(r.out, `released message ${id} from +15557770001 to sip/external/+15550100@pbx.example\n`);
    t.same(
      fake.received.map((c) => c.line),
      [`auth ${PASSWORD}`, 'sendevent CUSTOM', 'exit'],
      "recorded exchange: no event subscription, no global_setvar, no sched_*: the daemon's screening switch is not the CLI's",
    );
    t.same(fake.received[1]?.headers, {
      'Event-Subclass': 'SMS::SEND_MESSAGE',
      dest_proto: 'sip',
      proto: 'sip',
      from: '+15557770001@carrier.example',
      from_user: '+15557770001',
      from_host: 'carrier.example',
      from_full: '"Spam" <sip:+15557770001@carrier.example>',
      to: 'external/+15550100@pbx.example',
      type: 'text/plain',
      callscreen: 'screened',
      'Content-Length': '16',
    });
    t.equal(fake.received[1]?.body, 'please call back');
    t.equal(fake.globals.get('callscreen_sms'), 'screen', 'screening still on');
    t.same(
      fake.tasks.map((x) => x.group),
      ['callscreen_watchdog'],
      "the daemon's watchdog task still pending",
    );
    t.equal(await status(), 'released');
    t.notMatch(r.out + r.err, PASSWORD);
  },
);

t.test(
  'FreeSWITCH unreachable or the password wrong: CS_ERR_UNAVAILABLE, exit 69, the message stays held',
  async (t) => {
    const { id, fake, conf, status } = await setup(t);
    const wrong = await cli([
      '--config',
      conf(`[esl_inbound]\nenabled = true\nport = ${fake.port}\npassword = "not-it"\n`),
      'quarantine',
      'release',
      String(id),
      '--org',
      'demo',
      '--by',
      'sup',
    ]);
    t.equal(wrong.code, 69, wrong.err);
    t.match(
      wrong.err,
      /CS_ERR_UNAVAILABLE: cannot log in to FreeSWITCH's Event Socket at 127\.0\.0\.1:\d+ to deliver the message; it stays held/,
    );
    t.notMatch(wrong.err, 'not-it', 'the password is not printed');
    t.equal(fake.named('sendevent').length, 0);

    const port = fake.port;
    await fake.down();
    const down = await cli([
      '--config',
      conf(`[esl_inbound]\nenabled = true\nport = ${port}\npassword = "${PASSWORD}"\n`),
      'quarantine',
      'release',
      String(id),
      '--org',
      'demo',
      '--by',
      'sup',
    ]);
    t.equal(down.code, 69, down.err);
    t.match(down.err, /CS_ERR_UNAVAILABLE: cannot log in to FreeSWITCH's Event Socket/);
    t.equal(await status(), 'held');
  },
);

t.test('[ami] and [esl_inbound] both enabled: AMI is used, as in the daemon', async (t) => {
  const { id, fake, conf, status } = await setup(t);
  const file = conf(
    `[ami]\nenabled = true\nport = 1\nsecret = "x"\naction_timeout_ms = 300\n[esl_inbound]\nenabled = true\nport = ${fake.port}\npassword = "${PASSWORD}"\n`,
  );
  const r = await cli(['--config', file, 'quarantine', 'release', String(id), '--org', 'demo', '--by', 'sup']);
  t.equal(r.code, 69, r.err);
  t.match(r.err, /CS_ERR_UNAVAILABLE: cannot log in to AMI/);
  t.equal(fake.connections, 0, 'the Event Socket was not tried');
  t.equal(await status(), 'held');
});
