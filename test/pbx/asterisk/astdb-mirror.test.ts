// AstdbMirror against a fake AMI that keeps an AstDB in a Map (DBPut / DBDel / DBDelTree with
// Asterisk's "not found" errors), over a real store, index and change feed. Timers and the clock are
// manual: heartbeats and retries are tested by advancing them. The real Asterisk is in
// test/e2e/asterisk-astdb-mirror.test.ts.
import t from 'tap';
import type { AstdbMirror, AstdbMirrorOptions } from '../../../daemon/pbx/asterisk/astdb-mirror.js';
import { mirrorValueOf } from '../../../daemon/pbx/asterisk/astdb-mirror-value.js';
import type { DaemonContext } from '../../../daemon/daemon-context.js';
import type { ScreenedRow } from '../../../daemon/services/screen-recorder.js';
import { cliActor, type TapLike } from '../../support/harness.js';
import type { FakeAmi } from '../../support/fake-ami.js';
import { startedMirror, type MirrorServices } from '../../support/fake-ami-mirror.js';
import { mirrorAnswer, toFastAgi } from '../../support/mirror-dialplan.js';

const BLOCKED = '+15557770001';
const VOICEMAIL = '+15557770002';
const OVERRIDDEN = '+15557770003';
const TIMED = '+15557770009';
const DID = '+15550100';

function setup(t: TapLike, options: Partial<AstdbMirrorOptions> = {}) {
  return startedMirror(t, {
    dids: [DID],
    options,
    beforeStart: async (s) => {
      await s.blocklist.block('demo', { kind: 'exact', number: BLOCKED }, { mode: 'reject', reason: 'spam' }, cliActor);
      await s.blocklist.block(
        'demo',
        { kind: 'exact', number: VOICEMAIL },
        { mode: 'voicemail', reason: 'ex-customer' },
        cliActor,
      );
      await s.blocklist.block('demo', { kind: 'exact', number: OVERRIDDEN }, { mode: 'reject' }, cliActor);
      await s.blocklist.allow('demo', { kind: 'exact', number: OVERRIDDEN }, { reason: 'our supplier' }, cliActor);
    },
  });
}

/** An E.164 number and the national forms region US reads as it (`5557770009`, `15557770009`). */
const forms = (e164: string): string[] => [e164, e164.slice(2), e164.slice(1)];
/** Unlisted callers in every form a US trunk sends: a complete org allows them in the dialplan. */
const PLAIN = forms('+15557770444');

/** The callers the contract's dialplan sends to FastAGI, calling DID now. */
const excluded = (r: { readonly s: MirrorServices; readonly ami: FakeAmi }, callers: readonly string[]): string[] =>
  toFastAgi(r.ami, callers, DID, r.s.clock.now());

async function connect(ami: FakeAmi, mirror: AstdbMirror): Promise<void> {
  ami.setState('connected');
  await mirror.idle();
}

async function records(ctx: DaemonContext): Promise<ScreenedRow[]> {
  await ctx.recorder.flush();
  return ctx.db.all<ScreenedRow>('SELECT * FROM screened ORDER BY id');
}

t.test('a full sync writes blocked numbers, DIDs, completeness and the heartbeat — nothing else', async (t) => {
  const { s, ami, mirror } = await setup(t);
  t.equal(mirror.currentState, 'idle', 'nothing before AMI is up');
  await connect(ami, mirror);
  t.equal(mirror.currentState, 'live');
  t.match(ami.get(`n/demo/${BLOCKED}`), /^reject\|603\|exact:\d+\|$/);
  t.match(ami.get(`n/demo/${VOICEMAIL}`), /^voicemail\|\|exact:\d+\|$/);
  t.equal(ami.get(`n/demo/${OVERRIDDEN}`), undefined, 'blocked and allowed: the allow wins, nothing stored');
  t.equal(ami.get(`did/${DID}`), 'demo');
  t.same(excluded({ s, ami }, PLAIN), [], 'complete, with nothing excluded (E.164 and national forms)');
  t.same(
    excluded({ s, ami }, ['72345', '0000000000', '011445551234', '1555777044']),
    ['72345', '0000000000', '011445551234', '1555777044'],
    'short codes, zeros, international and odd lengths go to FastAGI',
  );
  t.same(
    excluded({ s, ami }, [DID.slice(2)]),
    [DID.slice(2)],
    'an own DID in national form goes to FastAGI (it may be spoofed; only FastAGI reads attestation)',
  );
  t.equal(
    ami.get('national/demo')?.split('|').slice(0, 2).join('|'),
    '1|1',
    'region US: calling code 1, trunk prefix 1',
  );
  for (const f of forms(BLOCKED))
    t.match(
      mirrorAnswer(ami, { caller: f, did: DID, nowMs: s.clock.now() }),
      { action: 'reject', detail: /^603\|exact:\d+\|$/ },
      `${f} answered from the one E.164 key`,
    );
  t.equal(ami.get('alive'), String(Math.ceil((s.clock.now() + 15_000) / 1000)), 'alive = now + ttl, epoch seconds');
  t.same(
    [...ami.db.keys()].map((k) => k.replace('/callscreen/', '')).sort(),
    ['alive', 'complete/demo', `did/${DID}`, 'national/demo', `n/demo/${BLOCKED}`, `n/demo/${VOICEMAIL}`].sort(),
    'two numbers (one key each), one DID, how the region reads national callers, complete, alive',
  );
  const firstPut = ami.actions.findIndex((a) => a.name === 'DBPut');
  t.same(
    ami.actions.slice(0, firstPut).map((a) => a.name),
    ['DBDel', 'DBDelTree', 'CallScreenDBPut'],
    'alive withdrawn and the tree cleared before any write (then: is the module loaded? no)',
  );
  const keys = ami.actions.map((a) => a.fields.Key ?? '');
  t.ok(keys.indexOf('complete/demo') < keys.indexOf('alive', firstPut), 'complete before alive');
  t.equal(ami.actions.at(-1)?.fields.Key, 'alive', 'alive put back last');
});

