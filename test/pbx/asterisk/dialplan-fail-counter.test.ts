// DialplanFailCounter against a fake AMI (the real Asterisk run is test/e2e/asterisk-fail-counter.test.ts):
// delta since "seen", once per login and poll, the counter reset by hand, DBGet's value arriving
// before or after its response, errors logged once, time advanced by hand.
import t from 'tap';
import {
  DialplanFailCounter,
  FAIL_COUNTER_POLL_MS,
  STATS_FAMILY,
  type FailCounterAmi,
} from '../../../daemon/pbx/asterisk/dialplan-fail-counter.js';
import type { AmiEvent } from '../../../daemon/pbx/asterisk/ami-client.js';
import type { LinkState } from '../../../daemon/net/reconnecting-link.js';
import { captureLogger } from '../../support/harness.js';
import { ManualClock } from '../../support/manual-clock.js';

class FakeAmi implements FailCounterAmi {
  currentState: LinkState = 'stopped';
  readonly db = new Map<string, string>();
  readonly actions: string[] = [];
  /** Deliver DBGetResponse before the Success response (as Asterisk may in one TCP read). */
  eventFirst = false;
  failGet = false;
  private n = 0;
  private readonly events = new Set<(e: AmiEvent) => void>();
  private readonly states = new Set<(s: LinkState) => void>();

  onEvent(l: (e: AmiEvent) => void): () => void {
    this.events.add(l);
    return () => this.events.delete(l);
  }
  onState(l: (s: LinkState) => void): () => void {
    this.states.add(l);
    return () => this.states.delete(l);
  }
  set(s: LinkState): void {
    this.currentState = s;
    for (const l of this.states) l(s);
  }

  async action(name: string, fields: Readonly<Record<string, string>> = {}): Promise<Readonly<Record<string, string>>> {
    const id = `cs-${++this.n}`;
    const key = `${String(fields.Family)}/${String(fields.Key)}`;
    this.actions.push(`${name} ${key}${fields.Val !== undefined ? `=${fields.Val}` : ''}`);
    if (name === 'DBPut') {
      this.db.set(key, fields.Val ?? '');
      return { Response: 'Success', ActionID: id };
    }
    if (this.failGet) throw new Error('AMI DBGet failed: Permission denied');
    const v = this.db.get(key);
    if (v === undefined) throw new Error('AMI DBGet failed: Database entry not found');
    const event = (): void => {
      for (const l of this.events)
        l({
          name: 'DBGetResponse',
          fields: { Event: 'DBGetResponse', Family: fields.Family ?? '', Key: fields.Key ?? '', Val: v, ActionID: id },
        });
    };
    if (this.eventFirst) event();
    else queueMicrotask(event);
    return { Response: 'Success', ActionID: id, EventList: 'start' };
  }
}

function rig(): {
  ami: FakeAmi;
  counter: DialplanFailCounter;
  timers: ManualClock;
  recorded: Array<[string, number]>;
  lines: Array<Record<string, unknown>>;
} {
  const ami = new FakeAmi();
  const timers = new ManualClock();
  const recorded: Array<[string, number]> = [];
  const { logger, lines } = captureLogger('info');
  const counter = new DialplanFailCounter({
    ami,
    metrics: { recordDialplanFailMode: (m, n) => recorded.push([m, n]) },
    logger,
    timers,
    eventTimeoutMs: 1000,
  });
  return { ami, counter, timers, recorded, lines };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

t.test('counts unscreened minus seen at login, writes seen, then only new ones at each poll', async (t) => {
  const { ami, counter, timers, recorded, lines } = rig();
  ami.db.set(`${STATS_FAMILY}/unscreened_open`, '12');
  ami.db.set(`${STATS_FAMILY}/seen_open`, '5');
  await counter.start();
  t.same(ami.actions, [], 'nothing asked while AMI is down');
  ami.set('connected');
  await settle();
  t.same(recorded, [['open', 7]], '12 - 5 = 7 new fail-open calls');
  t.equal(ami.db.get(`${STATS_FAMILY}/seen_open`), '12', 'seen moved up');
  t.match(
    lines.filter((l) => /the dialplan handled/.test(String(l.msg))),
    [{ level: 40, mode: 'open', count: 7, total: 12 }],
  );
  ami.db.set(`${STATS_FAMILY}/unscreened_open`, '13');
  ami.db.set(`${STATS_FAMILY}/unscreened_closed`, '2');
  timers.advance(FAIL_COUNTER_POLL_MS);
  await settle();
  t.same(
    recorded,
    [
      ['open', 7],
      ['open', 1],
      ['closed', 2],
    ],
    'the poll counts what is new, in each mode',
  );
  timers.advance(FAIL_COUNTER_POLL_MS);
  await settle();
  t.equal(recorded.length, 3, 'nothing new: nothing recorded or logged');
  t.equal(lines.filter((l) => /the dialplan handled/.test(String(l.msg))).length, 3);
  await counter.stop();
  t.equal(timers.pending, 0, 'stop cancels the poll');
});

t.test('a counter reset by hand is counted afresh; the value event may come first', async (t) => {
  const { ami, counter, recorded } = rig();
  ami.eventFirst = true;
  ami.db.set(`${STATS_FAMILY}/unscreened_open`, '3');
  ami.db.set(`${STATS_FAMILY}/seen_open`, '40');
  ami.currentState = 'connected';
  await counter.start();
  await settle();
  t.same(recorded, [['open', 3]]);
  t.equal(ami.db.get(`${STATS_FAMILY}/seen_open`), '3');
  await counter.stop();
});

t.test('DBGet refused: logged once, health says so, recovers', async (t) => {
  const { ami, counter, timers, recorded, lines } = rig();
  ami.failGet = true;
  ami.currentState = 'connected';
  await counter.start();
  await settle();
  timers.advance(FAIL_COUNTER_POLL_MS);
  await settle();
  t.equal(
    lines.filter((l) => /cannot read the dialplan fail counters/.test(String(l.msg))).length,
    1,
    'one warning for two failed reads',
  );
  t.match(counter.health(), { ok: false, required: false, detail: { lastError: /Permission denied/ } });
  ami.failGet = false;
  ami.db.set(`${STATS_FAMILY}/unscreened_open`, '1');
  timers.advance(FAIL_COUNTER_POLL_MS);
  await settle();
  t.same(recorded, [['open', 1]]);
  t.match(counter.health(), { ok: true, detail: { open: 1 } });
  await counter.stop();
});
