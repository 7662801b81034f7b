// The SMS screening switch's watchdog inside FreeSWITCH, end to end: a real daemon (SQLite file,
// quarantine) whose PBX links come from main.ts buildPbxLinks with [esl_inbound] enabled and manual
// one-shot timers (renewals, backoff, command timeouts move only when the test says), logged in to
// test/support/fake-freeswitch-inbound.ts, which models mod_commands' global variables and the core
// scheduler on its own virtual clock, and plays the chatplan snippet against `callscreen_sms`.
// "The daemon is killed" = its connection is cut and its timers never move again: what FreeSWITCH
// sees of a SIGKILLed process (the kernel closes its socket) and of one that never comes back.
import t, { type Test } from 'tap';
import { Daemon, buildPbxLinks, type PbxLinks } from '../../../daemon/main.js';
import type { DaemonContext } from '../../../daemon/daemon-context.js';
import { EslInboundClient } from '../../../daemon/pbx/freeswitch/esl-inbound-client.js';
import { EslSmsScreener, type EslSmsOutcome } from '../../../daemon/pbx/freeswitch/esl-sms-screener.js';
import { EslSmsWatchdog } from '../../../daemon/pbx/freeswitch/esl-sms-watchdog.js';
import { captureLogger, cliActor, services, testConfig } from '../../support/harness.js';
import { chatplanMessage, FakeFreeswitchInbound } from '../../support/fake-freeswitch-inbound.js';
import { ManualClock } from '../../support/manual-clock.js';

const PASSWORD = 'fs-watchdog-pw-7731';

interface Rig {
  ctx: DaemonContext;
  daemon: Daemon;
  fake: FakeFreeswitchInbound;
  timers: ManualClock;
  sms: EslSmsScreener;
  client: EslInboundClient;
  watchdog: EslSmsWatchdog;
  lines: Array<Record<string, unknown>>;
}

const round = (w: EslSmsWatchdog): Promise<boolean> =>
  new Promise((resolve) => {
    const off = w.onRound((armed) => {
      off();
      resolve(armed);
    });
  });

async function rig(t: Test, toml = '', before: (fake: FakeFreeswitchInbound) => void = () => undefined): Promise<Rig> {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', name: 'Spam Inc', reason: 'robocalls' },
    cliActor,
  );
  const fake = new FakeFreeswitchInbound({ password: PASSWORD });
  before(fake);
  await fake.listen();
  const timers = new ManualClock();
  const { logger, lines } = captureLogger('debug');
  let links: PbxLinks | undefined;
  const config = testConfig(
    s.dbPath,
    `[esl_inbound]\nenabled = true\nport = ${fake.port}\npassword = "${PASSWORD}"\n${toml}`,
  );
  const daemon = new Daemon(config, logger, {
    clock: s.clock,
    timers: new ManualClock(),
    components: () => [],
    pbxLinks: (c, l, sv, sc) => (links = buildPbxLinks(c, l, sv, sc, timers)),
  });
  const parts = {
    sms: null as EslSmsScreener | null,
    client: null as EslInboundClient | null,
    watchdog: null as EslSmsWatchdog | null,
  };
  const ctxP = daemon.start();
  // The peer is closed even when stopping throws: its listener would keep the process alive.
  t.teardown(async () => {
    try {
      await daemon.stop();
    } finally {
      await fake.close();
    }
  });
  const ctx = await ctxP;
  for (const c of links?.components ?? []) {
    if (c instanceof EslSmsScreener) parts.sms = c;
    if (c instanceof EslInboundClient) parts.client = c;
    if (c instanceof EslSmsWatchdog) parts.watchdog = c;
  }
  const { sms, client, watchdog } = parts;
  if (!sms || !client || !watchdog) throw new Error('missing a part of the Event Socket link');
  // The login's round (arm, switch on) ends after the client is ready: wait for it, not for time.
  if (!watchdog.health().ok) await round(watchdog);
  return { ctx, daemon, fake, timers, sms, client, watchdog, lines };
}

/** Both clocks on by `ms`; when a renewal is due, waits for it to finish (loopback I/O, not time). */
async function elapse(r: Rig, ms: number, renewal: boolean): Promise<void> {
  r.fake.advance(ms);
  const done = renewal ? round(r.watchdog) : null;
  r.timers.advance(ms);
  await done;
}

