// Nothing the AstDB mirror answers may differ from the daemon's own verdict (#20). Random rule sets
// (exact, prefix, pattern, timed, expired, observe mode, DID-scoped, allow over block, attested-only
// allows, contacts) and random
// callers (listed, under a prefix, unlisted, withheld; E.164, national and trunk-prefixed forms of
// the org's region — US, GB and DE by seed) are put to a model of the
// contract's mirror priorities (test/support/mirror-dialplan.ts) reading the AstDB
// the mirror wrote, and to the daemon's `screenSync`. Where the model answers, it must answer what
// the daemon does; where it does not, the call goes to FastAGI, which is the daemon. The rule set is
// then changed (blocks, unblocks, allows, prefixes) and compared again, so incremental updates are
// held to the same standard as a full sync. Fixed seeds, so the run is the same on every machine;
// CS_MIRROR_SEED runs another one.
import t from 'tap';
import { prng as rng } from '../../support/prng.js';
import type { CallerForm } from '../../../daemon/pbx/asterisk/astdb-mirror.js';
import { id2Caller } from '../../../daemon/pbx/asterisk/agi-protocol.js';
import type { ScreenRequest } from '../../../daemon/core/screen-request.js';
import { cliActor } from '../../support/harness.js';
import { startedMirror } from '../../support/fake-ami-mirror.js';
import { mirrorAnswer } from '../../support/mirror-dialplan.js';

const DIDS = ['+15550100', '+15550101'];
const ROUNDS = 4;
const CALLERS_PER_ROUND = 250;

/** Over all seeds: one seed's rules may leave the mirror little to answer (an allow prefix over the space, a pattern). */
const totals = { answered: 0, compared: 0, national: 0, withHeaders: 0 };
const SEEDS = process.env.CS_MIRROR_SEED ? [Number(process.env.CS_MIRROR_SEED)] : [1, 2, 3, 4, 5, 6];

/** `astdb_caller_forms` by seed: a form left out must send its callers to FastAGI. */
const FORMS: ReadonlyArray<readonly CallerForm[]> = [
  ['e164', 'national', 'trunk'],
  ['e164', 'national', 'trunk'],
  ['e164'],
  ['e164', 'national'],
  ['e164', 'national', 'trunk'],
  ['e164', 'trunk'],
  ['e164', 'national', 'trunk'],
];

/** The org's region by seed, a small number space in it, and its trunk prefix for national forms. */
const REGIONS = [
  { region: 'US', cc: '+1', base: '+1555777', width: 4, trunk: '1' },
  { region: 'GB', cc: '+44', base: '+447700900', width: 3, trunk: '0' }, // plan with rules: national misses go to FastAGI
  { region: 'DE', cc: '+49', base: '+4930777', width: 4, trunk: '0' },
] as const;