t.test('a block that will expire is not mirrored; completeness excludes that number until it is gone', async (t) => {
  const { s, ctx, ami, mirror } = await setup(t);
  await s.blocklist.block('demo', { kind: 'exact', number: TIMED }, { mode: 'reject', expires: '1h' }, cliActor);
  await ctx.feed.poll();
  await connect(ami, mirror);
  t.equal(ami.get(`n/demo/${TIMED}`), undefined, 'the FastAGI route answers it (its verdict changes with time)');
  t.same(
    excluded({ s, ami }, [...forms(TIMED), ...PLAIN]),
    forms(TIMED),
    'that caller goes to FastAGI in every form; other unlisted callers are still allowed',
  );
  await s.blocklist.unblock('demo', { kind: 'exact', number: TIMED }, cliActor);
  await ctx.feed.poll();
  await mirror.idle();
  t.same(excluded({ s, ami }, forms(TIMED)), [], 'nothing excluded again');
});

t.test(
  'changes: a number added or removed is written at once; a prefix rewrites the org and is excluded',
  async (t) => {
    const { s, ctx, ami, mirror } = await setup(t);
    await connect(ami, mirror);
    await s.blocklist.block(
      'demo',
      { kind: 'exact', number: '+15557770100' },
      { mode: 'reject', reason: 'new' },
      cliActor,
    );
    await s.blocklist.unblock('demo', { kind: 'exact', number: BLOCKED }, cliActor);
    await ctx.feed.poll();
    await mirror.idle();
    t.match(ami.get('n/demo/+15557770100'), /^reject\|603\|exact:\d+\|$/);
    t.equal(ami.get(`n/demo/${BLOCKED}`), undefined, 'unblocked: its key deleted');
    t.same(excluded({ s, ami }, forms(BLOCKED)), [], 'and it is allowed in every form');
    t.match(
      mirrorAnswer(ami, { caller: '5557770100', did: DID, nowMs: s.clock.now() }),
      { action: 'reject' },
      'the new one answered in national form too',
    );

    await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1555999' }, { mode: 'reject' }, cliActor);
    await ctx.feed.poll();
    await mirror.idle();
    t.same(
      excluded({ s, ami }, [...forms('+15559990001'), ...PLAIN]),
      forms('+15559990001'),
      'a prefix block: a miss under it proves nothing (any form), elsewhere it does',
    );
    t.ok(ami.get(`n/demo/${VOICEMAIL}`), 'listed numbers rewritten');
    t.equal(ami.get(`did/${DID}`), 'demo');
    // An allow prefix over a blocked number: its key must go.
    await s.blocklist.allow('demo', { kind: 'prefix', prefix: '+155577700' }, {}, cliActor);
    await ctx.feed.poll();
    await mirror.idle();
    t.equal(ami.get(`n/demo/${VOICEMAIL}`), undefined, 'allowed by prefix now');
    t.equal(mirror.currentState, 'live');
  },
);

