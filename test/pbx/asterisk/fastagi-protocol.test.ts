// The AGI wire format (daemon/pbx/asterisk/agi-protocol.ts): quoting, replies, routes, callers.
import t from 'tap';
import {
  agentEndpoint,
  argsOf,
  inboundCaller,
  parseEnvLine,
  parseReply,
  quoteArg,
  scriptOf,
  setVariable,
} from '../../../daemon/pbx/asterisk/agi-protocol.js';

t.test('quoting: backslashes and quotes escaped, control characters cannot start a second command', async (t) => {
  t.equal(quoteArg('plain'), '"plain"');
  t.equal(quoteArg('a "b" \\c'), '"a \\"b\\" \\\\c"');
  t.equal(quoteArg('one\nSET VARIABLE X 1'), '"one SET VARIABLE X 1"');
  t.equal(quoteArg(''), '""');
  t.equal(setVariable('CALLSCREEN_REASON', 'x"y'), 'SET VARIABLE CALLSCREEN_REASON "x\\"y"');
  t.throws(() => setVariable('bad name', 'x'), /not a channel variable/);
});

t.test('replies: code, result and the value up to the last parenthesis', async (t) => {
  t.match(parseReply('200 result=1'), { code: 200, result: 1, value: undefined });
  t.match(parseReply('200 result=1 (<sip:+1555@h> (x))'), { code: 200, result: 1, value: '<sip:+1555@h> (x)' });
  t.match(parseReply('200 result=0'), { code: 200, result: 0 });
  t.match(parseReply('511 result=-1 Command Not Permitted on a dead channel'), { code: 511, result: -1 });
  t.match(parseReply('510 Invalid or unknown command'), { code: 510 });
  t.ok(Number.isNaN(parseReply('510 Invalid or unknown command')?.result));
  t.equal(parseReply('HANGUP'), null);
});

t.test('environment lines and routes', async (t) => {
  t.same(parseEnvLine('agi_callerid: +15551234567'), { key: 'agi_callerid', value: '+15551234567' });
  t.same(parseEnvLine('agi_arg_2: '), { key: 'agi_arg_2', value: '' });
  t.same(parseEnvLine('agi_arg_2:  two spaces'), { key: 'agi_arg_2', value: ' two spaces' });
  t.equal(parseEnvLine('GET / HTTP/1.1'), null);
  t.equal(parseEnvLine('agi_: x'), null);
  t.equal(scriptOf({ agi_network_script: 'call-inbound' }), 'call-inbound');
  t.equal(scriptOf({ agi_request: 'agi://127.0.0.1:4573/sms-inbound?x=1' }), 'sms-inbound', 'from agi_request');
  t.equal(scriptOf({ agi_network_script: '/call-outbound' }), 'call-outbound');
  t.equal(scriptOf({ agi_network_script: 'other' }), undefined);
  t.same(argsOf({ agi_arg_1: 'a', agi_arg_2: 'b', agi_arg_4: 'gap' }), ['a', 'b']);
});

t.test('inbound caller: Privacy and PAI per the contract', async (t) => {
  t.same(inboundCaller({ agi_callerid: '+15551234567', agi_calleridname: 'Bob', agi_arg_1: '', agi_arg_2: '' }), {
    from: '+15551234567',
    name: 'Bob',
    withheld: false,
    fromPai: false,
  });
  t.match(inboundCaller({ agi_callerid: '+15551234567', agi_arg_1: 'id;critical' }), {
    from: '+15551234567',
    withheld: true,
  });
  t.match(inboundCaller({ agi_callerid: 'anonymous', agi_arg_1: '', agi_arg_2: '' }), {
    from: 'anonymous',
    withheld: true,
  });
  t.match(
    inboundCaller({ agi_callerid: 'anonymous', agi_arg_1: 'id', agi_arg_2: '"A', agi_arg_3: ' B" <sip:+1555@h>' }),
    { from: '"A, B" <sip:+1555@h>', withheld: true, fromPai: true },
    'PAI re-joined',
  );
  t.match(inboundCaller({ agi_callerid: 'unknown', agi_calleridname: 'unknown' }), {
    from: 'unknown',
    name: '',
    withheld: true,
  });
});

t.test('agent endpoint from the channel, else the SIP URI user', async (t) => {
  const p = /^(PJSIP|SIP)\/(agent[0-9]+)/;
  t.equal(agentEndpoint(p, 'PJSIP/agent101-0000001a'), 'agent101');
  t.equal(agentEndpoint(p, 'Message/ast_msg_queue', '<sip:agent102@127.0.0.1>'), 'agent102');
  t.equal(agentEndpoint(p, 'PJSIP/carrier-0001'), undefined);
});
