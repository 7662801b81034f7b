// readCall over `connect` replies recorded from a real FreeSWITCH 1.10.12 (scripts/fs-sandbox,
// sofia profile with default settings, `socket 127.0.0.1:8084` as the shipped dialplan runs it),
// as the bytes arrived: test/pbx/freeswitch/recorded/connect-reply-*.txt. What they taught:
// - the asserted identity is in variable_sip_P-Asserted-Identity as a bare user part, and already
//   in Caller-Caller-ID-Number; there is no variable_sip_h_P-Asserted-Identity;
// - Privacy is variable_sip_Privacy; a withheld From gives Caller-Privacy-Hide-Number: true;
// - the reply's own headers come last (Content-Type, Reply-Text: %2BOK%0A, i.e. "+OK\n",
//   Socket-Mode: static, Control: single-channel), after the channel's.
import t from 'tap';
import { readCall } from '../../../daemon/pbx/freeswitch/esl-channel.js';
import { recordedConnectReply } from '../../support/fake-freeswitch.js';

t.test('a plain call: From is the caller', async (t) => {
  const h = recordedConnectReply('plain');
  t.equal(h['Reply-Text'], '+OK\n', 'the reply text ends in a line feed');
  t.equal(h['Control'], 'single-channel');
  t.match(readCall(h), {
    from: '+15557770004',
    to: '+15550102',
    withheld: false,
    channelName: 'sofia/carrier/+15557770004@127.0.0.2:5060',
    direction: 'inbound',
  });
});

t.test('withheld with no identity: anonymous, withheld', async (t) => {
  const h = recordedConnectReply('withheld');
  t.equal(h['variable_sip_Privacy'], 'id');
  t.equal(h['variable_sip_h_Privacy'], undefined, 'no sip_h_ copy');
  t.match(readCall(h), { from: 'anonymous', withheld: true, to: '+15550103' });
});

t.test('withheld with a P-Asserted-Identity: the asserted number is screened', async (t) => {
  const h = recordedConnectReply('withheld-pai');
  t.equal(h['variable_sip_P-Asserted-Identity'], '+15557770001', 'the bare user part');
  t.equal(h['variable_sip_h_P-Asserted-Identity'], undefined);
  t.equal(h['variable_sip_from_user'], 'anonymous');
  t.match(readCall(h), { from: '+15557770001', withheld: true });
  // Even if sofia had not copied it into the caller id (a profile that does not trust the peer):
  t.match(readCall({ ...h, 'Caller-Caller-ID-Number': 'anonymous' }), { from: '+15557770001' });
});