t.test(
  'an exclusion pattern longer than one AMI line: the org is left incomplete and the sync still succeeds',
  async (t) => {
    const { s, ctx, ami, mirror } = await setup(t);
    // 120 block prefixes of 8 digits: "1555xxxx|" each, a pattern of ~1,100 characters. Asterisk reads
    // AMI lines of 1,024 bytes at most, and refuses a longer DBPut (the fake AMI does too).
    for (let i = 0; i < 120; i++)
      await s.blocklist.block('demo', { kind: 'prefix', prefix: `+1555${1000 + i}` }, { mode: 'reject' }, cliActor);
    await ctx.feed.poll();
    await connect(ami, mirror);
    t.equal(mirror.currentState, 'live', 'live: no refused write');
    t.equal(ami.get('complete/demo'), undefined, 'no completeness: every miss goes to FastAGI, which is safe');
    t.match(ami.get(`n/demo/${BLOCKED}`), /^reject\|/, 'listed numbers are still answered');
    t.same(excluded({ s, ami }, PLAIN), PLAIN, 'an unlisted caller goes to FastAGI');
    for (let i = 40; i < 120; i++)
      await s.blocklist.unblock('demo', { kind: 'prefix', prefix: `+1555${1000 + i}` }, cliActor);
    await ctx.feed.poll();
    await mirror.idle();
    t.ok((ami.get('complete/demo') ?? '').length > 300, 'with 40 prefixes the pattern fits: complete again');
    t.same(excluded({ s, ami }, PLAIN), [], 'and unlisted callers are allowed in-process');
    t.equal(mirror.currentState, 'live');
  },
);

t.test('heartbeat every ttl/3 with the clock; AMI lost → idle; back → full sync that removes stale keys', async (t) => {
  const { s, ami, mirror, timers } = await setup(t);
  await connect(ami, mirror);
  s.clock.advance(5000);
  timers.advance(5000);
  await mirror.idle();
  t.equal(ami.get('alive'), String(Math.ceil((s.clock.now() + 15_000) / 1000)), 'renewed from the clock');
  ami.setState('backoff');
  t.equal(mirror.currentState, 'idle');
  t.equal(timers.pending, 0, 'no heartbeat while AMI is down');
  ami.db.set('/callscreen/n/demo/+19999999999', 'reject|603|exact:99|');
  await connect(ami, mirror);
  t.equal(mirror.currentState, 'live');
  t.equal(ami.get('n/demo/+19999999999'), undefined, 'a key the list no longer has is gone');
});

t.test('a refused write: idle (calls go to FastAGI), retried after retryMs', async (t) => {
  const { ami, mirror, timers, lines } = await setup(t);
  ami.refuse.add(`n/demo/${BLOCKED}`);
  await connect(ami, mirror);
  t.equal(mirror.currentState, 'idle');
  t.equal(ami.get('alive'), undefined, 'never marked alive');
  t.ok(
    lines.some(
      (l) =>
        l.msg?.toString().startsWith('AstDB mirror update failed') &&
        (l.err as { message?: string }).message?.includes('Failed to update entry'),
    ),
    'logged with the reason',
  );
  ami.refuse.clear();
  timers.advance(5000);
  await mirror.idle();
  t.equal(mirror.currentState, 'live', 'the retry synced');
  t.ok(ami.get(`n/demo/${BLOCKED}`));
});

t.test('calls the dialplan answered: recorded, counted and logged; a lagging answer is flagged', async (t) => {
  const { ctx, ami, mirror, lines } = await setup(t);
  await connect(ami, mirror);
  ami.emit({ Org: 'demo', From: BLOCKED, To: DID, Action: 'reject', Uniqueid: '1700000000.1' });
  // As the shipped dialplan sends it: no Org, the DID names it.
  ami.emit({ From: '+15557770555', To: DID, Action: 'allow', Uniqueid: '1700000000.2' });
  // The mirror said reject, the list (now) says allow: the call was rejected, so that is recorded.
  ami.emit({ Org: 'demo', From: '+15557770556', To: DID, Action: 'reject', Uniqueid: '1700000000.3' });
  // A listed number not in the LRU is read from SQLite first: its record may come last.
  let rows = await records(ctx);
  for (let i = 0; i < 50 && rows.length < 3; i++)
    rows = (await new Promise((r) => setTimeout(r, 10)), await records(ctx));
  rows.sort((a, b) => String(a.call_id).localeCompare(String(b.call_id)));
  t.match(rows, [
    {
      number: BLOCKED,
      action: 'reject',
      rule_kind: 'exact',
      adapter: 'astdb-mirror',
      call_id: '1700000000.1',
      to_raw: DID,
    },
    { number: '+15557770555', action: 'allow', rule_kind: null, adapter: 'astdb-mirror' },
    {
      number: '+15557770556',
      action: 'reject',
      reason: /answered by the AstDB mirror \(reject\) before a change reached it/,
    },
  ]);
  t.equal(mirror.counters.disagreements, 1);
  t.ok(
    lines.some(
      (l) =>
        l.msg === 'screened' &&
        l.callId === '1700000000.1' &&
        l.org === 'demo' &&
        l.from === BLOCKED &&
        l.action === 'reject',
    ),
  );
});

t.test('stop withdraws the heartbeat', async (t) => {
  const { ami, mirror } = await setup(t);
  await connect(ami, mirror);
  await mirror.stop();
  t.equal(ami.get('alive'), undefined);
  t.equal(mirror.currentState, 'stopped');
});

