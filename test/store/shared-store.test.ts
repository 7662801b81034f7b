// Several nodes, one list (issue #15), against a real PostgreSQL started by scripts/pg-sandbox:
// three daemons in this process, each with its own SQLite replica, sharing one PostgreSQL.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import { Daemon } from '../../daemon/main.js';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import type { ScreenRequest } from '../../daemon/core/screen-request.js';
import { systemScheduler as realTimers } from '../../daemon/core/clock.js';
import type { Actor } from '../../daemon/services/actor.js';
import { silentLogger, tempDir, until } from '../support/harness.js';
import { postgresChecks } from '../../daemon/ops/doctor-postgres.js';
import { DashboardQuery } from '../../daemon/admin/dashboard-query.js';
import { AdminOperations } from '../../daemon/admin/admin-operations.js';
import type { Principal } from '../../daemon/admin/admin-operations.js';
import { PgSandbox, skipReason } from '../support/pg-sandbox.js';

const skip = await skipReason();
t.test('three nodes, each with its own SQLite replica, against one PostgreSQL', { skip: skip ?? false }, (t) => run(t));

async function run(t: Test): Promise<void> {
  const sb = await PgSandbox.start();
  t.teardown(() => sb.stop());
  const dir = tempDir(t, 'callscreen-shared-');
  const loader = new ConfigLoader();
  const configOf = (name: string, extra = '') =>
    loader.fromText(
      `[store]\npath = ${JSON.stringify(join(dir, `${name}.db`))}\nchange_poll_ms = 20\nbackend = "postgres"\nurl = ${JSON.stringify(sb.url)}\nnode_name = "${name}"\nreplica_poll_ms = 200\nconnect_timeout_ms = 1000\n${extra}[records]\nflush_ms = 50\n[log]\nlevel = "silent"\n`,
      `${name}.toml`,
    );

  interface Node {
    name: string;
    daemon: Daemon;
    ctx: DaemonContext;
  }
  const nodes = new Map<string, Node>();
  async function startNode(name: string): Promise<Node> {
    const daemon = new Daemon(configOf(name), silentLogger(), { timers: realTimers, components: () => [] });
    const ctx = await daemon.start();
    const node = { name, daemon, ctx };
    nodes.set(name, node);
    return node;
  }
  async function stopNode(name: string): Promise<void> {
    await nodes.get(name)?.daemon.stop();
    nodes.delete(name);
  }
  t.teardown(async () => {
    for (const n of [...nodes.keys()]) await stopNode(n);
  });
  const node = (name: string): DaemonContext => {
    const n = nodes.get(name);
    if (!n) throw new Error(`node ${name} is not running`);
    return n.ctx;
  };
  const actor = (name: string): Actor => ({ name: `admin-${name}`, source: 'cli', origin: `node ${name}` });
  const call = (from: string): ScreenRequest => ({
    org: 'acme',
    channel: 'call',
    direction: 'inbound',
    from,
    to: '+12125550100',
  });
  const action = async (name: string, from: string): Promise<string> =>
    (await node(name).screener.screen(call(from))).action;

  const a = await startNode('a');
  await startNode('b');
  await startNode('c');

  await t.test('a block made on node A changes verdicts on B and C', async (t) => {
    await a.ctx.orgs.add('acme', 'Acme', 'US', actor('a'));
    await a.ctx.orgs.addDids('acme', ['+12125550100'], actor('a'));
    const inMemory = (n: string): boolean =>
      node(n)
        .index.orgs()
        .some((o) => o.org.slug === 'acme');
    t.ok(await until(() => inMemory('b') && inMemory('c'), 10_000, 20), 'the org reached the memory of B and C');
    t.equal(await action('b', '+15551234567'), 'allow', 'not blocked yet on B');
    const t0 = performance.now();
    await a.ctx.blocklist.block(
      'acme',
      { kind: 'exact', number: '+15551234567' },
      { mode: 'reject', reason: 'spam' },
      actor('a'),
    );
    await a.ctx.feed.poll();
    t.equal(
      await action('a', '+15551234567'),
      'reject',
      'A reads its own write at once (its replica committed with PostgreSQL)',
    );
    t.ok(
      await until(
        async () =>
          (await action('b', '+15551234567')) === 'reject' && (await action('c', '+15551234567')) === 'reject',
        10_000,
        5,
      ),
      'B and C reject the caller',
    );
    t.comment(`propagation A → B and C: ${Math.round(performance.now() - t0)} ms`);
    const heads = await Promise.all(
      ['a', 'b', 'c'].map(
        async (n) => (await node(n).db.get<{ s: number }>('SELECT applied_seq AS s FROM replica_state'))?.s,
      ),
    );
    t.same(new Set(heads).size, 1, `every replica at the same change (${heads.join(', ')})`);
    const ready = await node('b').ops.readiness();
    t.match(
      ready.checks.find((c) => c.name === 'replica'),
      {
        ok: true,
        detail: /^b ← postgres:\/\/callscreen@127\.0\.0\.1:\d+\/callscreen, applied \d+ of \d+, lag 0 changes/,
      },
      '/readyz reports the replica and its lag',
    );
    const metrics = (await node('c').metrics.render()).body;
    t.match(metrics, /^callscreen_replica_lag_changes 0$/m, '/metrics has the lag');
    t.match(metrics, /^callscreen_replica_connected 1$/m);
    const doctor = await postgresChecks(configOf('b'), join(dir, 'b.db'), 3000);
    t.match(
      doctor,
      [
        {
          name: 'PostgreSQL store',
          ok: true,
          detail: /^postgres:\/\/callscreen@127\.0\.0\.1:\d+\/callscreen: schema v\d+, change log at \d+$/,
        },
        { name: 'replica', ok: true, detail: /b\.db has applied change \d+ of \d+ \(0 behind/ },
      ],
      'doctor: the store and the replica',
    );
  });

  await t.test(
    'PostgreSQL away: writes refused clearly, verdicts unchanged; back: outboxes drained, counts exact',
    async (t) => {
      const entry = (await a.ctx.blocklist.list('acme')).entries.find((e) => e.value === '+15551234567');
      t.ok(entry, 'the entry');
      for (const n of ['a', 'b', 'c']) await node(n).recorder.flush();
      let hitsBefore = 0;
      for (const n of ['a', 'b', 'c'])
        hitsBefore +=
          (await node(n).db.get<{ h: number }>('SELECT hit_count AS h FROM entries WHERE id = ?', [entry!.id]))?.h ?? 0;
      await sb.pause();
      const t0 = performance.now();
      const err = await node('b')
        .blocklist.block('acme', { kind: 'exact', number: '+15559990000' }, {}, actor('b'))
        .catch((e: unknown) => e);
      const ms = performance.now() - t0;
      t.match(
        err,
        {
          code: 'CS_ERR_UNAVAILABLE',
          message: /PostgreSQL store postgres:\/\/callscreen@127\.0\.0\.1:\d+\/callscreen is unreachable/,
        },
        'refused, naming the store (no password)',
      );
      t.notMatch((err as Error).message, /callscreen-pg-sandbox/, 'the password is not in the message');
      t.ok(ms < 5000, `refused at once (${Math.round(ms)} ms, connect_timeout_ms 1000)`);
      t.equal(
        (await node('b').blocklist.list('acme')).entries.filter((e) => e.value === '+15559990000').length,
        0,
        'nothing half-written on B',
      );
      await node('b')
        .shared!.replicator.catchUp()
        .catch(() => undefined);
      t.match(
        (await node('b').ops.readiness()).checks.find((c) => c.name === 'replica'),
        { ok: false, reason: 'shared-store-down', detail: /unreachable .*screening from the replica/ },
        '/readyz says PostgreSQL is away',
      );
      const doctor = await postgresChecks(configOf('b'), join(dir, 'b.db'), 3000);
      t.match(
        doctor,
        [{ name: 'PostgreSQL store', ok: false, fix: /pg_isready/ }],
        'doctor says so, with what to check',
      );
      t.notMatch(JSON.stringify(doctor), /callscreen-pg-sandbox/, 'never the password');
      // Calls go on from the replicas, each recorded on its node.
      let blocked = 0;
      for (let i = 0; i < 30; i++) {
        for (const n of ['a', 'b', 'c']) {
          const from = i % 2 === 0 ? '+15551234567' : `+1555300${String(i).padStart(4, '0')}`;
          const v = await node(n).screener.screen(call(from));
          t.equal(v.action, i % 2 === 0 ? 'reject' : 'allow');
          if (v.action === 'reject') blocked++;
          node(n).screener.recordVerdict(call(from), (await node(n).orgs.require('acme')).id, v, 'test', 10);
        }
      }
      for (const n of ['a', 'b', 'c']) await node(n).recorder.flush();
      await sb.resume();
      const pgCount = async (sql: string): Promise<number> =>
        Number((await a.ctx.shared!.pg.query<{ c: string }>(sql))[0]?.c ?? -1);
      t.ok(
        await until(
          async () => (await pgCount('SELECT count(*) AS c FROM cs_screened').catch(() => -1)) === 90,
          20_000,
          100,
        ),
        'all 90 call records shipped',
      );
      const localHits = async (): Promise<number> => {
        let sum = 0;
        for (const n of ['a', 'b', 'c'])
          sum +=
            (await node(n).db.get<{ h: number }>('SELECT hit_count AS h FROM entries WHERE id = ?', [entry!.id]))?.h ??
            0;
        return sum;
      };
      const counted = await localHits();
      t.equal(
        counted - hitsBefore,
        blocked,
        `the nodes counted every blocked call while PostgreSQL was away (${blocked})`,
      );
      t.ok(
        await until(
          async () =>
            (await pgCount(`SELECT coalesce(sum(hits), 0) AS c FROM cs_hits WHERE entry_id = ${entry!.id}`).catch(
              () => -1,
            )) === counted,
          20_000,
          100,
        ),
        `PostgreSQL's hit count equals the nodes' (${counted})`,
      );
      for (const n of ['a', 'b', 'c']) await node(n).shared!.shipper.ship();
      t.equal(await pgCount('SELECT count(*) AS c FROM cs_screened'), 90, 'shipping again duplicates nothing');
      t.equal(await pgCount('SELECT count(DISTINCT node) AS c FROM cs_screened'), 3, 'each record carries its node');
      t.equal(
        await pgCount(`SELECT coalesce(sum(hits), 0) AS c FROM cs_hits WHERE entry_id = ${entry!.id}`),
        counted,
        'hits not counted twice',
      );
      const orgId = (await a.ctx.orgs.require('acme')).id;
      const site = await new DashboardQuery(a.ctx.db, a.ctx.clock, a.ctx.shared!.pg).forOrg(orgId);
      const local = await new DashboardQuery(a.ctx.db, a.ctx.clock).forOrg(orgId);
      t.equal(site.totals.screened, 90, "node A's dashboard counts every node's calls");
      t.equal(local.totals.screened, 30, '(its own file holds its own 30)');
      t.equal(site.totals.blocked, 45, 'and every blocked one');
      t.match(site.top[0], { number: '+15551234567', count: 45 }, 'the most blocked number, site-wide');
      await node('b').blocklist.block('acme', { kind: 'exact', number: '+15559990000' }, {}, actor('b'));
      t.ok(
        await until(async () => (await action('a', '+15559990000')) === 'reject', 10_000, 20),
        'writes work again once PostgreSQL is back',
      );
    },
  );

  await t.test('a node down while changes are made catches up when it comes back', async (t) => {
    await stopNode('c');
    const n = 300;
    for (let i = 0; i < n; i++)
      await a.ctx.blocklist.block(
        'acme',
        { kind: 'exact', number: `+1555400${String(i).padStart(4, '0')}` },
        {},
        actor('a'),
      );
    const t0 = performance.now();
    await startNode('c');
    t.comment(`restart + catch-up of ${n} changes: ${Math.round(performance.now() - t0)} ms`);
    t.equal(await action('c', '+15554000000'), 'reject', 'first change applied');
    t.equal(await action('c', `+1555400${String(n - 1).padStart(4, '0')}`), 'reject', 'last change applied');
    const head = Number((await a.ctx.shared!.pg.query<{ seq: string }>('SELECT seq FROM cs_head'))[0]?.seq);
    t.equal(
      (await node('c').db.get<{ s: number }>('SELECT applied_seq AS s FROM replica_state'))?.s,
      head,
      'C at the head',
    );
  });

  await t.test('a node behind a pruned log resyncs whole', async (t) => {
    await stopNode('c');
    await a.ctx.blocklist.unblock('acme', { kind: 'exact', number: '+15554000000' }, actor('a'));
    await a.ctx.blocklist.block('acme', { kind: 'exact', number: '+15555550000' }, {}, actor('a'));
    await a.ctx.shared!.pg.query('DELETE FROM cs_changes');
    await startNode('c');
    t.equal(node('c').shared!.replicator.status().resyncs, 1, 'resynced once');
    t.equal(await action('c', '+15554000000'), 'allow', 'the unblock is there');
    t.equal(await action('c', '+15555550000'), 'reject', 'the new block is there');
    t.equal(await action('c', '+15551234567'), 'reject', 'older blocks kept');
    await a.ctx.blocklist.block('acme', { kind: 'exact', number: '+15555550001' }, {}, actor('a'));
    t.ok(
      await until(async () => (await action('c', '+15555550001')) === 'reject', 10_000, 20),
      'and follows the log again',
    );
  });

  await t.test('two admins edit one entry on two nodes at once: one of the two, audited, never a mix', async (t) => {
    const id = (
      await a.ctx.blocklist.block(
        'acme',
        { kind: 'exact', number: '+15556660000' },
        { mode: 'reject', name: 'start' },
        actor('a'),
      )
    ).id;
    t.ok(
      await until(async () => (await node('b').blocklist.getEntry(1, id)) !== undefined, 10_000, 20),
      'B has the entry',
    );
    const [ea, eb] = await Promise.allSettled([
      a.ctx.blocklist.edit('acme', id, { mode: 'voicemail', name: 'from A', reason: 'A says' }, actor('a')),
      node('b').blocklist.edit('acme', id, { mode: 'reject', name: 'from B', reason: 'B says' }, actor('b')),
    ]);
    t.equal(ea.status, 'fulfilled');
    t.equal(eb.status, 'fulfilled');
    await node('a').shared!.replicator.catchUp();
    await node('b').shared!.replicator.catchUp();
    const fa = await a.ctx.blocklist.getEntry(1, id);
    const fb = await node('b').blocklist.getEntry(1, id);
    t.same(fa, fb, 'A and B agree');
    const pair = [fa?.mode, fa?.name, fa?.reason].join('/');
    t.ok(pair === 'voicemail/from A/A says' || pair === 'reject/from B/B says', `one of the two edits whole (${pair})`);
    const audit = await node('b').audit.query({ action: 'block.update', target: '+15556660000' });
    t.same(audit.events.map((e) => e.actor).sort(), ['admin-a', 'admin-b'], 'both edits audited, on every node');
  });

  await t.test(
    'new rows made on two nodes at once never collide: the loser of a race retries on the new state',
    async (t) => {
      const retriesBefore = node('a').shared!.gate.getStats().retries + node('b').shared!.gate.getStats().retries;
      const made = await Promise.all(
        ['a', 'b'].flatMap((n) =>
          Array.from({ length: 10 }, (_, i) =>
            node(n).blocklist.block(
              'acme',
              { kind: 'exact', number: `+1555770${n === 'a' ? 0 : 1}${String(i).padStart(3, '0')}` },
              {},
              actor(n),
            ),
          ),
        ),
      );
      const ids = made.map((e) => e.id);
      t.equal(new Set(ids).size, 20, 'twenty writes, twenty distinct ids');
      const retries =
        node('a').shared!.gate.getStats().retries + node('b').shared!.gate.getStats().retries - retriesBefore;
      t.comment(`writes that lost a race and ran again: ${retries}`);
      for (const n of ['a', 'b', 'c']) await node(n).shared!.replicator.catchUp();
      const rows = await Promise.all(
        ['a', 'b', 'c'].map((n) =>
          node(n).db.all<{ id: number; value: string }>(
            "SELECT id, value FROM entries WHERE value LIKE '+155577%' ORDER BY id",
          ),
        ),
      );
      t.equal(rows[0]!.length, 20);
      t.same(rows[1], rows[0], 'B has the same rows under the same ids as A');
      t.same(rows[2], rows[0], 'and C');
    },
  );

  await t.test('an import of 10,000 numbers on one node is one change every node applies whole', async (t) => {
    const csv = [
      'number,mode,name',
      ...Array.from({ length: 10_000 }, (_, i) => `+1555900${String(i).padStart(4, '0')},reject,imported`),
    ].join('\n');
    const t0 = performance.now();
    const r = await node('b').importer.importText(csv, 'acme', actor('b'));
    t.comment(
      `import through PostgreSQL: ${Math.round(performance.now() - t0)} ms (${JSON.stringify(r).slice(0, 120)})`,
    );
    t.ok(
      await until(
        async () =>
          (await action('a', '+15559009999')) === 'reject' && (await action('c', '+15559000000')) === 'reject',
        60_000,
        50,
      ),
      'A and C reject imported numbers',
    );
    t.comment(`import until A and C reject: ${Math.round(performance.now() - t0)} ms`);
    const counts = await Promise.all(
      ['a', 'b', 'c'].map(
        async (n) =>
          (
            await node(n).db.get<{ c: number }>(
              "SELECT count(*) AS c FROM entries WHERE name = 'imported' AND removed_at IS NULL",
            )
          )?.c,
      ),
    );
    t.same(counts, [10_000, 10_000, 10_000], 'every node has all of them');
  });

  await t.test("a call screened on node B is listed on node A with B's name; a hit on B counts on A", async (t) => {
    const orgId = (await a.ctx.orgs.require('acme')).id;
    const blockedNumber = '+15551234567';
    const entryId = (await a.ctx.db.get<{ id: number }>(
      'SELECT id FROM entries WHERE value = ? AND removed_at IS NULL',
      [blockedNumber],
    ))!.id;
    const siteHits = async (): Promise<number> => {
      let sum = 0;
      for (const n of ['a', 'b', 'c'])
        sum +=
          (await node(n).db.get<{ h: number }>('SELECT hit_count AS h FROM entries WHERE id = ?', [entryId]))?.h ?? 0;
      return sum;
    };
    const shownOnA = async (): Promise<{ hitCount: number; lastHitAt: number | null }> => {
      const e = await a.ctx.blocklist.getEntry(orgId, entryId);
      return { hitCount: e?.hitCount ?? -1, lastHitAt: e?.lastHitAt ?? null };
    };
    const before = await siteHits();
    const onB = async (from: string): Promise<string> => {
      const v = await node('b').screener.screen(call(from));
      node('b').screener.recordVerdict(call(from), orgId, v, 'test', 10);
      return v.action;
    };
    t.equal(await onB('+15558880001'), 'allow');
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) t.equal(await onB(blockedNumber), 'reject');
    await node('b').recorder.flush();
    const ops = new AdminOperations(a.ctx);
    const admin: Principal = {
      user: { id: 1, name: 'root', role: 'admin', roles: { acme: 'admin' }, disabled: false, orgs: ['acme'] },
      actor: actor('a'),
    };
    const listed = async () => (await ops.recentCalls(admin, 'acme', { number: '5558880001' })).calls;
    t.ok(
      await until(async () => (await listed()).length === 1, 20_000, 100),
      "B's call reaches A's recent calls once B's outbox shipped it",
    );
    const page = await ops.recentCalls(admin, 'acme', { number: '5558880001' });
    t.equal(page.scope, 'site', 'the listing covers every node');
    t.match(page.calls[0], { node: 'b', from_raw: '+15558880001', action: 'allow' }, "with B's name");
    const blockedCalls = (
      await ops.recentCalls(admin, 'acme', { number: blockedNumber, action: 'reject', limit: 1000 })
    ).calls;
    t.same(
      [...new Set(blockedCalls.map((c) => c.node))].sort(),
      ['a', 'b', 'c'],
      "blocked calls of every node, each with its node's name",
    );
    const byKey = new Set(blockedCalls.map((c) => `${c.node ?? ''}/${c.id}`));
    t.equal(byKey.size, blockedCalls.length, 'no call listed twice');
    // A call A screened a moment ago, still in A's outbox, is listed too.
    await a.ctx.shared!.shipper.stop();
    const v = await a.ctx.screener.screen(call('+15558880009'));
    a.ctx.screener.recordVerdict(call('+15558880009'), orgId, v, 'test', 10);
    await a.ctx.recorder.flush();
    t.match(
      (await ops.recentCalls(admin, 'acme', { number: '5558880009' })).calls,
      [{ node: 'a', from_raw: '+15558880009' }],
      "A's unshipped call is listed, with A's name",
    );
    a.ctx.shared!.shipper.start();
    t.equal(await siteHits(), before + 3, 'B counted the three blocked calls');
    t.ok(
      await until(async () => (await shownOnA()).hitCount === before + 3, 20_000, 100),
      `A shows the site's hit count (${before + 3}), B's hits included`,
    );
    t.ok(((await shownOnA()).lastHitAt ?? 0) >= t0 - 1000, "A's last hit is B's call");
    t.ok(
      await until(
        async () => (await node('c').blocklist.getEntry(orgId, entryId))?.hitCount === before + 3,
        20_000,
        100,
      ),
      'and so does C',
    );
    const dash = await ops.dashboard(admin, 'acme');
    t.equal(dash.scope, 'site');
    t.same(
      dash.nodes?.map((n) => n.node),
      ['a', 'b', 'c'],
      "the dashboard has each node's totals",
    );
    t.equal(
      dash.nodes?.reduce((s, n) => s + n.screened, 0),
      dash.totals.screened,
      'which add up to the site total',
    );
  });
}
