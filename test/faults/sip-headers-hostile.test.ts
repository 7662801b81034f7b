// Hostile SIP headers through the real Asterisk 22 sandbox (issue #8): odd caller IDs, huge display
// names, URIs with parameters and headers, non-ASCII and invalid UTF-8, and a blocked number hidden
// behind URI parameters, escapes or punctuation. SIPp plays the carrier with the whole From value
// (and up to two more header lines) given on its command line (test/e2e/sipp/inbound-call-hostile-from.xml).
//
// For every case: the verdict (the call's final SIP response, the disposition the sandbox dialplan
// announces on a 200, and the daemon's own record of the call) is the expected one; afterwards
// Asterisk and the daemon are still up and no channel is left. The security property is that
// formatting is never a bypass: every disguise of a blocked number is still rejected.
// Each case prints what was sent and what came back.
//
// Needs root (chroot); takes the machine-wide sandbox lock (waits for another sandbox user).
// CALLSCREEN_SKIP_SANDBOX=1 skips.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { ScreenedRow } from '../../daemon/services/screen-recorder.js';
import { demoServices, sandboxUnavailable, startAsteriskDaemon } from '../support/asterisk-suite.js';
import { captureLogger, cliActor, tempDir, until, wallClock } from '../support/harness.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { describeSipp, runSipp, SCENARIO_DIR, type SippResult } from '../support/sipp.js';

t.setTimeout(5 * 60_000);

const SCENARIO = 'inbound-call-hostile-from.xml';
const BLOCKED = '+15557771001';
const BLOCKED_INTL = '+442079460958';
const BLOCKED_PREFIX = '+1555888';
const UNLISTED = '+15557770004';
const CARRIER = '127.0.0.2';
/** A harmless header line for the scenario's free header slots. */
const PAD = 'X-Callscreen-Pad: -';

/** What the daemon must have decided (and Asterisk then done), or what Asterisk did on its own. */
type Expect =
  /** `number`: what the daemon must have screened (E.164), or with `prefix` what it must start with. */
  | { verdict: 'reject'; number: string; prefix?: true }
  | { verdict: 'allow' | 'voicemail' }
  /** Refused by Asterisk's SIP stack before any dialplan: a final code, or dropped with no response at all. */
  | { asterisk: number | 'dropped'; why: string };

interface Case {
  name: string;
  /** The From header value without its tag; a Buffer when it must hold bytes argv cannot carry. */
  from: string | Buffer;
  h1?: string;
  h2?: string;
  expect: Expect;
  /**
   * With the AstDB mirror on: true when the dialplan must answer it from AstDB (no FastAGI), false
   * when it must leave it to FastAGI (the mirror cannot prove the daemon's reading); unset, either.
   */
  mirror?: boolean;
}

const digits = (n: number): string => Array.from({ length: n }, (_, i) => String((i * 7 + 3) % 10)).join('');
const anon = '"Anonymous" <sip:anonymous@anonymous.invalid>';

