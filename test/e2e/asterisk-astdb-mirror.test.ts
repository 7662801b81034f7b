// The AstDB mirror (`[ami] astdb_mirror = true`) against a real Asterisk 22: the daemon writes the
// verdicts of listed numbers into AstDB over AMI, the mirror's priorities at the top of the sandbox's
// inbound dialplan answer those calls without FastAGI, and the daemon records them from the
// UserEvent. Proves: mirror hits (reject with the org's code, voicemail), unlisted callers allowed
// in-process only while the org is "complete", callers the mirror must not answer (Privacy: id)
// going to FastAGI — identity header names in any case included (a case-sensitive check of the names
// PJSIP_HEADERS() lists fails 6 of that subtest's assertions: checked once by hand) —, changes reaching AstDB (a prefix block is excluded from completeness — callers
// under it go to FastAGI, the others are still allowed in-process —, an unblock removes the key), and a stopped daemon withdrawing its heartbeat so calls fall back at once.
//
// Runs once with callscreen's module answering (docs/asterisk-contract.md "The module") and storing
// the sync's keys many to an action (CallScreenDBPut), once with the dialplan's own priorities and
// one DBPut a key.
//
// Needs root (chroot); shares the sandbox lock with the other sandbox tests. CALLSCREEN_SKIP_SANDBOX=1 skips.
import t, { type Test } from 'tap';
import type { ScreenedRow } from '../../daemon/services/screen-recorder.js';
import { demoServices, sandboxTest, startAsteriskDaemon } from '../support/asterisk-suite.js';
import { SANDBOX_MIRROR_TOML } from '../support/asterisk-mirror-daemon.js';
import { captureLogger, cliActor, until, wallClock } from '../support/harness.js';
import { must } from '../support/must.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { describeSipp, runSipp, type SippResult } from '../support/sipp.js';

t.setTimeout(10 * 60_000);

const REJECTED = '+15557770001';
const VOICEMAIL = '+15557770003';
const UNLISTED = '+15557770004';
const PREFIX = '+1555888';

const inbound = (caller: string, did: string, scenario = 'inbound-call.xml'): Promise<SippResult> =>
  runSipp({ scenario, remote: sandbox.SANDBOX.sip, bindIp: sandbox.SANDBOX.carrierIp, caller, did, timeoutSec: 20 });
const disposition = (r: SippResult): string | undefined => r.records.find((x) => x.kind === 'RESULT')?.disposition;

/** A key of the mirror's family, or null when it is not there. */
const astdb = (key: string): Promise<string | null> => sandbox.astdbGet('callscreen', key);

/** How the sandbox's dialplan reads the mirror: callscreen's module, or its own priorities. */
type Form = 'module' | 'dialplan';

// Twice: the mirror read by callscreen's module (CALLSCREEN_MIRROR(), which scripts/pbx-sandbox
// builds and loads), then by the dialplan's own priorities with the module unloaded (the sandbox's
// from-carrier takes the module's priority only while IFMODULE() says it is loaded).
for (const form of ['module', 'dialplan'] as const)
  void sandboxTest(
    t,
    `calls answered from the AstDB mirror, through a real Asterisk (${form === 'module' ? "callscreen's module" : "the dialplan's own priorities"})`,
    (t) => suite(t, form),
  );

