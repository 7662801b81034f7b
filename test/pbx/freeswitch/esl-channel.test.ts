import t from 'tap';
import { readCall, uriUser } from '../../../daemon/pbx/freeswitch/esl-channel.js';

t.test('uriUser reads the URI of a name-addr, never a URI written inside the quoted display name', async (t) => {
  t.equal(uriUser('"Spam" <sip:+15557770001@carrier.example>;party=calling'), '+15557770001');
  t.equal(uriUser('"<sip:+15550000009@x>" <sip:+15557770001@h>'), '+15557770001', 'a fake URI in the name');
  t.equal(uriUser('"a<b>c, \\"d\\"" <tel:+1-555-777-0001>'), '+1-555-777-0001', '<, > and escaped quotes in the name');
  t.equal(uriUser('sip:+15557770001@h;user=phone'), '+15557770001', 'an addr-spec');
  t.equal(uriUser('Bob'), '', 'no URI at all');
});

t.test('readCall: the PAI beats From, even when its display name holds another number', async (t) => {
  const call = readCall({
    'Caller-Caller-ID-Number': 'anonymous',
    'variable_sip_h_P-Asserted-Identity': '"<sip:+15550000009@x>" <sip:+15557770001@carrier.example>',
    'variable_sip_h_Privacy': 'id',
    'Caller-Destination-Number': '+15550100',
    'Unique-ID': 'u1',
  });
  t.equal(call.from, '+15557770001');
  t.equal(call.withheld, true);
  t.equal(call.to, '+15550100');
});
