// MESSAGE events recorded from a real FreeSWITCH 1.10.12 (scripts/fs-sandbox, carrier profile,
// the shipped chatplan with callscreen_sms=screen): a carrier's SMS to +15550100, routed by the
// site to internal/agent101@127.0.0.1, as the bytes of the text/event-plain body arrived. Two
// events per message cross the daemon's filter:
// - message-event-fired.txt: the chatplan's `fire` (the one to screen);
// - message-event-after-chatplan.txt: the core's own report, fired after the chatplan with the
//   same headers plus final_delivery and Nonblocking-Delivery: true (the screener skips it).
// What they taught: no Event-UUID (the id is Core-UUID:Event-Sequence), `to` is what the routing
// set, the body keeps the sender's CRLF, dest_proto is sip.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseEventPlain } from '../../../daemon/pbx/freeswitch/esl-event.js';
import { readChatMessage } from '../../../daemon/pbx/freeswitch/esl-chat-message.js';
import { sendMessageCommand } from '../../../daemon/pbx/freeswitch/esl-send-message.js';

const recorded = (name: string) => {
  const parsed = parseEventPlain(readFileSync(new URL(`recorded/${name}`, import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error(`${name}: ${parsed.error}`);
  return parsed.event;
};

t.test('the fired copy reads into the message the daemon screens', async (t) => {
  const e = recorded('message-event-fired.txt');
  t.equal(e.headers['Event-UUID'], undefined, 'FreeSWITCH gives a fired message no Event-UUID');
  t.equal(e.headers['Nonblocking-Delivery'], undefined);
  t.equal(e.body, 'hello there\r\n');
  const m = readChatMessage(e, 'callscreen');
  t.match(m, {
    id: `${String(e.headers['Core-UUID'])}:${String(e.headers['Event-Sequence'])}`,
    direction: 'inbound',
    from: '+15557770004',
    to: '+15550100',
    fromRaw: /^<sip:\+15557770004@127\.0\.0\.2>;tag=/,
    destProto: 'sip',
    deliverTo: 'sip/internal/agent101@127.0.0.1',
    withheld: false,
  });
  const cmd = sendMessageCommand(m.destProto, { ...e.headers, callscreen: 'screened' }, e.body);
  t.match(cmd, /^sendevent CUSTOM\nEvent-Subclass: SMS::SEND_MESSAGE\ndest_proto: sip\n/);
  t.match(cmd, /\nto: internal\/agent101@127\.0\.0\.1\n/, 'sent where the site routed it');
  t.notMatch(cmd, /Core-UUID|Event-Sequence/, 'FreeSWITCH’s stamps are not sent back');
});

t.test('the core’s report after the chatplan carries the marker too, and the report flag', async (t) => {
  const e = recorded('message-event-after-chatplan.txt');
  t.equal(e.headers['callscreen'], 'screen', 'it passes `filter callscreen screen`');
  t.equal(e.headers['Nonblocking-Delivery'], 'true');
  t.equal(e.headers['final_delivery'], 'true', 'the chatplan ended with final');
});
