// The AMI users, against a recording stand-in for the client's `action()` (the client itself is
// tested against a fake server in ami-client.test.ts): warning text and dedup, failures reported
// as false and retried by the other hook, released SMS (multi-line bodies base64), the dialled
// number read from DialBegin, and the wire encoding refusing header injection.
import t from 'tap';
import { ManualClock } from '../../support/manual-clock.js';
import { CallscreenError } from '../../../daemon/core/errors.js';
import type { Verdict } from '../../../daemon/core/verdict.js';
import { AmiAgentNotifier } from '../../../daemon/pbx/asterisk/ami-agent-notifier.js';
import type { AmiActions, DialBeginEvent } from '../../../daemon/pbx/asterisk/ami-client.js';
import { AmiMessageDeliverer } from '../../../daemon/pbx/asterisk/ami-message-deliverer.js';
import { AmiParser, encodeAction } from '../../../daemon/pbx/asterisk/ami-protocol.js';
import { dialledNumber } from '../../../daemon/pbx/asterisk/dial-watcher.js';
import { silentLogger } from '../../support/harness.js';

class RecordingAmi implements AmiActions {
  readonly sent: Array<{ name: string; fields: Record<string, string> }> = [];
  failWith: CallscreenError | null = null;
  async action(name: string, fields: Readonly<Record<string, string>> = {}) {
    if (this.failWith) throw this.failWith;
    this.sent.push({ name, fields: { ...fields } });
    return { Response: 'Success' };
  }
}

const verdict: Verdict = {
  action: 'deny',
  normalized: '+15559990666',
  rule: { id: 3, kind: 'exact', value: '+15559990666', name: 'Acme', reason: 'fraud' },
  reason: 'blocked',
};

t.test('notifier: MessageSend to the endpoint, dedup by call id within the window', async (t) => {
  const ami = new RecordingAmi();
  const clock = new ManualClock();
  const n = new AmiAgentNotifier(
    ami,
    { messageFrom: 'sip:callscreen@pbx', dedupWindowMs: 10_000 },
    clock,
    silentLogger(),
  );
  const w = {
    org: 'demo',
    endpoint: 'agent101',
    number: '+15559990666',
    channel: 'call' as const,
    verdict,
    callId: 'c1',
  };
  t.equal(await n.notify(w), true);
  t.same(ami.sent[0], {
    name: 'MessageSend',
    fields: {
      To: 'pjsip:agent101',
      From: 'sip:callscreen@pbx',
      Body: 'callscreen: You are calling +15559990666 (Acme), which is on the block list. Reason: fraud. The call was not placed.',
    },
  });
  t.equal(await n.notify(w), true, 'second hook for the same call');
  t.equal(ami.sent.length, 1, 'deduplicated');
  clock.advance(10_000);
  await n.notify(w);
  t.equal(ami.sent.length, 2, 'after the window the same id warns again');
  await n.notify({ ...w, callId: undefined });
  await n.notify({ ...w, callId: undefined });
  t.equal(ami.sent.length, 4, 'no call id: no dedup');
  t.match(n.counters, { sent: 4, deduplicated: 1, failed: 0 });
});

t.test('notifier: a failure returns false and lets the other hook retry', async (t) => {
  const ami = new RecordingAmi();
  const n = new AmiAgentNotifier(ami, { messageFrom: 'sip:cs@x' }, new ManualClock(), silentLogger());
  const w = {
    org: 'demo',
    endpoint: 'agent102',
    number: '+15559990666',
    channel: 'sms' as const,
    verdict: { ...verdict, action: 'warn' as const },
    callId: 'c2',
  };
  ami.failWith = new CallscreenError('CS_ERR_UNAVAILABLE', 'AMI is not connected');
  t.equal(await n.notify(w), false, 'never throws');
  ami.failWith = null;
  t.equal(await n.notify(w), true);
  t.match(ami.sent[0]?.fields.Body, /You are texting .* The message was sent\.$/);
  t.match(n.counters, { sent: 1, failed: 1, deduplicated: 0 });
});

t.test('deliverer: released SMS to deliverTo with the original sender; multi-line bodies base64', async (t) => {
  const ami = new RecordingAmi();
  const d = new AmiMessageDeliverer(ami);
  await d.deliver({
    id: 1,
    from: '<sip:+15557770009@127.0.0.2>',
    to: '+15550100',
    body: 'call me',
    deliverTo: 'pjsip:agent101',
  });
  t.same(ami.sent[0], {
    name: 'MessageSend',
    fields: { To: 'pjsip:agent101', From: '<sip:+15557770009@127.0.0.2>', Body: 'call me' },
  });
  await d.deliver({ id: 2, from: 'sip:a@b', to: '+15550100', body: 'line 1\nline 2', deliverTo: 'pjsip:agent102' });
  t.equal(Buffer.from(ami.sent[1]?.fields.Base64Body ?? '', 'base64').toString(), 'line 1\nline 2');
  t.notOk('Body' in (ami.sent[1]?.fields ?? {}));
  ami.failWith = new CallscreenError('CS_ERR_TIMEOUT', 'no response');
  await t.rejects(
    d.deliver({ id: 3, from: 'a', to: 'b', body: 'c', deliverTo: 'pjsip:agent101' }),
    { code: 'CS_ERR_TIMEOUT' },
    'errors reach the quarantine service',
  );
});

t.test('dialledNumber: DialString user part, else DestCallerIDNum, else Exten; names are not numbers', async (t) => {
  const base: DialBeginEvent = {
    channel: 'PJSIP/agent101-1',
    uniqueId: 'u',
    linkedId: 'u',
    callerIdNum: '101',
    exten: '',
    dialString: '',
    destChannel: '',
    destCallerIdNum: '',
  };
  t.equal(dialledNumber({ ...base, dialString: '+15559990666@carrier' }), '+15559990666');
  t.equal(dialledNumber({ ...base, dialString: 'PJSIP/0044207@trunk' }), '0044207');
  t.equal(
    dialledNumber({ ...base, dialString: 'agent102', destCallerIdNum: '<unknown>', exten: '5551234' }),
    '5551234',
  );
  t.equal(dialledNumber({ ...base, dialString: 'agent102', destCallerIdNum: '+15551112222' }), '+15551112222');
  t.equal(dialledNumber({ ...base, dialString: 'agent102', exten: 's' }), null);
});

t.test('protocol: values cannot inject headers; frames parse across chunk boundaries', async (t) => {
  const wire = encodeAction('MessageSend', 'cs-1', { Body: 'hi\r\nAction: Originate\r\n\r\nx' });
  t.equal(wire.split('\r\n\r\n').length, 2, 'one message, ended once');
  t.match(wire, /^Action: MessageSend\r\nActionID: cs-1\r\nBody: hi Action: Originate x\r\n\r\n$/);
  const p = new AmiParser();
  t.same(p.push('Asterisk Call Manager/9.0.0\r\nResponse: Succ'), [
    { kind: 'banner', text: 'Asterisk Call Manager/9.0.0' },
  ]);
  t.same(p.push('ess\r\nActionID: cs-1\r\nMessage: a: b\r\n\r\nEvent: DialBegin\r\n\r\n'), [
    { kind: 'message', fields: { Response: 'Success', ActionID: 'cs-1', Message: 'a: b' } },
    { kind: 'message', fields: { Event: 'DialBegin' } },
  ]);
  t.throws(() => new AmiParser(64).push('X'.repeat(100)), /larger than 64 bytes/);
});