const spam = (): Record<string, string> =>
  chatplanMessage({
    callscreen: '',
    from: '+15557770001@carrier.example',
    from_user: '+15557770001',
    from_full: '"Spam" <sip:+15557770001@carrier.example>;tag=zz1',
  });

const outcome = (sms: EslSmsScreener): Promise<EslSmsOutcome> =>
  new Promise((resolve) => {
    const off = sms.onOutcome((o) => {
      off();
      resolve(o);
    });
  });

const held = async (r: Rig): Promise<number> =>
  (await r.ctx.db.get<{ c: number }>('SELECT count(*) AS c FROM quarantine'))?.c ?? -1;

t.test(
  'login: the watchdog task is scheduled before screening is switched on; renewals keep it on, one task at a time',
  async (t) => {
    const r = await rig(t);
    const loginAt = r.fake.clockMs;
    t.same(
      r.fake.received.slice(3).map((c) => c.line),
      [
        'api sched_del callscreen_watchdog',
        'api sched_api +15 callscreen_watchdog global_setvar callscreen_sms=off',
        'api global_setvar callscreen_sms=screen',
      ],
      'tasks of an earlier login deleted, the fallback scheduled at +15 s (watchdog_ms 15000), then screening on',
    );
    t.equal(r.fake.globals.get('callscreen_sms'), 'screen');
    t.same(r.fake.tasks, [
      {
        id: 1,
        group: 'callscreen_watchdog',
        runtime: Math.floor(loginAt / 1000) + 15,
        command: 'global_setvar callscreen_sms=off',
      },
    ]);
    t.same(r.timers.armed(), [5000], 'next renewal in watchdog_ms / 3');

    for (let i = 1; i <= 12; i++) {
      const mark = r.fake.received.length;
      await elapse(r, 5000, true);
      t.same(
        r.fake.received.slice(mark).map((c) => c.line),
        [
          'api sched_api +15 callscreen_watchdog global_setvar callscreen_sms=off',
          `api sched_del ${i}`,
          'api global_setvar callscreen_sms=screen',
        ],
        `renewal ${i}: the new task first, then the previous one deleted by id`,
      );
      t.same(
        r.fake.tasks.map((x) => x.id),
        [i + 1],
        'exactly one task pending',
      );
    }
    t.same(r.fake.ran, [], '60 s of FreeSWITCH time: the task never ran');
    t.equal(r.fake.globals.get('callscreen_sms'), 'screen');
    const got = outcome(r.sms);
    t.equal(r.fake.chatplan(spam(), 'still screened'), 'fired');
    t.match(await got, { outcome: 'held' });
    t.match(r.watchdog.health(), { ok: true, state: 'armed', detail: { renewals: 13, failures: 0, taskId: 13 } });
  },
);

t.test(
  'daemon killed: within 15.5 s FreeSWITCH switches screening off by itself and the next message is delivered unscreened, not lost',
  async (t) => {
    const r = await rig(t);
    await elapse(r, 5000, true);
    const lastRenewal = r.fake.clockMs;
    // SIGKILL: the socket is closed under the daemon (no teardown, no `exit`), and it never runs again.
    r.fake.kick();
    r.fake.advance(13_000);
    t.equal(r.fake.globals.get('callscreen_sms'), 'screen', '13 s later: still on');
    t.equal(
      r.fake.chatplan(spam(), 'in the window'),
      'lost',
      'in the window a fired message reaches nobody: the loss that remains',
    );
    r.fake.advance(2_500);
    t.equal(r.fake.ran.length, 1, 'the watchdog task ran');
    const ranAfter = (r.fake.ran[0]?.atMs ?? 0) - lastRenewal;
    t.ok(
      ranAfter > 14_000 && ranAfter <= 15_500,
      `ran ${ranAfter} ms after the last renewal (whole seconds, 0.5 s ticks)`,
    );
    t.equal(r.fake.globals.get('callscreen_sms'), 'off');

    const body = 'are we still on for 3pm?';
    t.equal(
      r.fake.chatplan(chatplanMessage({ callscreen: '' }), body),
      'delivered',
      'the rest of the chatplan sends it',
    );
    t.equal(r.fake.delivered.at(-1)?.body, body);
    t.equal(await held(r), 0, 'and the daemon, gone, held nothing');
    t.equal(
      r.fake.chatplan(spam(), 'spam'),
      'delivered',
      'unscreened: fail open means the blocked sender gets through too',
    );
  },
);

