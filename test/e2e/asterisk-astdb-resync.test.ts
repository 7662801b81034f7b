// The AstDB mirror's re-sync from its generation marker against a real Asterisk 22: a daemon syncs
// N numbers in full (the marker `callscreen/gen` written after them), stops, the list changes while
// it is down, and a new daemon on the same database and the same Asterisk reads the marker back
// (DBGet through its session's event filters), replays only the change log since, and answers the
// changed numbers right from the mirror — without rewriting the family. A third start with nothing
// changed costs a handful of actions. Prints what each sync cost (ms, AMI writes): the figures in
// docs/asterisk-contract.md.
//
// Needs root (chroot); shares the sandbox lock with the other sandbox tests. CALLSCREEN_SKIP_SANDBOX=1 skips.
// CALLSCREEN_RESYNC_N: numbers listed (default 100,000).
import t from 'tap';
import { demoServices, sandboxTest } from '../support/asterisk-suite.js';
import { startMirroredAsteriskDaemon } from '../support/asterisk-mirror-daemon.js';
import { cliActor, wallClock } from '../support/harness.js';
import { must } from '../support/must.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { disposition, inbound } from '../support/sandbox-calls.js';
import { describeSipp } from '../support/sipp.js';

t.setTimeout(15 * 60_000);

const N = Number(process.env.CALLSCREEN_RESYNC_N ?? 100_000);
const REJECTED = '+15557770001';
const CHANGED = '+15557770002';
const UNLISTED = '+15557770004';

const astdb = (key: string): Promise<string | null> => sandbox.astdbGet('callscreen', key);

void sandboxTest(
  t,
  'a restarted daemon re-syncs the AstDB mirror from its marker, through a real Asterisk',
  async (t) => {
    const s = await demoServices(t, { clock: wallClock(t) });
    const orgId = must(await s.db.get<{ id: number }>("SELECT id FROM orgs WHERE slug = 'demo'"), 'org demo').id;
    // N listed numbers written straight into the store (the change log records them as any write).
    await s.db.run(
      `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
     INSERT INTO entries (org_id, list, kind, value, mode, created_by, created_at, source)
     SELECT ?, 'block', 'exact', '+1555' || printf('%07d', 2000000 + i), 'reject', 'test', ?, 'import' FROM c`,
      [N - 1, orgId, Date.now()],
    );
    await s.blocklist.block('demo', { kind: 'exact', number: REJECTED }, { mode: 'reject' }, cliActor);

    const a = await startMirroredAsteriskDaemon(t, s);
    t.ok(a.live, 'the first daemon’s mirror went live');
    const full = a.mirror().detail;
    t.equal(full.fullSyncs, 1, 'its first sync is full (no marker)');
    t.match(full.lastSync, { kind: 'full', why: /no marker/ });
    const marker = await astdb('gen');
    t.ok(marker !== null, `the marker is in AstDB (${String(marker)})`);
    t.comment(
      `full sync of ${N + 1} numbers: ${full.lastSyncMs} ms, ${full.puts} DBPut, ${full.deletes} DBDel/DBDelTree`,
    );

    await a.daemon.stop();
    t.equal(await astdb('alive'), null, 'alive withdrawn when the daemon stopped');
    t.equal(await astdb('gen'), marker, 'the marker stays');

    // While no daemon runs: one number blocked, one unblocked (the CLI writing the same database).
    await s.blocklist.block('demo', { kind: 'exact', number: CHANGED }, { mode: 'reject' }, cliActor);
    await s.blocklist.unblock('demo', { kind: 'exact', number: REJECTED }, cliActor);
    t.equal(await astdb(`n/demo/${CHANGED}`), null, 'not in AstDB yet');

    const b = await startMirroredAsteriskDaemon(t, s);
    t.ok(b.live, 'the restarted daemon’s mirror went live');
    const replay = b.mirror().detail;
    t.match(replay, { fullSyncs: 0, resyncs: 1, lastSync: { kind: 'replay' } }, 'a replay, not a full sync');
    t.ok(replay.puts + replay.deletes < 20, `a handful of AMI writes (${replay.puts} DBPut, ${replay.deletes} DBDel)`);
    t.comment(
      `replay after a restart with 2 changes: ${replay.lastSyncMs} ms, ${replay.puts} DBPut, ${replay.deletes} DBDel`,
    );
    t.ok(
      b.lines.some(
        (l) => l.sync === 'replay' && typeof l.msg === 'string' && l.msg.includes('re-synced from its marker'),
      ),
      'logged as a replay',
    );
    const changed = await astdb(`n/demo/${CHANGED}`);
    t.match(changed, /^reject\|603\|exact:\d+\|$/, 'the number blocked meanwhile is written');
    t.match(await astdb('national/demo'), /^1\|1\|\^\(/, 'national callers still read into E.164 (region US)');
    t.equal(await astdb(`n/demo/${REJECTED}`), null, 'the number unblocked meanwhile is gone');
    t.match(await astdb(`n/demo/+15552000000`), /^reject\|603\|/, 'the numbers synced before are still there');

    await t.test('the changed numbers are answered from the mirror, without FastAGI', async (t) => {
      const before = b.agi.counters.accepted;
      const r = await inbound(CHANGED, '+15550100');
      t.same(r.codes, [603], describeSipp(r));
      const allowed = await inbound(REJECTED, '+15550100');
      t.same(allowed.codes, [200], describeSipp(allowed));
      t.equal(disposition(allowed), 'allow');
      const unlisted = await inbound(UNLISTED, '+15550100');
      t.same(unlisted.codes, [200], describeSipp(unlisted));
      t.equal(b.agi.counters.accepted, before, 'no FastAGI session');
    });

    await b.daemon.stop();
    const c = await startMirroredAsteriskDaemon(t, s);
    t.ok(c.live, 'a third start with nothing changed goes live');
    const idle = c.mirror().detail;
    t.match(idle, { fullSyncs: 0, resyncs: 1 });
    t.comment(
      `replay after a restart with nothing changed: ${idle.lastSyncMs} ms, ${idle.puts} DBPut, ${idle.deletes} DBDel`,
    );
    t.ok(idle.puts <= 3 && idle.deletes <= 1, 'complete, marker and alive put; alive deleted first');
    await c.daemon.stop();
  },
);