for (const seed of SEEDS)
  t.test(`seed ${seed}: the mirror never answers differently from the daemon`, async (t) => {
    const random = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const R = REGIONS[seed % REGIONS.length]!;
    t.comment(`region ${R.region}, caller forms ${FORMS[seed % FORMS.length]!.join(' ')}`);
    // A small number space, so prefixes, exact entries and callers overlap often.
    const number = (): string => `${R.base}${String(Math.floor(random() * 400)).padStart(R.width, '0')}`;
    /** As a trunk sends it: E.164, national, or trunk prefix + national. */
    const presented = (e164: string): string => {
      const r = random();
      return r < 0.35 ? e164.slice(R.cc.length) : r < 0.6 ? R.trunk + e164.slice(R.cc.length) : e164;
    };
    const prefix = (): string => number().slice(0, R.base.length + 1 + Math.floor(random() * 3));

    const { s, ctx, ami, timers, mirror } = await startedMirror(t, {
      region: R.region,
      dids: DIDS,
      logLevel: 'warn',
      options: { aliveTtlMs: 60_000, window: 16, callerForms: FORMS[seed % FORMS.length]! },
    });

    const listed = new Set<string>();
    const prefixes = new Set<string>();
    /** One random change to the list; failures the service refuses on purpose (duplicates…) are fine. */
    const change = async (): Promise<void> => {
      const r = random();
      try {
        if (r < 0.35) {
          const n = number();
          // Now and then in observe mode, or for one DID only (#16): the mirror must leave those to FastAGI.
          const extra = random() < 0.1 ? { observe: true } : random() < 0.1 ? { dids: [pick(DIDS)] } : {};
          await s.blocklist.block(
            'demo',
            { kind: 'exact', number: n },
            { mode: pick(['reject', 'voicemail'] as const), ...(random() < 0.2 ? { expires: '1h' } : {}), ...extra },
            cliActor,
          );
          listed.add(n);
        } else if (r < 0.38) {
          // A wildcard pattern (#16): no exclusion pattern says it, so the org is no longer complete.
          await s.blocklist.block(
            'demo',
            { kind: 'pattern', pattern: `${number().slice(0, 10)}?${String(Math.floor(random() * 10))}` },
            { mode: 'reject' },
            cliActor,
          );
        } else if (r < 0.5) {
          const p = prefix();
          await s.blocklist.block(
            'demo',
            { kind: 'prefix', prefix: p },
            { mode: pick(['reject', 'voicemail'] as const), ...(random() < 0.3 ? { expires: '2h' } : {}) },
            cliActor,
          );
          prefixes.add(p);
        } else if (r < 0.62) {
          const n = random() < 0.5 && listed.size > 0 ? pick([...listed]) : number();
          await s.blocklist.allow(
            'demo',
            { kind: 'exact', number: n },
            random() < 0.2 ? { expires: '30m' } : random() < 0.15 ? { requireAttestation: true } : {},
            cliActor,
          );
        } else if (r < 0.68) {
          await s.blocklist.allow('demo', { kind: 'prefix', prefix: prefix() }, {}, cliActor);
        } else if (r < 0.74) {
          const c = await s.contacts.add('demo', `Contact ${Math.floor(random() * 1e6)}`, [number()], cliActor);
          if (random() < 0.5)
            await s.blocklist.block('demo', { kind: 'contact', contactId: c.id }, { mode: 'voicemail' }, cliActor);
        } else if (r < 0.9 && listed.size > 0) {
          const n = pick([...listed]);
          await s.blocklist.unblock('demo', { kind: 'exact', number: n }, cliActor);
          listed.delete(n);
        } else if (prefixes.size > 0) {
          const p = pick([...prefixes]);
          await s.blocklist.unblock('demo', { kind: 'prefix', prefix: p }, cliActor);
          prefixes.delete(p);
        }
      } catch (err) {
        if (!(err instanceof Error && 'code' in err)) throw err;
      }
    };
    /** P-Asserted-Identity / Remote-Party-ID a carrier (or a hostile caller) sends with caller ID `cid`. */
    const headers = (cid: string): { pai: string; rpid: string } => {
      const other = presented(number());
      const r = random();
      if (r < 0.4) return { pai: '', rpid: '' };
      const pai = pick([
        `<sip:${cid}@carrier.example;user=phone>`,
        `Carrier <sip:${cid}@10.0.0.1>`,
        `<tel:${cid}>`,
        `<tel:${cid};verstat=TN-Validation-Passed>`,
        `<sip:${cid}@h>, <sip:${other}@h>`,
        `<sip:${other}@h>, <sip:${cid}@h>`,
        `"Name" <sip:${cid}@h>`,
        `"<sip:${cid}@x>" <sip:${other}@h>`,
        `<sip:${other}@h>`,
        '<sip:anonymous@anonymous.invalid>',
        `<sip:${cid};isub=1@h>`,
        `<sip:@${cid}@h>`,
        `<SIP:${cid}@h>`,
        `<sip:${cid}@h@evil>`,
        `<sip:${cid}%40x@h>`,
        `<sip:${cid}@h;verstat=TN-Validation-Failed>`,
        `sip:${cid}@h`,
        '',
      ]);
      const rpid =
        random() < 0.6
          ? ''
          : pick([
              `<sip:${cid}@h>;party=calling;privacy=off;screen=yes`,
              `<sip:${cid}@h>;party=calling;privacy=full`,
              `<sip:${cid}@h>;privacy=uri`,
              `<sip:${cid}@h>;party=called`,
              `<sip:${other}@h>;party=calling`,
              `<sip:${cid}@h>`,
              `"x" <sip:${cid}@h>;party=calling`,
            ]);
      return { pai, rpid };
    };
    const caller = (): { from: string; privacy: string } => {
      const r = random();
      if (r < 0.4 && listed.size > 0) return { from: presented(pick([...listed])), privacy: '' };
      if (r < 0.55 && prefixes.size > 0) {
        const p = pick([...prefixes]);
        return { from: presented(p + number().slice(p.length)), privacy: '' };
      }
      if (r < 0.6) return { from: presented(pick(DIDS)), privacy: '' }; // an own DID, spoofed
      if (r < 0.63)
        return {
          from: pick(['72345', '0000000000', '011445551234', '00447700900123', number().slice(R.cc.length + 1)]),
          privacy: '',
        };
      if (r < 0.68) return { from: number(), privacy: 'id' };
      if (r < 0.71) return { from: '', privacy: '' };
      return { from: presented(number()), privacy: '' };
    };

    for (let i = 0; i < 25; i++) await change();
    await ctx.feed.poll();
    ami.setState('connected');
    await mirror.idle();
    t.equal(mirror.currentState, 'live', 'synced');

    let answered = 0;
    let national = 0;
    let withHeaders = 0;
    let compared = 0;
    const mismatches: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < CALLERS_PER_ROUND; i++) {
        const { from, privacy } = caller();
        const { pai, rpid } = headers(from);
        const did = pick(DIDS);
        const now = s.clock.now();
        const m = mirrorAnswer(ami, { caller: from, did, privacy, nowMs: now, pai, rpid });
        compared++;
        if (m === 'fastagi') continue;
        answered++;
        if (!from.startsWith('+')) national++;
        if (pai !== '' || rpid !== '') withHeaders++;
        // What the FastAGI route would screen: the contract's id2 headers read by the daemon's one
        // precedence (PAI > Remote-Party-ID > From; docs/caller-identity.md), From as PJSIP received it.
        const b64 = (h: string): string => Buffer.from(`:${h}`).toString('base64');
        const id = id2Caller({
          agi_arg_1: `id2:${[pai, rpid, privacy, '', '', `<sip:${from}@carrier.example>`].map(b64).join(':')}`,
          agi_callerid: from,
        });
        if (!id) throw new Error('id2 not read');
        const req: ScreenRequest = {
          org: 'demo',
          channel: 'call',
          direction: 'inbound',
          from: id.from,
          to: did,
          withheld: id.withheld,
          callId: `d${round}-${i}`,
          ...(id.attestation ? { attestation: id.attestation } : {}),
        };
        const v = ctx.screener.screenSync(req);
        const detail =
          m.action === 'allow'
            ? ''
            : `${v.action === 'reject' ? String(v.sipCode ?? 603) : ''}|${v.rule ? `${v.rule.kind}:${v.rule.id}` : ''}|`;
        if (v.action !== m.action || (m.action !== 'allow' && detail !== m.detail)) {
          mismatches.push(
            `round ${round}: ${from} → mirror ${m.action} ${m.detail}, daemon ${v.action} ${detail} (${v.reason})`,
          );
        }
      }
      // Change the list, let the feed deliver it and the mirror apply it, and let time pass (timed
      // entries expire: the mirror must not be left claiming what no longer holds).
      for (let i = 0; i < 12; i++) await change();
      await ctx.feed.poll();
      await mirror.idle();
      s.clock.advance(Math.floor(random() * 3) * 45 * 60_000);
      timers.advance(20_000); // the heartbeat (ttl/3), from the advanced clock
      await mirror.idle();
    }
    t.same(mismatches.slice(0, 10), [], `no answer differs (${mismatches.length} of ${answered} differed)`);
    t.comment(`the mirror answered ${answered} of ${compared} calls (${national} in national or trunk-prefixed form)`);
    totals.national += national;
    totals.withHeaders += withHeaders;
    totals.answered += answered;
    totals.compared += compared;
    t.equal(mirror.currentState, 'live', 'still live after the changes');
  });

t.test(
  'across the seeds the mirror answered a good share of the calls, so the comparison means something',
  async (t) => {
    t.ok(totals.compared > 0 && totals.answered > totals.compared / 20, `${totals.answered} of ${totals.compared}`);
    t.ok(totals.national > totals.answered / 10, `${totals.national} of them in national or trunk-prefixed form`);
    t.ok(
      totals.withHeaders > totals.answered / 10,
      `${totals.withHeaders} of them with a P-Asserted-Identity or Remote-Party-ID asserting the caller ID`,
    );
  },
);
