// The write gate's decisions without a PostgreSQL (issue #15): a stand-in store says "behind" or
// "unreachable"; the replica file must keep nothing of a write that was not committed there.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { CallscreenError } from '../../daemon/core/errors.js';
import { PgWriteGate } from '../../daemon/store/pg-write-gate.js';
import type { PgStore } from '../../daemon/store/pg-store.js';
import type { Replicator } from '../../daemon/store/replicator.js';
import { readTableSpecs, type RowImage } from '../../daemon/store/row-images.js';
import { openStore } from '../../daemon/store/store.js';
import { silentLogger, tempDir } from '../support/harness.js';

async function setup(
  t: Test,
  commit: (seq: number, images: readonly RowImage[]) => Promise<{ seq: number } | { behind: number }>,
) {
  const db = await openStore(join(tempDir(t), 'replica.db'));
  t.teardown(() => db.close());
  await db.run("UPDATE replica_state SET store_id = 'store-1', applied_seq = 7");
  const specs = new Map((await readTableSpecs(db)).map((s) => [s.name, s]));
  let catchUps = 0;
  const replicator = {
    tableSpecs: async () => specs,
    catchUp: async () => {
      catchUps++;
    },
  } as unknown as Replicator;
  const store = { where: 'postgres://cs@db/cs', commit } as unknown as PgStore;
  const gate = new PgWriteGate(db, store, replicator, silentLogger());
  gate.attach();
  return { db, gate, catchUps: () => catchUps };
}

const addOrg = "INSERT INTO orgs (slug, name, region, created_at) VALUES ('acme', 'Acme', 'US', 0)";

t.test('committed in PostgreSQL: committed here too, with its sequence number', async (t) => {
  let seen: readonly RowImage[] = [];
  const { db } = await setup(t, async (seq, images) => {
    seen = images;
    return { seq: seq + 1 };
  });
  await db.transaction(() => db.run(addOrg));
  t.match(seen, [{ t: 'orgs', op: 'i', r: { slug: 'acme', name: 'Acme' } }], 'the row image sent');
  t.equal((await db.get<{ c: number }>('SELECT count(*) AS c FROM orgs'))?.c, 1);
  t.equal(
    (await db.get<{ s: number }>('SELECT applied_seq AS s FROM replica_state'))?.s,
    8,
    'applied_seq = the new change',
  );
});

t.test('PostgreSQL unreachable: CS_ERR_UNAVAILABLE, nothing written here', async (t) => {
  const { db, gate } = await setup(t, async () => {
    throw new CallscreenError(
      'CS_ERR_UNAVAILABLE',
      'PostgreSQL store postgres://cs@db/cs is unreachable (ECONNREFUSED); nothing was written',
    );
  });
  await t.rejects(
    db.transaction(() => db.run(addOrg)),
    { code: 'CS_ERR_UNAVAILABLE' },
  );
  await t.rejects(db.run(addOrg), { code: 'CS_ERR_UNAVAILABLE' }, 'a lone write statement goes through the gate too');
  t.equal((await db.get<{ c: number }>('SELECT count(*) AS c FROM orgs'))?.c, 0, 'no row');
  t.equal((await db.get<{ c: number }>('SELECT count(*) AS c FROM changes'))?.c, 0, 'no change-log row either');
  t.equal(gate.getStats().refused, 2);
});

t.test('the store keeps moving: caught up and run again, then CS_ERR_CONFLICT; nothing written', async (t) => {
  let calls = 0;
  const { db, catchUps } = await setup(t, async () => {
    calls++;
    return { behind: 100 + calls };
  });
  let runs = 0;
  await t.rejects(
    db.transaction(async () => {
      runs++;
      await db.run(addOrg);
    }),
    { code: 'CS_ERR_CONFLICT', message: /changed under this write 5 times in a row; nothing was written/ },
  );
  t.equal(runs, 5, 'the write ran five times, each on a caught-up replica');
  t.equal(catchUps(), 4, 'caught up between attempts');
  t.equal((await db.get<{ c: number }>('SELECT count(*) AS c FROM orgs'))?.c, 0);
});

t.test('a write of node-local data only (call records) commits here without PostgreSQL', async (t) => {
  let calls = 0;
  const { db, gate } = await setup(t, async () => {
    calls++;
    throw new Error('must not be called');
  });
  await db.run(
    "INSERT INTO screened (at, channel, direction, from_raw, to_raw, number, action, adapter) VALUES (1, 'call', 'inbound', 'x', 'y', '+15551234567', 'allow', 'test')",
  );
  t.equal(calls, 0);
  t.equal((await db.get<{ c: number }>('SELECT count(*) AS c FROM screened'))?.c, 1);
  t.equal(gate.getStats().local, 1);
});
