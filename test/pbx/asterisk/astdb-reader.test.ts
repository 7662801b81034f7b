// AstdbReader, the one DBGet reader (the mirror's marker, the dialplan fail counter), against the fake
// AMI of test/support/fake-ami.ts, which sends DBGetResponse before the action's response as one
// read of Asterisk's socket may: a value, a missing key (null), any other error (thrown), a value
// event that never comes (an error after the timeout, on the manual clock), and events of families
// it did not ask about left alone. The value arriving after the response: dialplan-fail-counter.test.ts.
import t from 'tap';
import { AstdbReader } from '../../../daemon/pbx/asterisk/astdb-reader.js';
import { FakeAmi } from '../../support/fake-ami.js';
import { ManualClock } from '../../support/manual-clock.js';

function rig(): { ami: FakeAmi; reader: AstdbReader; timers: ManualClock } {
  const ami = new FakeAmi();
  ami.setState('connected');
  const timers = new ManualClock();
  const reader = new AstdbReader(ami, timers, 1000);
  return { ami, reader, timers };
}

t.test('a value, and null for a key that does not exist', async (t) => {
  const { ami, reader } = rig();
  const detach = reader.attach();
  ami.db.set('/callscreen_stats/unscreened_open', '12');
  t.equal(await reader.get('callscreen_stats', 'unscreened_open'), '12');
  t.equal(await reader.get('callscreen_stats', 'seen_open'), null, '"Database entry not found" is no value');
  detach();
});

t.test('any other failure is thrown, not read as a missing key', async (t) => {
  const { ami, reader } = rig();
  reader.attach();
  ami.setState('backoff');
  await t.rejects(reader.get('callscreen', 'gen'), /AMI is not connected/);
});

t.test('no DBGetResponse within the timeout: an error naming the key and the wait (ms)', async (t) => {
  const { ami, reader, timers } = rig();
  reader.attach();
  ami.db.set('/callscreen/gen', 'x');
  ami.dropGetEvents = true;
  const pending = reader.get('callscreen', 'gen');
  await new Promise((r) => setImmediate(r));
  timers.advance(999);
  timers.advance(1);
  await t.rejects(pending, /^DBGet callscreen\/gen: no DBGetResponse within 1000 ms$/);
  t.equal(timers.pending, 0, 'no timer left');
});

t.test('detached: no longer hears the value events, so a read times out', async (t) => {
  const { ami, reader, timers } = rig();
  const detach = reader.attach();
  ami.db.set('/callscreen/gen', 'g');
  t.equal(await reader.get('callscreen', 'gen'), 'g', 'attached: read');
  detach();
  const pending = reader.get('callscreen', 'gen');
  await new Promise((r) => setImmediate(r));
  timers.advance(1000);
  await t.rejects(pending, /no DBGetResponse/);
});
