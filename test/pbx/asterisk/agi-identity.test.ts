// The FastAGI `id2` argument (docs/asterisk-contract.md): the headers in the shipped dialplan's
// order, each base64 of ":" + the header, read by the core precedence.
import t from 'tap';
import { id2Caller, inboundCaller } from '../../../daemon/pbx/asterisk/agi-protocol.js';

const b64 = (header: string): string => Buffer.from(`:${header}`).toString('base64');
/** As the dialplan builds it: PAI, Remote-Party-ID, Privacy, Attestation-Info, X-Attestation-Info, From. */
const id2 = (h: {
  pai?: string;
  rpid?: string;
  privacy?: string;
  info?: string;
  xinfo?: string;
  from?: string;
}): string => `id2:${[h.pai, h.rpid, h.privacy, h.info, h.xinfo, h.from].map((v) => b64(v ?? '')).join(':')}`;
const env = (arg: string, callerid = '+15550009999') => ({
  agi_arg_1: arg,
  agi_callerid: callerid,
  agi_calleridname: 'unknown',
});

t.test('each field lands on its header', async (t) => {
  t.match(inboundCaller(env(id2({ pai: '<sip:+15551110001;verstat=TN-Validation-Passed@c>' }))), {
    from: '+15551110001',
    withheld: false,
    attestation: { status: 'passed' },
  });
  t.match(inboundCaller(env(id2({ rpid: '<sip:+15551110002@c>;party=calling' }), 'anonymous')), {
    from: '+15551110002',
  });
  t.match(inboundCaller(env(id2({ pai: '<sip:+15551110001@c>', privacy: 'id' }))), {
    from: '+15551110001',
    withheld: true,
  });
  t.match(inboundCaller(env(id2({ pai: '<sip:+15551110001;verstat=TN-Validation-Passed@c>', xinfo: 'B' }))), {
    attestation: { status: 'passed', level: 'B' },
  });
  t.match(inboundCaller(env(id2({ from: '<sip:+15551110003;verstat=TN-Validation-Failed@c;user=phone>;tag=1' }))), {
    from: '+15551110003',
    attestation: { status: 'failed' },
  });
});

t.test('quotes and commas survive (base64), so a display name chooses nothing', async (t) => {
  const c = inboundCaller(env(id2({ pai: '"<sip:+12025550199@x>, Esq." <sip:+15551110001@c>' })));
  t.equal(c.from, '+15551110001');
  t.equal(c.fromPai, false, 'no second round trip for the PAI');
});

t.test('no header with a number: the PBX caller ID, else withheld', async (t) => {
  t.match(inboundCaller(env(id2({}))), { from: '+15550009999', withheld: false });
  t.match(inboundCaller(env(id2({ from: '"Anonymous" <sip:anonymous@anonymous.invalid>' }), 'anonymous')), {
    withheld: true,
  });
});

t.test('From cannot spill into another field', async (t) => {
  // A caller-written From holding ":" and base64-looking text stays one field (it is the last).
  const c = inboundCaller(env(id2({ from: `"x" <sip:+15551110003@c>:${b64('id')}:${b64('A')}` })));
  t.match(c, { from: '+15551110003', withheld: false });
  t.equal(c.attestation, undefined);
});

t.test('the legacy form is not id2', async (t) => {
  t.equal(id2Caller({ agi_arg_1: 'id', agi_arg_2: '<sip:+15551110001@c>' }), undefined);
  t.match(inboundCaller({ agi_arg_1: 'id', agi_arg_2: '<sip:+15551110001@c>', agi_callerid: 'anonymous' }), {
    from: '<sip:+15551110001@c>',
    fromPai: true,
    withheld: true,
  });
});