async function suite(t: Test, form: Form): Promise<void> {
  // Asterisk compares the heartbeat with its own ${EPOCH}: the daemon's clock follows the wall clock.
  const s = await demoServices(t, { clock: wallClock(t) });
  await s.orgs.updateSettings('demo', { rejectCode: 607 }, cliActor);
  const rejectEntry = await s.blocklist.block(
    'demo',
    { kind: 'exact', number: REJECTED },
    { mode: 'reject', name: 'Robocaller', reason: 'spam' },
    cliActor,
  );
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: VOICEMAIL },
    { mode: 'voicemail', reason: 'ex-customer' },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'unidentified' }, { mode: 'voicemail', reason: 'no caller id' }, cliActor);

  // The sandbox (and its lock) first: another test file's sandbox.stop() drops the callscreen family,
  // which would wipe a mirror synced before this file holds the lock.
  const { logger, lines } = captureLogger('info');
  const { ctx, daemon, agi } = await startAsteriskDaemon(t, s, {
    sandboxFirst: true,
    defaultOrg: false,
    logger,
    toml: SANDBOX_MIRROR_TOML,
  });

  if (form === 'dialplan') await sandbox.withoutMirrorModule(t);
  t.equal(
    await sandbox.mirrorModuleLoaded(),
    form === 'module',
    `callscreen's module ${form === 'module' ? 'loaded' : 'unloaded'}`,
  );

  const mirrorState = (): unknown =>
    [...lines].reverse().find((l) => l.component === 'astdb-mirror' && typeof l.to === 'string')?.to;
  t.ok(await until(() => mirrorState() === 'live', 15_000, 20), 'the mirror synced and went live');

  t.equal(
    await astdb(`n/demo/${REJECTED}`),
    `reject|607|exact:${rejectEntry.id}|`,
    'a blocked number: action, SIP code, rule',
  );
  t.match(await astdb(`n/demo/${VOICEMAIL}`), /^voicemail\|\|exact:\d+\|$/);
  t.equal(await astdb(`n/demo/${UNLISTED}`), null, 'an unlisted number is not written');
  t.equal(await astdb('did/+15550100'), 'demo', 'DIDs name their org');
  const complete = await astdb('complete/demo');
  t.ok(
    complete !== null && !new RegExp(complete).test(UNLISTED) && new RegExp(complete).test(UNLISTED.slice(2)),
    `no prefix block, no timed block: an E.164 miss means allow; a caller without "+" is read through national/ first (${String(complete)})`,
  );
  t.equal(await astdb(`n/demo/${REJECTED.slice(2)}`), null, 'one key per number: no national form written');
  t.match(
    await astdb('national/demo'),
    /^1\|1\|\^\(/,
    'how region US reads national callers: calling code 1, trunk prefix 1, the pattern of what goes to FastAGI',
  );
  const alive = Number(await astdb('alive'));
  t.ok(alive * 1000 > Date.now(), `heartbeat in the future (${alive})`);

  const agiCalls = (): number => agi.counters.accepted;
  const records = async (): Promise<ScreenedRow[]> => {
    await ctx.recorder.flush();
    return ctx.db.all<ScreenedRow>('SELECT * FROM screened ORDER BY id');
  };

  await t.test('a blocked caller is rejected from the mirror with the org’s code, FastAGI not asked', async (t) => {
    const before = agiCalls();
    const r = await inbound(REJECTED, '+15550100');
    t.same(r.codes, [607], describeSipp(r));
    t.equal(agiCalls(), before, 'no FastAGI session');
    t.ok(
      await until(
        async () => (await records()).some((x) => x.number === REJECTED && x.adapter === 'astdb-mirror'),
        5000,
      ),
      'recorded from the UserEvent',
    );
    const rec = must(
      (await records()).find((x) => x.number === REJECTED),
      'the call record of the rejected caller',
    );
    t.match(rec, {
      action: 'reject',
      rule_kind: 'exact',
      rule_id: String(rejectEntry.id),
      to_raw: '+15550100',
      adapter: 'astdb-mirror',
    });
    t.ok(rec.call_id, 'with Asterisk’s unique id');
    t.ok(
      lines.some(
        (l) => l.msg === 'screened' && l.adapter === 'astdb-mirror' && l.from === REJECTED && l.org === 'demo',
      ),
      'logged with org, call id, from, to and the verdict',
    );
  });

  await t.test('a voicemail-mode caller reaches voicemail from the mirror', async (t) => {
    const before = agiCalls();
    const r = await inbound(VOICEMAIL, '+15550101');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'voicemail');
    t.equal(agiCalls(), before, 'no FastAGI session');
  });

  await t.test('an unlisted caller is allowed in-process while the org is complete', async (t) => {
    const before = agiCalls();
    const r = await inbound(UNLISTED, '+15550102');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'allow');
    t.equal(agiCalls(), before, 'no FastAGI session');
    t.ok(
      await until(
        async () =>
          (await records()).some((x) => x.number === UNLISTED && x.action === 'allow' && x.adapter === 'astdb-mirror'),
        5000,
      ),
      'recorded as allowed',
    );
  });

  await t.test('national and trunk-prefixed caller IDs are answered by the mirror too', async (t) => {
    const before = agiCalls();
    const r = await inbound(REJECTED.slice(2), '+15550103');
    t.same(r.codes, [607], describeSipp(r));
    const trunk = await inbound(VOICEMAIL.slice(1), '+15550103');
    t.same(trunk.codes, [200], describeSipp(trunk));
    t.equal(disposition(trunk), 'voicemail');
    const unlisted = await inbound(UNLISTED.slice(2), '+15550103');
    t.same(unlisted.codes, [200], describeSipp(unlisted));
    t.equal(disposition(unlisted), 'allow');
    t.equal(agiCalls(), before, 'no FastAGI session');
    t.ok(
      await until(
        async () =>
          (await records()).some(
            (x) => x.from_raw === REJECTED.slice(2) && x.number === REJECTED && x.adapter === 'astdb-mirror',
          ),
        5000,
      ),
      'recorded as the daemon reads it (E.164)',
    );
    const short = await inbound('72345', '+15550103');
    t.same(short.codes, [200], describeSipp(short));
    t.equal(agiCalls(), before + 1, 'a short code is not a national form: FastAGI');
  });

  await t.test(
    'a withheld caller (Privacy: id) is not the mirror’s: FastAGI applies the unidentified rule',
    async (t) => {
      const before = agiCalls();
      const r = await inbound(REJECTED, '+15550103', 'inbound-call-withheld.xml');
      t.same(r.codes, [200], describeSipp(r));
      t.equal(disposition(r), 'voicemail');
      t.equal(agiCalls(), before + 1, 'one FastAGI session');
    },
  );

  await t.test(
    'identity header names in any case: the mirror leaves to FastAGI what the daemon reads differently',
    async (t) => {
      // SIP header names are case-insensitive; the dialplan lists them once with PJSIP_HEADERS() and
      // reads the three identity headers only when one of their names is there (upper-cased first).
      const cases: Array<{
        name: string;
        from: string;
        header: string;
        code: number;
        disposition?: string;
        mirror: boolean;
      }> = [
        {
          name: 'privacy: id',
          from: UNLISTED,
          header: 'privacy: id',
          code: 200,
          disposition: 'voicemail',
          mirror: false,
        },
        {
          name: 'p-asserted-identity naming a blocked number',
          from: UNLISTED,
          header: `p-asserted-identity: <sip:${REJECTED}@${sandbox.SANDBOX.carrierIp}>`,
          code: 607,
          mirror: false,
        },
        {
          name: 'REMOTE-PARTY-ID naming a blocked number',
          from: UNLISTED,
          header: `REMOTE-PARTY-ID: <sip:${REJECTED}@${sandbox.SANDBOX.carrierIp}>;party=calling`,
          code: 607,
          mirror: false,
        },
        {
          name: 'P-asserted-IDENTITY asserting the caller ID',
          from: REJECTED,
          header: `P-asserted-IDENTITY: <sip:${REJECTED}@${sandbox.SANDBOX.carrierIp}>`,
          code: 607,
          mirror: true,
        },
        {
          name: 'a name holding PRIVACY (X-Privacy-Note): the headers are read, and found harmless',
          from: REJECTED,
          header: 'X-Privacy-Note: nothing',
          code: 607,
          mirror: true,
        },
      ];
      for (const c of cases) {
        const before = agiCalls();
        const r = await runSipp({
          scenario: 'inbound-call-hostile-from.xml',
          remote: sandbox.SANDBOX.sip,
          bindIp: sandbox.SANDBOX.carrierIp,
          caller: 'mixed-case',
          did: '+15550107',
          timeoutSec: 20,
          extraArgs: [
            '-key',
            'cs_from',
            `<sip:${c.from}@${sandbox.SANDBOX.carrierIp}>`,
            '-key',
            'cs_h1',
            c.header,
            '-key',
            'cs_h2',
            'X-Callscreen-Pad: -',
          ],
        });
        t.same(r.codes, [c.code], `${c.name}: ${describeSipp(r)}`);
        if (c.disposition !== undefined) t.equal(disposition(r), c.disposition, `${c.name}: disposition`);
        t.equal(
          agiCalls(),
          before + (c.mirror ? 0 : 1),
          `${c.name}: ${c.mirror ? 'answered by the mirror' : 'FastAGI'}`,
        );
      }
    },
  );

  await t.test(
    'a prefix block is excluded: callers under it go to FastAGI, other unlisted callers stay in-process',
    async (t) => {
      await ctx.blocklist.block(
        'demo',
        { kind: 'prefix', prefix: PREFIX },
        { mode: 'reject', reason: 'range' },
        cliActor,
      );
      await ctx.feed.poll();
      const excludesPrefix = async (): Promise<boolean> => {
        const p = await astdb('complete/demo');
        return (
          p !== null &&
          [`${PREFIX}0001`, `${PREFIX.slice(2)}0001`, `${PREFIX.slice(1)}0001`].every((c) => new RegExp(p).test(c)) &&
          !new RegExp(p).test(UNLISTED)
        );
      };
      t.ok(await until(excludesPrefix, 5000, 50), 'complete/demo excludes the prefix, in every form');
      t.equal(await astdb(`n/demo/${REJECTED}`), `reject|607|exact:${rejectEntry.id}|`, 'listed numbers written again');
      t.equal(
        [...lines].reverse().find((l) => typeof l.putAction === 'string')?.putAction,
        form === 'module' ? 'CallScreenDBPut' : 'DBPut',
        form === 'module'
          ? "the org's keys written many to an action by the module's CallScreenDBPut"
          : 'the module unloaded: one DBPut a key (Asterisk refused CallScreenDBPut as unknown)',
      );
      let before = agiCalls();
      const r = await inbound(`${PREFIX}0001`, '+15550104');
      t.same(r.codes, [607], describeSipp(r));
      t.equal(agiCalls(), before + 1, 'answered by FastAGI');
      before = agiCalls();
      const hit = await inbound(REJECTED, '+15550104');
      t.same(hit.codes, [607], 'a listed number is still answered by the mirror');
      t.equal(agiCalls(), before, 'without FastAGI');
      before = agiCalls();
      const other = await inbound(UNLISTED, '+15550104');
      t.same(other.codes, [200], describeSipp(other));
      t.equal(disposition(other), 'allow');
      t.equal(agiCalls(), before, 'an unlisted caller outside the prefix is still allowed by the mirror');

      await ctx.blocklist.unblock('demo', { kind: 'prefix', prefix: PREFIX }, cliActor);
      await ctx.feed.poll();
      t.ok(
        await until(async () => !(await excludesPrefix()) && (await astdb('complete/demo')) !== null, 5000, 50),
        'nothing excluded once the prefix is gone',
      );
    },
  );

  await t.test('an unblocked number leaves the mirror within the change feed’s poll', async (t) => {
    await ctx.blocklist.unblock('demo', { kind: 'exact', number: REJECTED }, cliActor);
    const t0 = Date.now();
    await ctx.feed.poll();
    t.ok(await until(async () => (await astdb(`n/demo/${REJECTED}`)) === null, 5000, 10), 'key deleted');
    t.comment(`unblock → AstDB key gone in ${Date.now() - t0} ms`);
    const before = agiCalls();
    const r = await inbound(REJECTED, '+15550105');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'allow');
    t.equal(agiCalls(), before, 'allowed by the mirror (complete), no FastAGI');
  });

  await t.test(
    'a stopped daemon withdraws its heartbeat: calls go to FastAGI (here unreachable: fail open)',
    async (t) => {
      await daemon.stop();
      t.equal(await astdb('alive'), null, 'alive deleted on stop');
      const r = await inbound(VOICEMAIL, '+15550106');
      t.same(r.codes, [200], describeSipp(r));
      t.equal(disposition(r), 'fail-open', 'the mirror was not used once the daemon had gone');
    },
  );
}
