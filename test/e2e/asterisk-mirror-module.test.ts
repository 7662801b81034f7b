// callscreen's Asterisk module (func_callscreen.so: CALLSCREEN_MIRROR(); docs/asterisk-contract.md
// "The module") in the real Asterisk 22 sandbox, which scripts/pbx-sandbox builds it for. The
// randomized comparison of test/pbx/asterisk/astdb-mirror-differential.test.ts, against the real
// thing: random rules (test/support/mirror-scenario.ts) written by the real daemon's mirror into the
// real AstDB, then random calls — every caller form of the org's region (US, GB, DE by seed), own
// DIDs spoofed, odd numbers, Privacy, hostile P-Asserted-Identity and Remote-Party-ID — put to the
// module's steps through CALLSCREEN_MIRROR_CHECK() over AMI Getvar, and compared
//  1. with the contract's dialplan priorities (test/support/mirror-dialplan.ts) over the same AstDB,
//     read back from Asterisk: the module and the dialplan form must answer every call alike, the
//     calls they leave to FastAGI included;
//  2. where the module answers, with the daemon's own verdict.
// The list is then changed and both compared again. The module's CallScreenDBPut (a sync's keys
// many to an action) is checked for what it stores and what it refuses. CALLSCREEN_MIRROR() on real calls (the channel's
// caller ID, its INVITE's headers, the event the daemon records from) is proven by
// asterisk-astdb-mirror.test.ts and test/faults/sip-headers-hostile.test.ts, which run with the module
// loaded and again without it.
//
// Needs root (chroot); shares the sandbox lock with the other sandbox tests. CALLSCREEN_SKIP_SANDBOX=1 skips.
import t, { type Test } from 'tap';
import { AmiClient } from '../../daemon/pbx/asterisk/ami-client.js';
import { field } from '../../daemon/pbx/asterisk/ami-protocol.js';
import { sandboxTest } from '../support/asterisk-suite.js';
import { startMirroredAsteriskDaemon, type MirroredAsteriskDaemon } from '../support/asterisk-mirror-daemon.js';
import { cliActor, services, silentLogger, until, wallClock } from '../support/harness.js';
import { mirrorAnswer } from '../support/mirror-dialplan.js';
import {
  checkMirrorCoverage,
  daemonAnswer,
  MIRROR_REGIONS,
  mirrorScenario,
  sameAnswer,
  type MirrorAnswerText,
  type MirrorCase,
  type MirrorTotals,
} from '../support/mirror-scenario.js';
import { prng } from '../support/prng.js';
import * as sandbox from '../support/pbx-sandbox.js';

t.setTimeout(10 * 60_000);

const DIDS = sandbox.SANDBOX.dids.slice(0, 2);
const ROUNDS = 3;
const CALLS_PER_ROUND = 200;

/** The mirror's family as Asterisk holds it now (`database show`), keys without the family. */
async function astdbSnapshot(): Promise<Map<string, string>> {
  const out = await sandbox.rx('database show callscreen');
  const db = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^\/callscreen\/(\S+)\s*: (.*?)\s*$/.exec(line);
    if (m) db.set(m[1]!, m[2]!);
  }
  return db;
}