const CASES: Case[] = [
  {
    name: 'control: the blocked number, plain',
    from: `<sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
    mirror: true,
  },
  { name: 'control: an unlisted number, plain', from: `<sip:${UNLISTED}@${CARRIER}>`, expect: { verdict: 'allow' } },
  // Display names
  {
    name: 'display name of 2,500 characters',
    from: `"${'A'.repeat(2500)}" <sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'display name of 20,000 characters, unlisted number',
    from: `"${'B'.repeat(20_000)}" <sip:${UNLISTED}@${CARRIER}>`,
    expect: { verdict: 'allow' },
  },
  {
    name: 'quotes and backslashes in the display name',
    from: `"Evil \\"Corp\\" \\\\ Ltd\\\\" <sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: '<, >, commas, semicolons and a fake URI inside the quoted display name',
    from: `"<sip:${UNLISTED}@x>, a;b" <sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'non-ASCII UTF-8 display name (é, 中文, emoji)',
    from: `"Élodie 中文 📞☎️" <sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'invalid UTF-8 bytes in the display name (FF FE C3 28 80)',
    from: Buffer.concat([
      Buffer.from('"'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80]),
      Buffer.from(` x" <sip:${BLOCKED}@${CARRIER}>`),
    ]),
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'unbalanced quote in the display name',
    from: `"Evil <sip:${BLOCKED}@${CARRIER}>`,
    expect: { asterisk: 'dropped', why: 'PJSIP: syntax error in From, the INVITE is dropped unanswered' },
  },
  // The user part
  {
    name: 'punctuation in the user part: +1(555)777-1001',
    from: `<sip:+1(555)777-1001@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'escaped spaces and punctuation: +1%20(555)%20777-1001',
    from: `<sip:+1%20(555)%20777-1001@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'dots as separators: +1.555.777.1001',
    from: `<sip:+1.555.777.1001@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: '% escapes in the user part: %2B1555777%31001',
    from: `<sip:%2B1555777%31001@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'national format: 5557771001',
    from: `<sip:5557771001@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
    mirror: true,
  },
  {
    name: 'trunk prefix: 15557771001',
    from: `<sip:15557771001@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
    mirror: true,
  },
  {
    name: 'national format, unlisted: 5557770004',
    from: `<sip:5557770004@${CARRIER}>`,
    expect: { verdict: 'allow' },
    mirror: true,
  },
  {
    name: 'national format under the block prefix: 5558880001',
    from: `<sip:5558880001@${CARRIER}>`,
    expect: { verdict: 'reject', number: `${BLOCKED_PREFIX}0001` },
    mirror: false,
  },
  {
    name: 'leading 011 (US international access)',
    from: `<sip:011442079460958@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED_INTL },
  },
  {
    name: 'leading 00 (international access)',
    from: `<sip:00442079460958@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED_INTL },
  },
  // URI forms, parameters, headers
  { name: 'tel: URI', from: `<tel:${BLOCKED}>`, expect: { verdict: 'reject', number: BLOCKED } },
  {
    name: 'tel: URI with separators and a parameter',
    from: '<tel:+1-555-777-1001;cpc=ordinary>',
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'sip: URI with ;user=phone;isup-oli=00',
    from: `<sip:${BLOCKED}@${CARRIER};user=phone;isup-oli=00>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'parameters in the user part: ;isup-oli=00;cpc=ordinary',
    from: `<sip:${BLOCKED};isup-oli=00;cpc=ordinary@${CARRIER};user=phone>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: '?headers in the URI',
    from: `<sip:${BLOCKED}@${CARRIER}?X-Foo=bar&Subject=hi%20there>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'addr-spec without <>, with header parameters',
    from: `sip:${BLOCKED}@${CARRIER};user=phone;x-oli=00`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'upper-case scheme SIP:',
    from: `<SIP:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'an 8,000-character URI parameter',
    from: `<sip:${BLOCKED}@${CARRIER};x=${'y'.repeat(8000)}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  // Numbers that are not numbers
  { name: 'anonymous', from: anon, expect: { verdict: 'voicemail' } },
  { name: 'no user part at all', from: `<sip:${CARRIER}>`, expect: { verdict: 'voicemail' } },
  {
    name: 'empty user part: sip:@host',
    from: `<sip:@${CARRIER}>`,
    expect: { asterisk: 'dropped', why: 'PJSIP: syntax error in From, the INVITE is dropped unanswered' },
  },
  { name: 'letters: CALLME', from: `<sip:CALLME@${CARRIER}>`, expect: { verdict: 'voicemail' } },
  {
    name: 'letters after the blocked number: +15557771001abc',
    from: `<sip:${BLOCKED}abc@${CARRIER}>`,
    expect: { verdict: 'voicemail' },
  },
  {
    name: '*67 before the blocked number',
    from: `<sip:*67${BLOCKED.slice(2)}@${CARRIER}>`,
    expect: { verdict: 'voicemail' },
  },
  {
    name: 'a 300-digit number under a blocked prefix (+1555888…)',
    from: `<sip:${BLOCKED_PREFIX}${digits(293)}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED_PREFIX, prefix: true },
  },
  // P-Asserted-Identity (the daemon screens it when From is anonymous)
  {
    name: 'anonymous From, Privacy: id, PAI tel:+1-555-777-1001',
    from: anon,
    h1: 'Privacy: id',
    h2: 'P-Asserted-Identity: <tel:+1-555-777-1001>',
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'anonymous From, PAI display name with commas and quotes',
    from: anon,
    h1: 'Privacy: id',
    h2: `P-Asserted-Identity: "Spam, \\"Inc\\", Ltd" <sip:${BLOCKED}@${CARRIER};user=phone>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'anonymous From, PAI display name holding < and >',
    from: anon,
    h1: 'Privacy: id',
    h2: `P-Asserted-Identity: "a<b>c" <sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'anonymous From, PAI display name with an unbalanced parenthesis',
    from: anon,
    h1: 'Privacy: id',
    h2: `P-Asserted-Identity: "Spam (Inc" <sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'anonymous From, PAI display name holding a fake URI of an unlisted number',
    from: anon,
    h1: 'Privacy: id',
    h2: `P-Asserted-Identity: "<sip:${UNLISTED}@x>" <sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
  },
  {
    name: 'blocked From with Privacy: id',
    from: `"Private" <sip:${BLOCKED}@${CARRIER}>`,
    h1: 'Privacy: id',
    expect: { verdict: 'reject', number: BLOCKED },
  },
  // P-Asserted-Identity is the network-asserted caller and wins over From on every path (#16,
  // docs/caller-identity.md); PJSIP passes it only from endpoints it trusts (trust_id_inbound), as
  // the sandbox's carrier trunk is. So the unlisted PAI is what is screened.
  {
    name: 'blocked From, PAI asserting an unlisted number',
    from: `<sip:${BLOCKED}@${CARRIER}>`,
    h1: `P-Asserted-Identity: <sip:${UNLISTED}@${CARRIER}>`,
    expect: { verdict: 'allow' },
  },
  // A carrier that always sends PAI (or Remote-Party-ID) asserting the caller ID keeps the mirror
  // (#20): the dialplan accepts only headers whose number is exactly the caller ID, read the way
  // the daemon reads them; anything it cannot prove goes to FastAGI.
  {
    name: 'PAI asserting the From number',
    from: `<sip:${BLOCKED}@${CARRIER}>`,
    h1: `P-Asserted-Identity: <sip:${BLOCKED}@${CARRIER};user=phone>`,
    expect: { verdict: 'reject', number: BLOCKED },
    mirror: true,
  },
  {
    name: 'PAI tel: with verstat asserting the From number',
    from: `<sip:${BLOCKED}@${CARRIER}>`,
    h1: `P-Asserted-Identity: <tel:${BLOCKED};verstat=TN-Validation-Passed>`,
    expect: { verdict: 'reject', number: BLOCKED },
    mirror: true,
  },
  {
    name: 'unlisted From, PAI asserting it',
    from: `<sip:${UNLISTED}@${CARRIER}>`,
    h1: `P-Asserted-Identity: Carrier <sip:${UNLISTED}@${CARRIER}>`,
    expect: { verdict: 'allow' },
    mirror: true,
  },
  {
    name: 'national From, PAI asserting it: 5557771001',
    from: `<sip:5557771001@${CARRIER}>`,
    h1: `P-Asserted-Identity: <sip:5557771001@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
    mirror: true,
  },
  {
    name: 'Remote-Party-ID asserting the From number, party=calling',
    from: `<sip:${BLOCKED}@${CARRIER}>`,
    h1: `Remote-Party-ID: <sip:${BLOCKED}@${CARRIER}>;party=calling;privacy=off;screen=yes`,
    expect: { verdict: 'reject', number: BLOCKED },
    mirror: true,
  },
  {
    name: 'PAI with a quoted display name holding another URI',
    from: `<sip:${UNLISTED}@${CARRIER}>`,
    h1: `P-Asserted-Identity: "<sip:${UNLISTED}@x>" <sip:${BLOCKED}@${CARRIER}>`,
    expect: { verdict: 'reject', number: BLOCKED },
    mirror: false,
  },
  {
    name: 'unlisted From, RPID privacy=full',
    from: `<sip:${UNLISTED}@${CARRIER}>`,
    h1: `Remote-Party-ID: <sip:${UNLISTED}@${CARRIER}>;party=calling;privacy=full`,
    expect: { verdict: 'voicemail' },
    mirror: false,
  },
];

/** Up to this many cases run at once, each on its own DID (the daemon's records are matched by DID). */
const BATCH = 5;

/** Readable, bounded rendering of what was sent. */
function shown(v: string | Buffer): string {
  const s =
    typeof v === 'string'
      ? v
      : [...v]
          .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
          .join('');
  const j = JSON.stringify(s);
  return j.length > 140 ? `${j.slice(0, 70)}…${j.slice(-50)} (${s.length} chars)` : j;
}

/** A copy of the scenario with the From written in as bytes (argv cannot carry invalid UTF-8). */
function scenarioWithFrom(dir: string, from: Buffer, n: number): string {
  const template = readFileSync(join(SCENARIO_DIR, SCENARIO));
  const at = template.indexOf('[cs_from]');
  const path = join(dir, `hostile-from-${n}.xml`);
  writeFileSync(path, Buffer.concat([template.subarray(0, at), from, template.subarray(at + '[cs_from]'.length)]));
  return path;
}

if (sandboxUnavailable !== null) {
  t.test(
    'hostile From / P-Asserted-Identity / display names through the real Asterisk',
    { skip: sandboxUnavailable },
    () => undefined,
  );
} else {
  // Three times: FastAGI alone, then with the AstDB mirror in front ([ami] astdb_mirror = true), which
  // answers in the dialplan when the caller ID is +digits or a national form, no Privacy header came
  // and any PAI / Remote-Party-ID asserts exactly the caller ID: no case may get a different verdict
  // from it. This org has a prefix block: callers under it go to FastAGI (docs/asterisk-contract.md).
  // The mirror is read by callscreen's module (CALLSCREEN_MIRROR(), "The module"), then by the
  // dialplan's own priorities with the module unloaded.
  for (const [mirror, form] of [
    [false, null],
    [true, 'module'],
    [true, 'dialplan'],
  ] as const)
    t.test(
      `hostile From / P-Asserted-Identity / display names through the real Asterisk${mirror ? `, AstDB mirror on (${form === 'module' ? "callscreen's module" : "the dialplan's own priorities"})` : ''}`,
      async (t) => {
        const s = await demoServices(t, mirror ? { clock: wallClock(t) } : {});
        await s.blocklist.block(
          'demo',
          { kind: 'exact', number: BLOCKED },
          { mode: 'reject', reason: 'robocaller' },
          cliActor,
        );
        await s.blocklist.block(
          'demo',
          { kind: 'exact', number: BLOCKED_INTL },
          { mode: 'reject', reason: 'overseas robocaller' },
          cliActor,
        );
        await s.blocklist.block(
          'demo',
          { kind: 'prefix', prefix: BLOCKED_PREFIX },
          { mode: 'reject', reason: 'spoofed range' },
          cliActor,
        );
        await s.blocklist.block(
          'demo',
          { kind: 'unidentified' },
          { mode: 'voicemail', reason: 'no caller id' },
          cliActor,
        );

        // The sandbox lock before the daemon: with the mirror on, another test file's sandbox.stop()
        // (which drops the callscreen family) must not come after the mirror's first sync.
        const began = Date.now();
        const { logger, lines } = captureLogger('info');
        const { ctx, agi } = await startAsteriskDaemon(t, s, {
          sandboxFirst: true,
          logger,
          toml: mirror ? '[ami]\nenabled = true\nsecret = "callscreen-sandbox"\nastdb_mirror = true' : '',
        });
        t.comment(`sandbox ready in ${Date.now() - began} ms (includes waiting for the sandbox lock)`);
        if (mirror) {
          const live = (): boolean => lines.some((l) => l.component === 'astdb-mirror' && l.to === 'live');
          t.ok(await until(live, 15_000, 20), 'the AstDB mirror is live');
          if (form === 'dialplan') await sandbox.withoutMirrorModule(t);
          t.equal(await sandbox.mirrorModuleLoaded(), form === 'module', `callscreen's module: ${form}`);
        }
        const orgId = ctx.index.org('demo')?.org.id ?? 0;
        const dir = tempDir(t);

        const place = async (c: Case, i: number, did: string): Promise<SippResult> => {
          const keys = (from: string | null): string[] => [
            ...(from === null ? [] : ['-key', 'cs_from', from]),
            '-key',
            'cs_h1',
            c.h1 ?? PAD,
            '-key',
            'cs_h2',
            c.h2 ?? PAD,
          ];
          return runSipp({
            scenario: typeof c.from === 'string' ? SCENARIO : scenarioWithFrom(dir, c.from, i),
            remote: sandbox.SANDBOX.sip,
            bindIp: sandbox.SANDBOX.carrierIp,
            caller: `case-${i}`,
            did,
            timeoutSec: 'asterisk' in c.expect && c.expect.asterisk === 'dropped' ? 3 : 8,
            extraArgs: keys(typeof c.from === 'string' ? c.from : null),
          });
        };

        let lastId = 0;
        const outcomes: Array<{ c: Case; r: SippResult; row: ScreenedRow | undefined; rows: number }> = [];
        for (let b = 0; b < CASES.length; b += BATCH) {
          const batch = CASES.slice(b, b + BATCH);
          const results = await Promise.all(batch.map((c, k) => place(c, b + k, sandbox.SANDBOX.dids[k]!)));
          // A call the mirror answered is recorded from its UserEvent, which the daemon reads up to
          // [ami] event_batch_ms (20 ms) later, maybe after SIPp is done: wait (at most 10 s) until
          // every call that should have reached the daemon has a record; a call that should not is
          // checked after that wait.
          const expected = batch.filter((c) => !('asterisk' in c.expect)).length;
          let fresh: ScreenedRow[] = [];
          await until(
            async () => {
              await ctx.recorder.flush();
              fresh = (await ctx.recorder.recent(orgId, 100)).filter((r) => r.id > lastId);
              return fresh.length >= expected;
            },
            10_000,
            20,
          );
          lastId = Math.max(lastId, ...fresh.map((r) => r.id));
          batch.forEach((c, k) => {
            const mine = fresh.filter((r) => r.to_raw === sandbox.SANDBOX.dids[k]);
            outcomes.push({ c, r: results[k]!, row: mine[0], rows: mine.length });
          });
        }

        for (const { c, r, row, rows } of outcomes) {
          const code = r.codes[0];
          const disposition = r.records.find((x) => x.kind === 'RESULT')?.disposition ?? '';
          const daemonSaw = row
            ? `daemon screened from=${shown(row.from_raw)} → ${row.number || '(no number)'} ${row.action}${row.rule_kind ? ` by ${row.rule_kind}` : ''} (${row.reason})`
            : 'no daemon record';
          t.comment(`sent From: ${shown(c.from)}${c.h1 ? ` + ${shown(c.h1)}` : ''}${c.h2 ? ` + ${shown(c.h2)}` : ''}`);
          t.comment(`  → ${c.name}: SIP ${code ?? 'none'}${disposition ? ` (${disposition})` : ''}; ${daemonSaw}`);
          await t.test(c.name, async (t) => {
            const e = c.expect;
            if ('asterisk' in e) {
              if (e.asterisk === 'dropped')
                t.same(r.codes, [], `no response at all (${e.why}) ${r.codes.length === 0 ? '' : describeSipp(r)}`);
              else
                t.equal(
                  code,
                  e.asterisk,
                  `Asterisk answered ${e.asterisk} itself (${e.why}) ${code === e.asterisk ? '' : describeSipp(r)}`,
                );
              t.equal(rows, 0, 'the call never reached the daemon');
              return;
            }
            t.equal(rows, 1, 'the daemon screened it exactly once');
            if (mirror && c.mirror !== undefined)
              t.equal(
                row?.adapter,
                c.mirror ? 'astdb-mirror' : 'fastagi',
                c.mirror ? 'answered by the AstDB mirror' : 'left to FastAGI by the mirror',
              );
            t.equal(row?.action, e.verdict, `the daemon's verdict is ${e.verdict}`);
            if (e.verdict === 'reject') {
              t.equal(code, 603, `rejected with 603 before answer ${code === 603 ? '' : describeSipp(r)}`);
              if (e.prefix) t.ok(row?.number.startsWith(e.number), `screened as a number under ${e.number}`);
              else t.equal(row?.number, e.number, `screened as ${e.number}`);
            } else {
              t.equal(code, 200, `answered ${code === 200 ? '' : describeSipp(r)}`);
              t.equal(disposition, e.verdict, `the dialplan did ${e.verdict}`);
            }
          });
        }

        await t.test('afterwards: Asterisk up, the daemon up, no channel left', async (t) => {
          t.ok(
            await until(async () => (await sandbox.activeChannels()) === 0, 15_000, 250),
            'no channel left in Asterisk (core show channels count = 0)',
          );
          t.ok(await sandbox.isRunning(), 'Asterisk still answers its CLI');
          const again = await runSipp({
            scenario: 'inbound-call.xml',
            remote: sandbox.SANDBOX.sip,
            bindIp: sandbox.SANDBOX.carrierIp,
            caller: BLOCKED,
            did: '+15550100',
            timeoutSec: 10,
          });
          t.same(again.codes, [603], 'a blocked caller is still rejected');
          t.equal(agi.counters.connections, 0, 'no FastAGI connection left open');
          if (mirror) {
            const byMirror = outcomes.filter((o) => o.row?.adapter === 'astdb-mirror');
            t.ok(
              byMirror.length > 0,
              `the mirror answered ${byMirror.length} of the cases (${byMirror.map((o) => o.c.name).join('; ')})`,
            );
          }
          t.equal(agi.counters.errors, 0, 'no FastAGI session error');
          const errors = lines.filter((l) => typeof l.level === 'number' && l.level >= 50);
          t.same(
            errors.map((l) => l.msg),
            [],
            'the daemon logged no error',
          );
          t.comment(
            `survived: ${outcomes.length} hostile calls; FastAGI accepted ${agi.counters.accepted}, protocol errors ${agi.counters.protocolErrors}, verdicts ${JSON.stringify(agi.counters.verdicts)}`,
          );
        });
      },
    );
}
