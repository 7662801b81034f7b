// Several nodes, one list (issue #15) with real processes: three `callscreen daemon` processes, each
// with its own SQLite replica and FastAGI port, against one real PostgreSQL (scripts/pg-sandbox).
// Calls are FastAGI sessions played by the shared fake Asterisk (test/support/multinode-cluster.ts).
//
// The outage is CS_MULTINODE_OUTAGE_S seconds (default 5) at CS_MULTINODE_RATE calls/s (default 30),
// modest for CI; `npm run bench:multinode` runs the 30 s at 200 calls/s and prints the figures.
// CS_MULTINODE_CHANGES (default 1,000): changes made while a node is down.
import t from 'tap';
import { cliActor, tempDir, until } from '../support/harness.js';
import { describeOutage, MultinodeCluster } from '../support/multinode-cluster.js';
import { PgSandbox, skipReason } from '../support/pg-sandbox.js';

const skip = await skipReason();
const BLOCKED = '+15551234567';
const OUTAGE_S = Number(process.env.CS_MULTINODE_OUTAGE_S ?? 5);
const RATE = Number(process.env.CS_MULTINODE_RATE ?? 30);

t.test('three daemon processes against one PostgreSQL', { skip: skip ?? false }, async (t) => {
  const sb = await PgSandbox.start();
  t.teardown(() => sb.stop());
  const dir = tempDir(t, 'callscreen-multinode-');
  const names = ['a', 'b', 'c'] as const;
  const cl = await MultinodeCluster.create(sb, dir, names, BLOCKED);
  // The list, made on node a's file before any daemon runs (it reaches PostgreSQL through the gate).
  const setup = await cl.services('a');
  await setup.orgs.add('acme', 'Acme', 'US', cliActor);
  await setup.orgs.addDids('acme', ['+15550100'], cliActor);
  const blockedEntryId = (
    await setup.blocklist.block('acme', { kind: 'exact', number: BLOCKED }, { mode: 'reject' }, cliActor)
  ).id;
  await setup.close();

  t.teardown(() => cl.stopAll());
  await cl.startAll();
  const verdict = async (node: string, from: string): Promise<string> => (await cl.verdict(node, from)).action;

  await t.test('the list made before reaches every node; a block made on B reaches A and C', async (t) => {
    for (const n of names) t.equal(await verdict(n, BLOCKED), 'reject', `node ${n} rejects the blocked caller`);
    const r = await cl.cli('b', 'block', '5559876543', '--org', 'acme');
    t.equal(r.code, 0, r.err);
    t.ok(
      await until(
        async () =>
          (await verdict('a', '+15559876543')) === 'reject' && (await verdict('c', '+15559876543')) === 'reject',
        10_000,
        20,
      ),
      'A and C reject it',
    );
  });

  await t.test(
    `PostgreSQL stopped ${OUTAGE_S} s under ${RATE} calls/s: every verdict right, writes refused; back: every call record shipped once`,
    async (t) => {
      const f = await cl.outage(sb, { seconds: OUTAGE_S, rate: RATE, blockedEntryId });
      for (const l of describeOutage(f)) t.comment(l);
      t.ok(f.calls >= OUTAGE_S * RATE * 0.5, `calls were made throughout (${f.calls})`);
      t.equal(f.wrong, 0, 'every verdict right while PostgreSQL was away');
      t.equal(f.failOpen, 0, 'no blocked caller let through');
      t.equal(f.failModeRecords, 0, 'no call record marked fail-open');
      t.ok(f.writesTried >= names.length, `writes were tried on every node (${f.writesTried})`);
      t.equal(f.writesRefused, f.writesTried, 'every write refused with CS_ERR_UNAVAILABLE naming the store (exit 69)');
      t.equal(f.lost, 0, `every call recorded in PostgreSQL (${f.made})`);
      t.equal(f.duplicates, 0, 'and none twice');
      t.equal(f.hitsShipped, f.hitsMade, `the blocked caller's hits summed exactly (${f.hitsMade})`);
      const s = await cl.services('a');
      t.teardown(() => s.close());
      const byNode = await s.shared!.pg.query<{ node: string }>('SELECT DISTINCT node FROM cs_screened ORDER BY node');
      t.same(
        byNode.map((r) => r.node),
        ['a', 'b', 'c'],
        'from every node, with its name',
      );
      const ok = await cl.cli('c', 'block', '5550001111', '--org', 'acme');
      t.equal(ok.code, 0, `writes work again: ${ok.err}`);
    },
  );

  await t.test('a node SIGKILLed while changes are made catches up when restarted', async (t) => {
    await cl.kill('c');
    const n = Number(process.env.CS_MULTINODE_CHANGES ?? 1000);
    const s = await cl.services('a');
    for (let i = 0; i < n; i++)
      await s.blocklist.block('acme', { kind: 'exact', number: `+1555600${String(i).padStart(4, '0')}` }, {}, cliActor);
    await s.blocklist.unblock('acme', { kind: 'exact', number: '+15559876543' }, cliActor);
    await s.close();
    const t0 = performance.now();
    await cl.start('c');
    t.comment(`restart and catch-up of ${n + 1} changes: ${Math.round(performance.now() - t0)} ms`);
    t.equal(await verdict('c', '+15556000000'), 'reject', 'the first change');
    t.equal(await verdict('c', `+1555600${String(n - 1).padStart(4, '0')}`), 'reject', 'the last block');
    t.equal(await verdict('c', '+15559876543'), 'allow', 'the unblock');
    t.equal(await verdict('c', BLOCKED), 'reject', 'older blocks kept');
  });
});