/** Waits until the mirror is live and has written nothing for 1 s (the change feed polls every 50 ms). */
async function settled(d: MirroredAsteriskDaemon): Promise<boolean> {
  let last = '';
  let stableSince = Date.now();
  return until(
    () => {
      const { state, detail } = d.mirror();
      const now = `${state} ${detail.puts} ${detail.deletes} ${detail.fullSyncs} ${detail.resyncs}`;
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
      return state === 'live' && Date.now() - stableSince >= 1000;
    },
    60_000,
    100,
  );
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/**
 * An AMI client of the sandbox (config/asterisk/manager.conf): by default its check user (Getvar
 * needs write class reporting); `callscreen`, the daemon's, for what needs class system.
 */
function checkClient(t: Test, username = 'callscreen-check'): AmiClient {
  const ami = new AmiClient(
    {
      host: sandbox.SANDBOX.ami.host,
      port: 5038,
      username,
      secret: 'callscreen-sandbox',
      actionTimeoutMs: 30_000,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
      keepaliveMs: 60_000,
    },
    silentLogger(),
  );
  t.teardown(() => ami.stop());
  return ami;
}

/** Over all seeds: one seed's rules may leave the mirror little to answer (an allow prefix over the space, a pattern). */
const totals: MirrorTotals = { calls: 0, answered: 0, national: 0, withHeaders: 0 };

for (const seed of [1, 2, 3])
  void sandboxTest(t, `seed ${seed}: the module answers as the dialplan form and the daemon do`, async (t) => {
    const random = prng(seed);
    const R = MIRROR_REGIONS[seed % MIRROR_REGIONS.length]!;
    t.comment(`region ${R.region}`);
    const s = await services(t, { clock: wallClock(t) });
    await s.orgs.add('demo', 'Demo', R.region, cliActor);
    await s.orgs.addDids('demo', [...sandbox.SANDBOX.dids], cliActor);
    const { change, call } = mirrorScenario(random, s, R, DIDS);
    for (let i = 0; i < 25; i++) await change();

    const d = await startMirroredAsteriskDaemon(t, s);
    t.ok(d.live, 'the mirror synced and went live');
    t.match(await sandbox.rx('module show like func_callscreen'), /func_callscreen\.so/, 'the module is loaded');

    const ami = checkClient(t);
    await ami.start();
    await ami.whenConnected(60_000);
    const moduleAnswer = async (c: MirrorCase): Promise<MirrorAnswerText> => {
      const args = ['callscreen', c.did, c.from, b64(c.privacy), b64(c.pai), b64(c.rpid)].join(',');
      const res = await ami.action('Getvar', { Variable: `CALLSCREEN_MIRROR_CHECK(${args})` });
      const value = field(res, 'Value') ?? '';
      if (value === 'fastagi') return value;
      const bar = value.indexOf('|');
      if (bar < 0) throw new Error(`CALLSCREEN_MIRROR_CHECK(${args}) answered ${JSON.stringify(value)}`);
      return { action: value.slice(0, bar), detail: value.slice(bar + 1) };
    };

    let answered = 0;
    let national = 0;
    let withHeaders = 0;
    const unlike: string[] = [];
    const mismatches: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      t.ok(await settled(d), `round ${round}: the mirror has applied the list`);
      const db = await astdbSnapshot();
      for (let i = 0; i < CALLS_PER_ROUND; i++) {
        const c = call();
        const m = await moduleAnswer(c);
        const model = mirrorAnswer(db, {
          caller: c.from,
          did: c.did,
          privacy: c.privacy,
          pai: c.pai,
          rpid: c.rpid,
          nowMs: Date.now(),
        });
        if (JSON.stringify(m) !== JSON.stringify(model))
          unlike.push(
            `round ${round}: ${JSON.stringify(c)} → module ${JSON.stringify(m)}, dialplan ${JSON.stringify(model)}`,
          );
        if (m === 'fastagi') continue;
        answered++;
        if (!c.from.startsWith('+')) national++;
        if (c.pai !== '' || c.rpid !== '') withHeaders++;
        const v = daemonAnswer(d.ctx.screener, c, `m${round}-${i}`);
        if (!sameAnswer(m, v))
          mismatches.push(
            `round ${round}: ${c.from} → module ${m.action} ${m.detail}, daemon ${v.action} ${v.detail} (${v.reason})`,
          );
      }
      for (let i = 0; i < 12; i++) await change();
    }
    t.same(unlike.slice(0, 10), [], `the module and the dialplan form answer alike (${unlike.length} differed)`);
    t.same(mismatches.slice(0, 10), [], `no answer differs from the daemon's (${mismatches.length} of ${answered})`);
    t.comment(
      `the module answered ${answered} of ${ROUNDS * CALLS_PER_ROUND} calls: ${national} in national or trunk-prefixed form, ${withHeaders} with PAI or Remote-Party-ID`,
    );
    totals.calls += ROUNDS * CALLS_PER_ROUND;
    totals.answered += answered;
    totals.national += national;
    totals.withHeaders += withHeaders;
  });

void sandboxTest(
  t,
  'across the seeds the module answered a good share of the calls, so the comparison means something',
  async (t) => checkMirrorCoverage(t, totals),
);