t.test("fail_mode closed: the watchdog sets closed; messages to DIDs are refused, agents' go out", async (t) => {
  const r = await rig(t, '[screening]\nfail_mode = "closed"\n');
  t.match(r.fake.named('api sched_api'), [
    { line: 'api sched_api +15 callscreen_watchdog global_setvar callscreen_sms=closed' },
  ]);
  r.fake.kick();
  r.fake.advance(15_500);
  t.equal(r.fake.globals.get('callscreen_sms'), 'closed');
  t.equal(r.fake.chatplan(chatplanMessage({ callscreen: '' }), 'to a DID'), 'refused');
  t.equal(
    r.fake.chatplan(chatplanMessage({ callscreen: '', context: 'default' }), 'from an agent', 'outbound'),
    'delivered',
  );
});

t.test(
  'a daemon stalled past the watchdog (connection up): screening goes off, and the next renewal switches it back on',
  async (t) => {
    const r = await rig(t);
    r.fake.advance(16_000); // the daemon's timers do not move: its event loop is stuck
    t.equal(r.fake.globals.get('callscreen_sms'), 'off');
    t.equal(r.fake.chatplan(chatplanMessage({ callscreen: '' }), 'while stuck'), 'delivered');
    const mark = r.fake.received.length;
    const done = round(r.watchdog);
    r.timers.advance(5000);
    t.equal(await done, true);
    t.same(
      r.fake.received.slice(mark).map((c) => c.line),
      [
        'api sched_api +15 callscreen_watchdog global_setvar callscreen_sms=off',
        'api sched_del 1',
        'api global_setvar callscreen_sms=screen',
      ],
    );
    t.equal(r.fake.globals.get('callscreen_sms'), 'screen');
    t.same(
      r.fake.tasks.map((x) => x.id),
      [2],
    );
  },
);

t.test(
  'FreeSWITCH restart: variable and tasks gone (messages unscreened meanwhile); the daemon re-arms on reconnect',
  async (t) => {
    const r = await rig(t);
    const wentDown = new Promise<void>((resolve) => {
      const off = r.client.onState((s) => {
        if (s !== 'backoff') return;
        off();
        resolve();
      });
    });
    await r.fake.restart();
    await wentDown;
    t.equal(r.fake.globals.get('callscreen_sms'), undefined, 'a restarted FreeSWITCH has no callscreen_sms');
    t.same(r.fake.tasks, []);
    t.equal(
      r.fake.chatplan(chatplanMessage({ callscreen: '' }), 'during'),
      'delivered',
      'unscreened until the daemon is back',
    );
    t.same(r.timers.armed().length, 1, 'only the reconnect is timed: no renewal while not logged in');

    const mark = r.fake.received.length;
    await elapse(r, Math.max(...r.timers.armed()), true);
    t.same(
      r.fake.received.slice(mark).map((c) => c.line),
      [
        `auth ${PASSWORD}`,
        'event plain MESSAGE',
        'filter callscreen screen',
        'api sched_del callscreen_watchdog',
        'api sched_api +15 callscreen_watchdog global_setvar callscreen_sms=off',
        'api global_setvar callscreen_sms=screen',
      ],
      'logged in again and re-armed',
    );
    t.equal(r.fake.globals.get('callscreen_sms'), 'screen');
    t.same(
      r.fake.tasks.map((x) => x.id),
      [1],
      "the restarted scheduler's first task",
    );
    const got = outcome(r.sms);
    t.equal(r.fake.chatplan(spam(), 'after'), 'fired');
    t.match(await got, { outcome: 'held' });
  },
);

t.test(
  'FreeSWITCH will not schedule the task: screening is not switched on (messages pass unscreened), an error says why',
  async (t) => {
    const r = await rig(t, '', (fake) => {
      const modelled = fake.apiReply;
      fake.apiReply = (cmd) => (cmd.startsWith('sched_api ') ? '-ERR sched_api Command not found!\n' : modelled(cmd));
    });
    t.equal(r.fake.named('api global_setvar callscreen_sms=screen').length, 0);
    t.equal(r.fake.globals.get('callscreen_sms'), undefined);
    t.equal(r.fake.chatplan(chatplanMessage({ callscreen: '' }), 'x'), 'delivered');
    t.match(
      r.lines.find((l) => l.level === 50),
      {
        msg: /did not schedule the SMS watchdog.*screening not switched on/,
        reply: '-ERR sched_api Command not found!',
      },
    );
    t.match(r.watchdog.health(), { ok: false, state: 'off', detail: { failures: 1 } });
  },
);
