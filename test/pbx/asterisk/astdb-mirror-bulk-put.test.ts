// A sync's keys written many to an action when Asterisk has callscreen's module (CallScreenDBPut,
// daemon/pbx/asterisk/module/func_callscreen.c), one DBPut each when it has not: the same AstDB
// either way, the module asked before each sync's first key, and a refusal or a module unloaded in
// the middle of a sync stops it like a refused DBPut does. The fake AMI stores CallScreenDBPut as the
// module does (test/support/fake-ami.ts); the real module is in test/e2e/asterisk-astdb-mirror.test.ts,
// which runs with it loaded and unloaded.
import t from 'tap';
import { PUT_BATCH_KEYS, type AstdbMirror } from '../../../daemon/pbx/asterisk/astdb-mirror.js';
import { MARKER_KEY } from '../../../daemon/pbx/asterisk/astdb-generation.js';
import { cliActor, type TapLike } from '../../support/harness.js';
import { FakeAmi } from '../../support/fake-ami.js';
import { startedMirror } from '../../support/fake-ami-mirror.js';

const DID = '+15550100';
/** 230 numbers: two full actions and a part one (with the DID), at PUT_BATCH_KEYS = 100. */
const NUMBERS = Array.from({ length: 230 }, (_, i) => `+1555777${String(1000 + i)}`);

function setup<A extends FakeAmi>(t: TapLike, ami: A) {
  return startedMirror(t, {
    ami,
    dids: [DID],
    options: { window: 1024 },
    beforeStart: async (s) => {
      for (const n of NUMBERS)
        await s.blocklist.block('demo', { kind: 'exact', number: n }, { mode: 'reject' }, cliActor);
    },
  });
}

async function connect(ami: FakeAmi, mirror: AstdbMirror): Promise<void> {
  ami.setState('connected');
  await mirror.idle();
}

/** Drops the link and the marker, then connects: the mirror syncs in full again. */
async function fullSyncAgain(ami: FakeAmi, mirror: AstdbMirror): Promise<void> {
  ami.setState('backoff');
  await mirror.idle();
  ami.db.delete(`/callscreen/${MARKER_KEY}`);
  await connect(ami, mirror);
}

/** AstDB without the marker (its value carries the sync's time and position). */
function snapshot(ami: FakeAmi): Map<string, string> {
  return new Map([...ami.db].filter(([k]) => k !== `/callscreen/${MARKER_KEY}`));
}

const lineCount = (fields: Readonly<Record<string, unknown>>): number =>
  Array.isArray(fields.Put) ? fields.Put.length : fields.Put === undefined ? 0 : 1;

t.test('with the module: the same AstDB as one DBPut a key, in actions of at most PUT_BATCH_KEYS', async (t) => {
  const ami = new FakeAmi();
  ami.module = true;
  const { mirror, lines } = await setup(t, ami);
  await connect(ami, mirror);
  t.equal(mirror.currentState, 'live');
  const bulk = ami.actions.filter((a) => a.name === 'CallScreenDBPut');
  t.same(
    bulk.map((a) => a.fields.Count),
    ['0', '100', '100', '31'],
    'asked first (Count 0), then 230 numbers and the DID in three actions',
  );
  t.ok(
    bulk.every((a) => lineCount(a.fields) === Number(a.fields.Count) && lineCount(a.fields) <= PUT_BATCH_KEYS),
    'each says how many lines it carries',
  );
  t.equal(mirror.counters.bulkPuts, 231);
  t.equal(
    ami.actions.filter((a) => a.name === 'DBPut' && String(a.fields.Key).startsWith('n/')).length,
    0,
    'no number written alone',
  );
  t.equal(mirror.health().detail?.putAction, 'CallScreenDBPut', 'health says how keys are written');
  t.ok(
    lines.some((l) => l.putAction === 'CallScreenDBPut'),
    'logged once it is known',
  );
  const withModule = snapshot(ami);

  ami.module = false;
  const before = ami.actions.length;
  await fullSyncAgain(ami, mirror);
  t.equal(mirror.currentState, 'live');
  const after = ami.actions.slice(before);
  t.same(
    after.filter((a) => a.name === 'CallScreenDBPut').map((a) => a.fields.Count),
    ['0'],
    'module unloaded: asked once, refused as an unknown action',
  );
  t.equal(after.filter((a) => a.name === 'DBPut' && String(a.fields.Key).startsWith('n/')).length, 230);
  t.same(snapshot(ami), withModule, 'key for key, value for value, the AstDB a DBPut a key writes');
  t.equal(mirror.health().detail?.putAction, 'DBPut');
});

t.test('a key the module could not store stops the sync: idle, then the retry writes it', async (t) => {
  const ami = new FakeAmi();
  ami.module = true;
  const refused = `n/demo/${NUMBERS[150] ?? ''}`;
  ami.refuse.add(refused);
  const { mirror, timers, lines } = await setup(t, ami);
  await connect(ami, mirror);
  t.equal(mirror.currentState, 'idle', 'not live: calls go to FastAGI');
  t.equal(ami.get('alive'), undefined, 'never marked alive');
  t.ok(
    lines.some((l) => (l.err as { message?: string } | undefined)?.message?.includes('Put line 51: AstDB refused it')),
    'logged with the line Asterisk named',
  );
  ami.refuse.clear();
  timers.advance(5000);
  await mirror.idle();
  t.equal(mirror.currentState, 'live', 'the retry synced');
  t.match(ami.get(refused), /^reject\|603\|/, 'written');
});

/** The module is unloaded after the first action that carries keys, as `module unload` in the middle of a sync. */
class UnloadedMidSync extends FakeAmi {
  override action(name: string, fields: Parameters<FakeAmi['action']>[1] = {}): ReturnType<FakeAmi['action']> {
    const answer = super.action(name, fields);
    if (name === 'CallScreenDBPut' && fields.Count !== '0') this.module = false;
    return answer;
  }
}

t.test('the module unloaded in the middle of a sync: that sync fails, the next writes one DBPut a key', async (t) => {
  const ami = new UnloadedMidSync();
  ami.module = true;
  const { mirror, timers } = await setup(t, ami);
  await connect(ami, mirror);
  t.equal(mirror.currentState, 'idle', 'the second action was refused as unknown');
  timers.advance(5000);
  await mirror.idle();
  t.equal(mirror.currentState, 'live');
  for (const n of NUMBERS) if (ami.get(`n/demo/${n}`) === undefined) t.fail(`${n} missing`);
  t.equal(ami.get(`did/${DID}`), 'demo');
  t.equal(mirror.health().detail?.putAction, 'DBPut');
});