void sandboxTest(t, 'what the module leaves to FastAGI that the dialplan form might not', async (t) => {
  const s = await services(t, { clock: wallClock(t) });
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', [...sandbox.SANDBOX.dids], cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15557770001' }, { mode: 'reject' }, cliActor);
  const d = await startMirroredAsteriskDaemon(t, s);
  t.ok(d.live, 'the mirror synced and went live');
  const ami = checkClient(t);
  await ami.start();
  await ami.whenConnected(60_000);
  const check = async (args: string): Promise<string> =>
    field(await ami.action('Getvar', { Variable: `CALLSCREEN_MIRROR_CHECK(${args})` }), 'Value') ?? '';
  const did = DIDS[0] ?? '';

  t.match(await check(`callscreen,${did},+15557770001`), /^reject\|/, 'a listed caller is answered');
  t.equal(await check(`callscreen,${did},+15557770002`), 'allow|', 'an unlisted one is allowed: the org is complete');
  t.equal(await check(`callscreen,${did},+1${'5'.repeat(70)}`), 'fastagi', 'a caller ID of 64 characters or more');
  t.equal(await check(`callscreen,+15559999999,+15557770002`), 'fastagi', 'a DID no org owns');
  t.equal(await check(`callscreen,${did},+15557770002,${b64('id')}`), 'fastagi', 'Privacy: id');
  t.equal(await check(`callscreen/x,${did},+15557770002`), '', 'a family with "/" is refused (the function fails)');

  // A complete/ pattern that does not compile (written by hand: the daemon never writes one): the
  // dialplan's REGEX() would fail and its expression be read as "no match"; the module asks FastAGI.
  await sandbox.rx('database put callscreen complete/demo ^([');
  t.equal(await check(`callscreen,${did},+15557770002`), 'fastagi', 'a pattern that does not compile: FastAGI');
  t.equal(await check(`callscreen,${did},+15557770003`), 'fastagi', 'and for the next caller too');
  t.match(await check(`callscreen,${did},+15557770001`), /^reject\|/, 'listed callers are still answered');
});

void sandboxTest(
  t,
  "CallScreenDBPut stores a sync's keys many to an action, and refuses a short count whole",
  async (t) => {
    // No daemon here to start the sandbox (and take its lock): the test does.
    await sandbox.start({ failMode: 'open' });
    t.teardown(() => sandbox.stop());
    const ami = checkClient(t, 'callscreen');
    await ami.start();
    await ami.whenConnected(60_000);
    const family = 'callscreen-put-test';
    const cleanUp = (): Promise<unknown> => ami.action('DBDelTree', { Family: family }).catch(() => undefined);
    await cleanUp();
    t.teardown(cleanUp);
    const put = (lines: readonly string[], count = lines.length, f = family): Promise<string> =>
      ami.action('CallScreenDBPut', { Family: f, Count: String(count), Put: lines }).then(
        (m) => field(m, 'Message') ?? '',
        (err: unknown) => `refused: ${(err as Error).message}`,
      );
    const get = (key: string): Promise<string | null> => sandbox.astdbGet(family, key);

    t.equal(await put([]), 'Stored', 'Count 0: the daemon asks with it whether the module is loaded');
    t.equal(
      await put([
        'n/demo/+15557770001 reject|607|exact:12|',
        'did/+15550100 demo',
        'n/demo/+15557770002 a value with spaces',
      ]),
      'Stored',
    );
    t.equal(await get('n/demo/+15557770001'), 'reject|607|exact:12|');
    t.equal(await get('did/+15550100'), 'demo');
    t.equal(
      await get('n/demo/+15557770002'),
      'a value with spaces',
      'the value is the rest of the line, spaces and all',
    );

    const many = Array.from({ length: 120 }, (_, i) => `n/many/${String(i)} v${String(i)}`);
    t.equal(await put(many), 'Stored', '120 keys, the most one action carries');
    const stored = await sandbox.rx(`database show ${family} n/many`);
    t.equal((stored.match(/^\/callscreen-put-test\/n\/many\//gm) ?? []).length, 120, 'all 120 in AstDB');

    t.match(
      await put(['n/short/1 a', 'n/short/2 b'], 3),
      /refused: .*Count says 3 Put lines, 2 arrived: nothing stored/,
      'a line lost on the way (Count says more): refused',
    );
    t.equal(await get('n/short/1'), null, 'and nothing of it stored');
    t.match(await put([...many, 'n/many/120 x']), /refused: .*Count: the number of Put lines, 0 to 120/, '121 keys');
    t.match(await put(['n/k1 a', 'n/k2 b', '']), /refused: .*Put line 3: no key: nothing stored/);
    t.equal(await get('n/k1'), null, 'a line without a key: nothing of the action stored');
    t.match(await put(['n/x 1'], 1, 'a/b'), /refused: .*Family/, 'a family with "/"');
    t.match(
      await put(['n/k3 a', `n/${'k'.repeat(600)} v`]),
      /refused: .*Put line 2: key too long: nothing stored/,
      'a key longer than the module reads',
    );
    t.equal(await get('n/k3'), null, 'and nothing of that action stored either');
  },
);
