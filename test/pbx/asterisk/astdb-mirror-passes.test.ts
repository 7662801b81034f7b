// A full sync with national caller forms runs in two passes: E.164 keys, then live, then the national
// forms one page per job. Against the fake AMI, with a DBPut held to stop the sync between its passes.
import t from 'tap';
import type { AmiMessage } from '../../../daemon/pbx/asterisk/ami-protocol.js';
import { cliActor, type TapLike } from '../../support/harness.js';
import { FakeAmi } from '../../support/fake-ami.js';
import {
  excludedBy as excluded,
  PLAIN_US as PLAIN,
  startedMirror,
  usForms as forms,
} from '../../support/fake-ami-mirror.js';

const BLOCKED = '+15557770001';
const VOICEMAIL = '+15557770002';
const LATER = '+15557770005';
const DID = '+15550100';

/** The national forms alone (`5557770001`, `15557770001`). */
const national = (e164: string): string[] => forms(e164).slice(1);

/** Holds the first DBPut of a key without "+" (a national form) until `release()`. */
class HeldAmi extends FakeAmi {
  private gate: Promise<void> | null = null;
  release: () => void = () => undefined;
  /** Resolves when the held DBPut arrived. */
  held: Promise<string>;
  private onHeld: (key: string) => void = () => undefined;

  constructor() {
    super();
    this.gate = new Promise((r) => (this.release = r));
    this.held = new Promise((r) => (this.onHeld = r));
  }

  override action(name: string, fields: Readonly<Record<string, string>> = {}): Promise<AmiMessage> {
    const key = fields.Key ?? '';
    if (this.gate !== null && name === 'DBPut' && /^n\/demo\/[0-9]/.test(key)) {
      const gate = this.gate;
      this.gate = null;
      this.onHeld(key);
      return gate.then(() => super.action(name, fields));
    }
    return super.action(name, fields);
  }
}

async function setup(t: TapLike) {
  return startedMirror(t, {
    dids: [DID],
    ami: new HeldAmi(),
    options: { pageSize: 2 },
    beforeStart: async (s) => {
      await s.blocklist.block('demo', { kind: 'exact', number: BLOCKED }, { mode: 'reject' }, cliActor);
      await s.blocklist.block('demo', { kind: 'exact', number: VOICEMAIL }, { mode: 'voicemail' }, cliActor);
    },
  });
}

t.test('live after the E.164 keys, national forms written after, complete widened last', async (t) => {
  const { ami, mirror } = await setup(t);
  ami.setState('connected');
  const heldKey = await ami.held;
  t.equal(heldKey, `n/demo/${national(BLOCKED)[0] ?? ''}`, 'the second pass begins with the first number');
  t.equal(mirror.currentState, 'live', 'live between the passes');
  t.ok(mirror.formsPending, 'national forms pending');
  for (const n of [BLOCKED, VOICEMAIL]) t.ok(ami.get(`n/demo/${n}`), `${n} written under E.164`);
  t.equal(ami.get(heldKey), undefined, 'the held national form not yet');
  for (const f of national(VOICEMAIL)) t.equal(ami.get(`n/demo/${f}`), undefined, `${f} (a later page) not yet`);
  t.same(
    excluded(ami.get('complete/demo'), PLAIN),
    national(PLAIN[0] ?? ''),
    'meanwhile every caller ID without "+" goes to FastAGI; unlisted E.164 callers are allowed',
  );
  t.ok(ami.get('alive'), 'the heartbeat is up');
  ami.release();
  await mirror.idle();
  t.notOk(mirror.formsPending, 'every form written');
  for (const n of [BLOCKED, VOICEMAIL]) for (const f of forms(n)) t.ok(ami.get(`n/demo/${f}`), `${f} written`);
  t.same(excluded(ami.get('complete/demo'), PLAIN), [], 'complete widened: unlisted national callers allowed');
  const puts = ami.actions.filter((a) => a.name === 'DBPut').map((a) => a.fields.Key ?? '');
  const alive = puts.indexOf('alive');
  const firstNational = puts.findIndex((k) => /^n\/demo\/[0-9]/.test(k));
  t.ok(alive < firstNational, 'alive put before any national form');
  t.ok(
    puts.slice(0, alive).every((k) => !/^n\/demo\/[0-9]/.test(k)),
    'only E.164 keys, the DID and complete before alive',
  );
  t.equal(puts.at(-1), 'complete/demo', 'complete widened after the last national form');
  t.ok(mirror.counters.lastAllFormsMs >= mirror.counters.lastSyncMs, 'both times kept');
});

t.test('a change during the second pass runs between its pages, under every form', async (t) => {
  const { s, ctx, ami, mirror } = await setup(t);
  ami.setState('connected');
  await ami.held; // the first page's national form of BLOCKED is on its way
  // BLOCKED unblocked (its national keys are being written by this page) and LATER blocked.
  await s.blocklist.unblock('demo', { kind: 'exact', number: BLOCKED }, cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: LATER }, { mode: 'reject' }, cliActor);
  await ctx.feed.poll();
  ami.release();
  await mirror.idle();
  for (const f of forms(BLOCKED)) t.equal(ami.get(`n/demo/${f}`), undefined, `${f} gone, national forms too`);
  for (const f of forms(LATER)) t.ok(ami.get(`n/demo/${f}`), `${f} written by the change`);
  for (const f of forms(VOICEMAIL)) t.ok(ami.get(`n/demo/${f}`), `${f} written`);
  const keys = ami.actions.map((a) => `${a.name} ${a.fields.Key ?? ''}`);
  const change = keys.indexOf(`DBPut n/demo/${LATER}`);
  const lastPage = keys.lastIndexOf(`DBPut n/demo/${national(VOICEMAIL)[0] ?? ''}`);
  t.ok(change >= 0 && change < lastPage, 'the change did not wait for the whole pass');
  t.same(excluded(ami.get('complete/demo'), PLAIN), [], 'complete widened at the end');
});

t.test('AMI lost between the passes: idle, and the next connect syncs in full again', async (t) => {
  const { ami, mirror } = await setup(t);
  ami.setState('connected');
  await ami.held;
  ami.setState('backoff');
  ami.release();
  await mirror.idle();
  t.equal(mirror.currentState, 'idle');
  const before = mirror.counters.fullSyncs;
  ami.setState('connected');
  await mirror.idle();
  t.equal(mirror.counters.fullSyncs, before + 1, 'a full sync again');
  t.notOk(mirror.formsPending);
  for (const n of [BLOCKED, VOICEMAIL]) for (const f of forms(n)) t.ok(ami.get(`n/demo/${f}`), `${f} written`);
});

t.test('E.164 alone: one pass, nothing pending', async (t) => {
  const { ami, mirror } = await startedMirror(t, {
    dids: [DID],
    options: { callerForms: ['e164'] },
    beforeStart: async (s) => {
      await s.blocklist.block('demo', { kind: 'exact', number: BLOCKED }, { mode: 'reject' }, cliActor);
    },
  });
  ami.setState('connected');
  await mirror.idle();
  t.notOk(mirror.formsPending);
  t.equal(mirror.counters.lastAllFormsMs, mirror.counters.lastSyncMs);
  t.equal(ami.actions.filter((a) => a.name === 'DBPut').at(-1)?.fields.Key, 'alive', 'alive put last');
});
