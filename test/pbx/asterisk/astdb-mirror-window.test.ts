// The mirror sync's window of DBPuts in flight (PutWindow in daemon/pbx/asterisk/astdb-mirror.ts),
// against a fake AMI whose DBPut answers wait until the test releases them, oldest first (AMI
// answers one connection's actions in order): never more than `window` unanswered, refilled in
// batches once half is answered, and an Error answer in the middle of a full window stops the sync
// before anything claims it is done.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallscreenError } from '../../../daemon/core/errors.js';
import type { AmiDone } from '../../../daemon/pbx/asterisk/ami-client.js';
import { cliActor, type TapLike } from '../../support/harness.js';
import { FakeAmi } from '../../support/fake-ami.js';
import { startedMirror } from '../../support/fake-ami-mirror.js';

const WINDOW = 8;
const NUMBERS = Array.from({ length: 40 }, (_, i) => `+1555777${String(1000 + i)}`);

/**
 * DBPuts sent through the window (the client's `actionThen`) are held until `release`; every other
 * action is answered at once. Each put sent is
 * checked against the window's rules as it is sent, so the test decides by order, not by timing.
 */
class HeldAmi extends FakeAmi {
  readonly held: Array<() => void> = [];
  maxHeld = 0;
  /** The window was full since the last put: the next one must wait for half of it. */
  private full = false;
  /** Puts sent while more than half the window of a full window was still unanswered. */
  earlyRefills = 0;
  /** Set once a refused put's Error answer was delivered; puts sent after it are counted. */
  refusalDelivered = false;
  sentAfterRefusal = 0;

  /** The client's callback path (AmiPipeline), which the mirror's window uses when the client has it. */
  actionThen(name: string, fields: Readonly<Record<string, string>>, done: AmiDone): void {
    if (name !== 'DBPut' || this.currentState !== 'connected') {
      this.action(name, fields).then(
        (m) => {
          done(null, m);
        },
        (err: unknown) => {
          done(err as CallscreenError, null);
        },
      );
      return;
    }
    if (this.full && this.held.length > WINDOW / 2) this.earlyRefills++;
    this.full = false;
    if (this.refusalDelivered) this.sentAfterRefusal++;
    this.held.push(() => {
      this.action(name, fields).then(
        (m) => {
          done(null, m);
        },
        (err: unknown) => {
          this.refusalDelivered = true;
          done(err as CallscreenError, null);
        },
      );
    });
    this.maxHeld = Math.max(this.maxHeld, this.held.length);
    if (this.held.length >= WINDOW) this.full = true;
  }

  /** Answers the `n` oldest puts, then lets the mirror run (its store reads take real I/O). */
  async release(n: number): Promise<void> {
    for (const answer of this.held.splice(0, n)) answer();
    await sleep(1);
  }

  puts(): number {
    return this.actions.filter((a) => a.name === 'DBPut').length;
  }

  /** Answers puts one at a time until `done` (bounded: a stuck sync fails the test's checks). */
  async driveUntil(done: () => boolean): Promise<void> {
    for (let i = 0; i < 20_000 && !done(); i++) await this.release(1);
  }
}

function setup(t: TapLike) {
  return startedMirror(t, {
    ami: new HeldAmi(),
    // One form, so one put per number; one page, so the writer waits for nothing but the window (a
    // put refused for room is then always tried the moment the window is full).
    options: { window: WINDOW, callerForms: ['e164'] },
    beforeStart: async (s) => {
      for (const n of NUMBERS)
        await s.blocklist.block('demo', { kind: 'exact', number: n }, { mode: 'reject', reason: 'spam' }, cliActor);
    },
  });
}

t.test('never more than the window unanswered; refilled once half is answered; every key written', async (t) => {
  const { ami, mirror } = await setup(t);
  ami.setState('connected');
  await ami.driveUntil(() => mirror.currentState === 'live');
  await mirror.idle();
  t.equal(mirror.currentState, 'live');
  t.equal(ami.maxHeld, WINDOW, `the window fills, and never holds more than ${WINDOW}`);
  t.equal(ami.earlyRefills, 0, 'a full window is refilled only once half of it is answered');
  t.same(
    NUMBERS.filter((n) => ami.get(`n/demo/${n}`) === undefined),
    [],
    'every listed number written',
  );
  t.equal(ami.puts(), NUMBERS.length + 2, 'one DBPut per number, plus complete and the heartbeat');
  t.ok(ami.get('alive'), 'alive put last');
});

t.test('an Error answer mid-window: no more puts, no complete, no alive; the retry syncs', async (t) => {
  const { ami, mirror, timers, lines } = await setup(t);
  const bad = NUMBERS[12] ?? '';
  ami.refuse.add(`n/demo/${bad}`);
  const failed = (): boolean => lines.some((l) => String(l.msg).startsWith('AstDB mirror update failed'));
  ami.setState('connected');
  await ami.driveUntil(failed);
  t.equal(mirror.currentState, 'idle', 'the first failure stops the sync');
  t.ok(ami.refusalDelivered, 'the refused put was answered with an Error');
  t.equal(ami.sentAfterRefusal, 0, 'nothing sent after the Error answer');
  t.ok(ami.puts() < NUMBERS.length, 'the sync stopped part way');
  t.equal(ami.get('alive'), undefined, 'never claims to be alive');
  t.equal(ami.get('complete/demo'), undefined, 'never claims completeness');
  t.ok(failed(), 'the failure is logged');
  // Answered after the failure, the puts still in flight change nothing.
  await ami.release(ami.held.length);
  await mirror.idle();
  t.equal(mirror.currentState, 'idle');
  ami.refuse.clear();
  ami.refusalDelivered = false;
  timers.advance(5000);
  await ami.driveUntil(() => mirror.currentState === 'live');
  await mirror.idle();
  t.equal(mirror.currentState, 'live', 'the retry synced');
  t.ok(ami.get(`n/demo/${bad}`), 'the refused number is written by the retry');
  t.ok(ami.get('complete/demo'));
});

t.test('the list changed while the full sync waits on Asterisk: AstDB ends as the list says', async (t) => {
  // The sync walks a copy of the index's key map; 600 numbers added meanwhile make the map grow
  // (rehash) under it, and 10 removed may not have been reached yet. Either way the feed's changes
  // are queued behind the sync, so what AstDB holds at the end is the list's.
  const { s, ctx, ami, mirror } = await setup(t);
  ami.setState('connected');
  await ami.release(WINDOW / 2);
  t.equal(mirror.currentState, 'syncing', 'the sync is waiting on Asterisk');
  const added = Array.from({ length: 600 }, (_, i) => `+1555888${String(1000 + i)}`);
  for (const n of added) await s.blocklist.block('demo', { kind: 'exact', number: n }, { mode: 'voicemail' }, cliActor);
  const removed = NUMBERS.slice(30);
  for (const n of removed) await s.blocklist.unblock('demo', { kind: 'exact', number: n }, cliActor);
  await ctx.feed.poll();
  await ami.driveUntil(() => mirror.currentState === 'live');
  await ami.release(ami.held.length);
  await mirror.idle();
  const listed = [...NUMBERS.slice(0, 30), ...added];
  t.same(
    listed.filter((n) => ami.get(`n/demo/${n}`) === undefined),
    [],
    `every listed number written (${listed.length})`,
  );
  t.same(
    removed.filter((n) => ami.get(`n/demo/${n}`) !== undefined),
    [],
    'no key left for a number removed meanwhile',
  );
});
