/**
 * The call path skips prefixes and patterns for a number whose one exact entry is an enforced,
 * whole-org, never-expiring block, when the org has no allow prefix or pattern (ScreeningIndex
 * `lookupSync(…, forVerdict)`). The verdicts must be those of `callscreen check` (NumberCheck, from
 * SQLite, every match) in every case next to that one: an allow pattern, an expiring block, an
 * observed block, a block scoped to another DID; and replays (what-if) still see every match.
 */
import t from 'tap';
import type { ScreenRequest } from '../../daemon/core/screen-request.js';
import { NumberCheck } from '../../daemon/services/number-check.js';
import { cliActor, services, startDaemon } from '../support/harness.js';

const DID = '+15550100';
const OTHER_DID = '+15550111';
const call = (from: string, to = DID): ScreenRequest => ({
  org: 'demo',
  channel: 'call',
  direction: 'inbound',
  from,
  to,
});

t.test(
  'an exact block decides beside block patterns; allow patterns, expiry, observe and DIDs still count',
  async (t) => {
    const s = await services(t);
    await s.orgs.add('demo', 'Demo', 'US', cliActor);
    await s.orgs.addDids('demo', [DID, OTHER_DID], cliActor);
    const wild = await s.blocklist.block(
      'demo',
      { kind: 'pattern', pattern: '+1415555????' },
      { mode: 'voicemail' },
      cliActor,
    );
    const prefix = await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1415' }, {}, cliActor);
    const exact = await s.blocklist.block('demo', { kind: 'exact', number: '+14155550123' }, {}, cliActor);
    const expiring = await s.blocklist.block(
      'demo',
      { kind: 'exact', number: '+14155550124' },
      { expires: s.clock.now() + 3_600_000 },
      cliActor,
    );
    await s.blocklist.block('demo', { kind: 'exact', number: '+14155550125' }, { observe: true }, cliActor);
    const scoped = await s.blocklist.block(
      'demo',
      { kind: 'exact', number: '+14155550126' },
      { dids: [OTHER_DID] },
      cliActor,
    );
    const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
    const check = new NumberCheck(s.db, s.normalizer, s.clock);
    const agree = async (req: ScreenRequest, want: { action: string; id: number }, what: string) => {
      const fast = ctx.screener.screenSync(req);
      const slow = await check.screen(req);
      t.same([fast.action, fast.rule?.id], [want.action, want.id], what);
      t.same(
        [fast.action, fast.rule?.id, fast.observed],
        [slow.action, slow.rule?.id, slow.observed],
        `check agrees: ${what}`,
      );
    };

    await agree(call('+14155550123'), { action: 'reject', id: exact.id }, 'the exact block, patterns skipped');
    const state = ctx.index.org('demo');
    if (state === undefined) throw new Error('no org');
    const subject = { kind: 'number', value: '+14155550123' } as const;
    t.same(ctx.index.lookupSync(state, subject, null, true).prefixes, [], 'the call path looked up no pattern');
    t.same(
      ctx.index
        .lookupSync(state, subject)
        .prefixes.map((e) => e.id)
        .sort((a, b) => a - b),
      [wild.id, prefix.id],
      'a replay sees every match',
    );
    await agree(call('+14155550124'), { action: 'reject', id: expiring.id }, 'an expiring block, before it expires');
    await agree(call('+14155550125'), { action: 'voicemail', id: wild.id }, 'an observed block: the pattern decides');
    await agree(
      call('+14155550126', OTHER_DID),
      { action: 'reject', id: scoped.id },
      'a block scoped to the DID called',
    );
    await agree(
      call('+14155550126'),
      { action: 'voicemail', id: wild.id },
      'scoped to another DID: the pattern decides',
    );
    s.clock.advance(3_600_001);
    await agree(call('+14155550124'), { action: 'voicemail', id: wild.id }, 'once expired, the pattern decides');

    // An allow pattern can beat an exact block: with one in the org nothing is skipped.
    const allow = await s.blocklist.allow('demo', { kind: 'pattern', pattern: '+141555501??' }, {}, cliActor);
    await ctx.feed.poll();
    await agree(call('+14155550123'), { action: 'allow', id: allow.id }, 'an allow pattern beats the exact block');
    await s.blocklist.disallow('demo', { kind: 'pattern', pattern: '+141555501??' }, cliActor);
    await ctx.feed.poll();
    await agree(call('+14155550123'), { action: 'reject', id: exact.id }, 'and once removed the block decides again');
  },
);
