import t from 'tap';
import { CoalescedTask } from '../../daemon/core/coalesced-task.js';

/** A task whose runs the test ends one by one; `log` says what each run saw of `input`. */
function gatedTask() {
  const ends: Array<(err?: Error) => void> = [];
  const log: string[] = [];
  let input = 'a';
  let active = 0;
  let overlapped = false;
  const task = new CoalescedTask(async () => {
    const seen = input;
    active++;
    if (active > 1) overlapped = true;
    try {
      await new Promise<void>((resolve, reject) => ends.push((err) => (err ? reject(err) : resolve())));
      log.push(seen);
    } finally {
      active--;
    }
  });
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    task,
    log,
    ends,
    set: (v: string) => (input = v),
    overlapped: () => overlapped,
    tick,
  };
}

t.test('a caller during a run gets the next run, which sees its change', async (t) => {
  const g = gatedTask();
  const first = g.task.run();
  g.set('b'); // a change made after the first run read its input
  const second = g.task.run();
  const third = g.task.run();
  t.not(second, first, 'not the run in progress');
  t.equal(third, second, 'callers meanwhile share the one queued run');
  await g.tick();
  t.equal(g.ends.length, 1, 'the queued run waits for the first');
  g.ends[0]?.();
  await first;
  await g.tick();
  t.equal(g.ends.length, 2, 'then it starts');
  g.ends[1]?.();
  await second;
  t.same(g.log, ['a', 'b'], 'the second run saw the change');
  t.notOk(g.overlapped(), 'never two runs at once');
});

t.test('no run starts beside the queued one while it waits to start', async (t) => {
  const g = gatedTask();
  const first = g.task.run();
  const queued = g.task.run();
  g.ends[0]?.();
  // Ask again in the microtasks right after the first run ends, before the queued one starts.
  const late = first.then(() => g.task.run());
  await g.tick();
  t.equal(g.ends.length, 2, 'one run started after the first');
  g.ends[1]?.();
  await queued;
  await late;
  t.notOk(g.overlapped(), 'never two runs at once');
});

t.test('a failed run rejects its own callers only; the next run goes on', async (t) => {
  const g = gatedTask();
  const first = g.task.run();
  const second = g.task.run();
  g.ends[0]?.(new Error('database is locked'));
  await t.rejects(first, /locked/, 'the failure reaches the callers of that run');
  await g.tick();
  g.ends[1]?.();
  await t.resolves(second, 'the queued run still runs and succeeds');
});

t.test('settled() waits for the run in progress and the queued one', async (t) => {
  const g = gatedTask();
  void g.task.run();
  void g.task.run().catch(() => undefined);
  let done = false;
  const s = g.task.settled().then(() => (done = true));
  await g.tick();
  g.ends[0]?.();
  await g.tick();
  t.notOk(done, 'not while the queued run is in progress');
  g.ends[1]?.(new Error('failed'));
  await s;
  t.ok(done, 'settled once both ended, whatever their outcome');
  await t.resolves(g.task.settled(), 'at once when idle');
});