t.test('mirrorValueOf: what is stored for one number', async (t) => {
  const policy = { region: 'US', rejectCode: 607, outboundPolicy: 'warn' } as unknown as Parameters<
    typeof mirrorValueOf
  >[2];
  const now = 1_000_000;
  const e = (over: Record<string, unknown>) =>
    ({
      id: 1,
      list: 'block',
      kind: 'exact',
      value: '+1555',
      mode: 'reject',
      name: '',
      reason: 'r|x\ny',
      expiresAt: null,
      ...over,
    }) as never;
  const m = (exact: never[], prefixes: never[] = [], protection: 'did' | null = null) => ({
    exact,
    prefixes,
    unidentified: [],
    protection,
  });
  const put = mirrorValueOf('+1555', m([e({})]), policy, now);
  t.ok(
    put.kind === 'put' && put.value === 'reject|607|exact:1|',
    'action, the org’s code, the rule; no free text (the dialplan splits it with MSet, on commas)',
  );
  const vm = mirrorValueOf('+1555', m([e({ mode: 'voicemail' })]), policy, now);
  t.ok(vm.kind === 'put' && vm.value === 'voicemail||exact:1|', 'voicemail: no SIP code');
  t.equal(mirrorValueOf('+1555', m([e({ expiresAt: now + 1 })]), policy, now).kind, 'unsure', 'expires later: unsure');
  t.equal(
    mirrorValueOf('+1555', m([e({ expiresAt: now })]), policy, now).kind,
    'none',
    'already expired: never matches again',
  );
  t.equal(
    mirrorValueOf('+1555', m([e({}), e({ id: 2, list: 'allow', expiresAt: now + 1 })]), policy, now).kind,
    'unsure',
    'a timed allow over a block: unsure',
  );
  t.equal(
    mirrorValueOf('+1555', m([e({ list: 'allow', expiresAt: now + 1 })]), policy, now).kind,
    'none',
    'only a timed allow: allowed either way',
  );
  t.equal(mirrorValueOf('+1555', m([e({})], [], 'did'), policy, now).kind, 'none', 'protected: never blocked');
  t.equal(
    mirrorValueOf('+1555', m([], [e({ kind: 'prefix', value: '+15' })]), policy, now).kind,
    'put',
    'a prefix block reaches a listed number',
  );
});

t.test(
  'identity rules (issue #16): completeness is withheld while a verdict may depend on the call’s headers',
  async (t) => {
    const { s, ctx, ami, mirror } = await setup(t);
    await connect(ami, mirror);
    t.same(excluded({ s, ami }, PLAIN), []);
    await s.orgs.updateSettings('demo', { attestationFailed: 'voicemail' }, cliActor);
    await ctx.feed.poll();
    await mirror.idle();
    t.equal(
      ami.get('complete/demo'),
      undefined,
      'failed verification has an action: any unlisted caller may be sent elsewhere',
    );
    t.match(
      ami.get(`n/demo/${BLOCKED}`),
      /^reject\|603\|exact:\d+\|$/,
      'blocked numbers are still answered by the mirror',
    );
    await s.orgs.updateSettings('demo', { attestationFailed: 'allow' }, cliActor);
    await ctx.feed.poll();
    await mirror.idle();
    t.same(excluded({ s, ami }, PLAIN), [], 'complete again');
    await s.blocklist.allow('demo', { kind: 'exact', number: '+15557790001' }, { requireAttestation: true }, cliActor);
    await ctx.feed.poll();
    await mirror.idle();
    t.same(
      excluded({ s, ami }, [...forms('+15557790001'), ...PLAIN]),
      forms('+15557790001'),
      'an "only when attested" entry: unsure, so that caller goes to FastAGI',
    );
  },
);

t.test('an org reading carrier stand-ins as unidentified is left to FastAGI whole', async (t) => {
  const { s, ctx, ami, mirror } = await setup(t);
  await connect(ami, mirror);
  t.ok(ami.get(`n/demo/${BLOCKED}`));
  await s.orgs.updateSettings('demo', { standinsUnidentified: true }, cliActor);
  await ctx.feed.poll();
  await mirror.idle();
  t.equal(
    ami.get(`n/demo/${BLOCKED}`),
    undefined,
    'no keys: a stand-in caller ID is unidentified for the daemon, which the mirror cannot see',
  );
  t.equal(ami.get('complete/demo'), undefined, 'and no completeness');
  t.equal(ami.get(`did/${DID}`), 'demo', 'the DID still names the org (its calls go to FastAGI)');
  await s.orgs.updateSettings('demo', { standinsUnidentified: false }, cliActor);
  await ctx.feed.poll();
  await mirror.idle();
  t.ok(ami.get(`n/demo/${BLOCKED}`), 'mirrored again when the setting is off');
});
