/**
 * The contract's AstDB mirror priorities (config/asterisk/extensions.conf, docs/asterisk-contract.md
 * "AstDB mirror") read literally, over an AstDB kept in a Map (fake-ami.ts): what the dialplan answers
 * a call from the keys the mirror wrote, or 'fastagi'. The unit suites and the randomized comparison
 * with the daemon's own verdict (astdb-mirror-differential.test.ts) use it; the real Asterisk runs the
 * same priorities in test/e2e/asterisk-astdb-mirror.test.ts.
 */

/** The mirror's AstDB family as the fake AMI keeps it: keys without the family. */
export interface MirrorDb {
  get(key: string): string | undefined;
}

export type MirrorAnswer = { readonly action: string; readonly detail: string } | 'fastagi';

export interface MirrorCall {
  /** CALLERID(num) as PJSIP has it. */
  readonly caller: string;
  /** EXTEN, the dialled DID. */
  readonly did: string;
  /** The clock (ms): the heartbeat `alive` is compared with ${EPOCH}. */
  readonly nowMs: number;
  readonly privacy?: string;
  readonly pai?: string;
  readonly rpid?: string;
}

/**
 * `national/<org>` applied to a caller ID of digits, as the mirror-national priority does: the
 * pattern (third field on) matching → "-"; else "+", the calling code, and the caller ID without its
 * first digit when that is the trunk prefix (second field).
 */
export function nationalKey(value: string, caller: string): string {
  const [cc = '', trunk = '', ...pattern] = value.split('|');
  if (new RegExp(pattern.join('|')).test(caller)) return '-';
  return `+${cc}${trunk !== '' && caller.startsWith(trunk) ? caller.slice(1) : caller}`;
}

/**
 * Priority 1: usable (no Privacy, PAI / Remote-Party-ID absent or asserting exactly the caller ID,
 * heartbeat current, caller `+digits` or digits) → the DID's org, else "-"; a key n/<org>/<caller> →
 * its value. Priority 2: not one of our DIDs, `complete/<org>` present and not matching → allow.
 * Priority 3 (callers without "+"): `national/<org>` present → the same two steps for the E.164
 * number it reads. Anything else → FastAGI.
 */
export function mirrorAnswer(db: MirrorDb, call: MirrorCall): MirrorAnswer {
  const { caller } = call;
  // `[<first char>]<rest>` so that "+" is literal, as the contract writes it.
  const c = `[${caller.slice(0, 1)}]${caller.slice(1)}`;
  const paiOk = new RegExp(`^x$|^x[A-Za-z0-9 ._-]*<(sips?:${c}@[^@>]*|tel:${c}(;[^@>]*)?)>`).test(`x${call.pai ?? ''}`);
  const rpidOk = new RegExp(
    `^x$|^x[A-Za-z0-9 ._-]*<sips?:${c}@[^@>]*>(;party=calling|;screen=yes|;screen=no|;privacy=off)*$`,
  ).test(`x${call.rpid ?? ''}`);
  const usable =
    (call.privacy ?? '') === '' &&
    paiOk &&
    rpidOk &&
    Number(db.get('alive') ?? 0) >= Math.floor(call.nowMs / 1000) &&
    /^([+][1-9])?[0-9]+$/.test(caller);
  const org = usable ? (db.get(`did/${call.did}`) ?? '') : '-';
  const lookUp = (key: string): MirrorAnswer | null => {
    const listed = db.get(`n/${org}/${key}`);
    if (listed !== undefined) {
      const [action = '', ...rest] = listed.split('|');
      return { action, detail: rest.join('|') };
    }
    const complete = db.get(`did/${key}`) === undefined ? db.get(`complete/${org}`) : undefined;
    if (key !== '-' && complete !== undefined && !new RegExp(complete).test(key))
      return { action: 'allow', detail: '' };
    return null;
  };
  const direct = lookUp(caller);
  if (org === '-') return direct ?? 'fastagi';
  if (direct !== null) return direct;
  const national = /^[0-9]/.test(caller) ? db.get(`national/${org}`) : undefined;
  return (national !== undefined ? lookUp(nationalKey(national, caller)) : null) ?? 'fastagi';
}

/** The callers the dialplan sends to FastAGI (answered neither as listed nor as allowed). */
export function toFastAgi(db: MirrorDb, callers: readonly string[], did: string, nowMs: number): string[] {
  return callers.filter((caller) => mirrorAnswer(db, { caller, did, nowMs }) === 'fastagi');
}
