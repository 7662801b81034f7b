/**
 * The randomized comparison of the AstDB mirror with the daemon's own verdicts (#20), shared by the
 * in-process suite (test/pbx/asterisk/astdb-mirror-differential.test.ts: the contract's dialplan
 * priorities, modelled, over a fake AMI) and the real-Asterisk one
 * (test/e2e/asterisk-mirror-module.test.ts: callscreen's module over the real AstDB). Random changes to
 * org `demo`'s list (exact, prefix, pattern, timed, observe mode, DID-scoped, allow over block,
 * attested-only allows, contacts), callers in every form of the org's region (E.164, national,
 * trunk-prefixed, own DIDs spoofed, short and odd numbers, withheld), P-Asserted-Identity and
 * Remote-Party-ID as carriers and hostile callers send them, and what the daemon says of such a call.
 */
import { id2Caller } from '../../daemon/pbx/asterisk/agi-protocol.js';
import type { ScreenRequest } from '../../daemon/core/screen-request.js';
import type { Verdict } from '../../daemon/core/verdict.js';
import { cliActor, type services } from './harness.js';

type Services = Awaited<ReturnType<typeof services>>;

/** The org's region, a small number space in it (so entries and callers overlap), its trunk prefix. */
export interface MirrorRegion {
  readonly region: string;
  readonly cc: string;
  readonly base: string;
  readonly width: number;
  readonly trunk: string;
}

export const MIRROR_REGIONS: readonly MirrorRegion[] = [
  { region: 'US', cc: '+1', base: '+1555777', width: 4, trunk: '1' },
  { region: 'GB', cc: '+44', base: '+447700900', width: 3, trunk: '0' }, // plan with rules: national misses go to FastAGI
  { region: 'DE', cc: '+49', base: '+4930777', width: 4, trunk: '0' },
];

/** One inbound call as the carrier presents it. */
export interface MirrorCase {
  readonly from: string;
  readonly privacy: string;
  readonly pai: string;
  readonly rpid: string;
  readonly did: string;
}

export interface MirrorScenario {
  /** One random change to the list; refusals the service makes on purpose (duplicates…) are ignored. */
  readonly change: () => Promise<void>;
  /** A random call to one of the DIDs. */
  readonly call: () => MirrorCase;
}

export function mirrorScenario(
  random: () => number,
  s: Pick<Services, 'blocklist' | 'contacts'>,
  R: MirrorRegion,
  dids: readonly string[],
): MirrorScenario {
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[Math.floor(random() * xs.length)];
    if (x === undefined) throw new Error('picked from an empty list');
    return x;
  };
  const number = (): string => `${R.base}${String(Math.floor(random() * 400)).padStart(R.width, '0')}`;
  /** As a trunk sends it: E.164, national, or trunk prefix + national. */
  const presented = (e164: string): string => {
    const r = random();
    return r < 0.35 ? e164.slice(R.cc.length) : r < 0.6 ? R.trunk + e164.slice(R.cc.length) : e164;
  };
  const prefix = (): string => number().slice(0, R.base.length + 1 + Math.floor(random() * 3));
  const listed = new Set<string>();
  const prefixes = new Set<string>();
  /** One random change to the list; failures the service refuses on purpose (duplicates…) are fine. */
  const change = async (): Promise<void> => {
    const r = random();
    try {
      if (r < 0.35) {
        const n = number();
        // Now and then in observe mode, or for one DID only (#16): the mirror must leave those to FastAGI.
        const extra = random() < 0.1 ? { observe: true } : random() < 0.1 ? { dids: [pick(dids)] } : {};
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
    if (r < 0.6) return { from: presented(pick(dids)), privacy: '' }; // an own DID, spoofed
    if (r < 0.63)
      return {
        from: pick(['72345', '0000000000', '011445551234', '00447700900123', number().slice(R.cc.length + 1)]),
        privacy: '',
      };
    if (r < 0.68) return { from: number(), privacy: 'id' };
    if (r < 0.71) return { from: '', privacy: '' };
    return { from: presented(number()), privacy: '' };
  };

  return {
    change,
    call: () => {
      const { from, privacy } = caller();
      return { from, privacy, ...headers(from), did: pick(dids) };
    },
  };
}

/** What the mirror answers: the listed value split at its first "|", or the daemon asked. */
export type MirrorAnswerText = { readonly action: string; readonly detail: string } | 'fastagi';

/**
 * The daemon's verdict on `c` as the FastAGI route would screen it — the contract's id2 headers
 * read by the daemon's one precedence (PAI > Remote-Party-ID > From; docs/caller-identity.md), From
 * as PJSIP received it — and the listed value the mirror would hold for it ("<sip code>|<rule>|").
 */
export function daemonAnswer(
  screener: { screenSync(req: ScreenRequest): Verdict },
  c: MirrorCase,
  callId: string,
): { action: string; detail: string; reason: string } {
  const b64 = (h: string): string => Buffer.from(`:${h}`).toString('base64');
  const id = id2Caller({
    agi_arg_1: `id2:${[c.pai, c.rpid, c.privacy, '', '', `<sip:${c.from}@carrier.example>`].map(b64).join(':')}`,
    agi_callerid: c.from,
  });
  if (!id) throw new Error('id2 not read');
  const v = screener.screenSync({
    org: 'demo',
    channel: 'call',
    direction: 'inbound',
    from: id.from,
    to: c.did,
    withheld: id.withheld,
    callId,
    ...(id.attestation ? { attestation: id.attestation } : {}),
  });
  const detail =
    v.action === 'allow'
      ? ''
      : `${v.action === 'reject' ? String(v.sipCode ?? 603) : ''}|${v.rule ? `${v.rule.kind}:${v.rule.id}` : ''}|`;
  return { action: v.action, detail, reason: v.reason };
}

/** Where the mirror answered, whether the daemon says the same (the detail only for blocks). */
export function sameAnswer(m: { action: string; detail: string }, d: { action: string; detail: string }): boolean {
  return m.action === d.action && (m.action === 'allow' || m.detail === d.detail);
}

/** What a comparison answered, summed over its seeds. */
export interface MirrorTotals {
  calls: number;
  answered: number;
  national: number;
  withHeaders: number;
}

/**
 * One seed's rules may leave the mirror little to answer (an allow prefix over the space, a
 * pattern): over all seeds it must have answered a good share of the calls, national forms and
 * asserting headers among them, for the comparison to mean something.
 */
export function checkMirrorCoverage(t: { ok(v: boolean, msg: string): void }, totals: MirrorTotals): void {
  t.ok(totals.calls > 0 && totals.answered > totals.calls / 20, `${totals.answered} of ${totals.calls}`);
  t.ok(totals.national > totals.answered / 10, `${totals.national} of them in national or trunk-prefixed form`);
  t.ok(
    totals.withHeaders > totals.answered / 10,
    `${totals.withHeaders} of them with a P-Asserted-Identity or Remote-Party-ID asserting the caller ID`,
  );
}
