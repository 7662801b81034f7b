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
    variable_sip_h_Privacy: 'id',
    'Caller-Destination-Number': '+15550100',
    'Unique-ID': 'u1',
  });
  t.equal(call.from, '+15557770001');
  t.equal(call.withheld, true);
  t.equal(call.to, '+15550100');
});

t.test(
  'readCall: verstat as sofia hands it (the PAI user part with its parameters), through the core precedence',
  async (t) => {
    // Seen on FreeSWITCH 1.10.12: variable_sip_P-Asserted-Identity = "+15557780001;verstat=TN-Validation-Failed".
    t.match(
      readCall({
        'variable_sip_P-Asserted-Identity': '+15557780001;verstat=TN-Validation-Failed',
        'Caller-Caller-ID-Number': '+15557780001',
      }),
      { from: '+15557780001', withheld: false, attestation: { status: 'failed', level: null } },
    );
    t.match(
      readCall({ variable_sip_full_from: '<sip:+15557780002;verstat=TN-Validation-Passed-B@c;user=phone>;tag=1' }),
      { from: '+15557780002', attestation: { status: 'passed', level: 'B' } },
      'verstat in the From',
    );
    t.match(
      readCall({
        'variable_sip_h_Remote-Party-ID': '<sip:+15557780003@c>;party=calling;privacy=full',
        variable_sip_full_from: '"Anonymous" <sip:anonymous@anonymous.invalid>',
      }),
      { from: '+15557780003', withheld: true },
      'Remote-Party-ID with privacy=full',
    );
    t.equal(
      readCall({ 'variable_sip_P-Asserted-Identity': '"x" <sip:+1202@x>' }).from,
      '',
      'a bare value with a display name is not taken',
    );
    t.equal(readCall({ 'Caller-Caller-ID-Number': '+15557780004' }).attestation, undefined, 'no verstat: none');
  },
);

t.test(
  'readCall: the Remote-Party-ID as sofia sets it on every INVITE (variable_sip_Remote-Party-ID, whole), no profile change',
  async (t) => {
    // sofia.c sets sip_Remote-Party-ID to the whole header; Caller-Caller-ID-Number gets its user
    // part without parameters (they go to sip_name_params). Seen on FreeSWITCH 1.10.12 (e2e).
    const hidden = readCall({
      'variable_sip_Remote-Party-ID': '<sip:+15557780003@127.0.0.2;user=phone>;party=calling;screen=yes;privacy=full',
      'Caller-Caller-ID-Number': '+15557780003',
      variable_sip_full_from: '<sip:gateway@127.0.0.2:5060>;tag=1',
    });
    t.match(hidden, { from: '+15557780003', withheld: true }, 'its privacy=full is read: withheld');
    const called = readCall({
      'variable_sip_Remote-Party-ID': '<sip:+15550100@127.0.0.2>;party=called',
      variable_sip_full_from: '<sip:+15557780005@127.0.0.2>;tag=1',
    });
    t.equal(called.from, '+15557780005', 'party=called is not the caller: the From is screened');
    const verstat = readCall({
      'variable_sip_Remote-Party-ID':
        '<sip:+15557780001;verstat=TN-Validation-Failed@127.0.0.2;user=phone>;party=calling;screen=yes;privacy=off',
      'Caller-Caller-ID-Number': '+15557780001',
      variable_sip_full_from: '<sip:gateway@127.0.0.2:5060>;tag=1',
    });
    t.match(verstat, { from: '+15557780001', withheld: false }, 'the number from the Remote-Party-ID');
    t.equal(
      verstat.attestation,
      undefined,
      'a verstat in a Remote-Party-ID is not read (docs/caller-identity.md: the PAI, else the From)',
    );
  },
);

t.test(
  'readCall: a verstat in the From only, as sofia 1.10.12 really hands it (recorded on the real FreeSWITCH)',
  async (t) => {
    // fs-inbound-call-verstat-from.xml: sofia cut the user parameters off sip_full_from (the From was
    // the identity it took the caller ID from); sip_from_user kept them.
    const fromOnly = {
      'Caller-Caller-ID-Number': '+15557780001',
      'Caller-Privacy-Hide-Number': 'false',
      variable_sip_from_user: '+15557780001;verstat=TN-Validation-Failed',
      variable_sip_from_user_stripped: '15557780001;verstat=TN-Validation-Failed',
      variable_sip_full_from: '<sip:+15557780001@127.0.0.2:5060;user=phone>;tag=18420SIPpTag001',
    };
    t.match(readCall(fromOnly), {
      from: '+15557780001',
      withheld: false,
      attestation: { status: 'failed', level: null },
    });
    // fs-inbound-call-verstat-conflict.xml: the PAI took the cut, the From kept its verstat; the PAI's wins.
    const conflict = {
      'Caller-Caller-ID-Number': '+15557780001',
      variable_sip_from_user: '+15557780001;verstat=TN-Validation-Failed',
      'variable_sip_P-Asserted-Identity': '+15557780001;verstat=TN-Validation-Passed',
      variable_sip_full_from:
        '<sip:+15557780001;verstat=TN-Validation-Failed@127.0.0.2:5060;user=phone>;tag=18424SIPpTag001',
    };
    t.match(
      readCall(conflict),
      { from: '+15557780001', attestation: { status: 'passed', level: null } },
      'the PAI wins',
    );
    // fs-inbound-call-verstat-rpid.xml: the Remote-Party-ID whole; its verstat is not read.
    const rpid = {
      'Caller-Caller-ID-Number': '+15557780001',
      variable_sip_from_user: 'gateway',
      'variable_sip_Remote-Party-ID':
        '<sip:+15557780001;verstat=TN-Validation-Failed@127.0.0.2;user=phone>;party=calling;screen=yes;privacy=off',
      variable_sip_full_from: '<sip:gateway@127.0.0.2:5060>;tag=18423SIPpTag001',
    };
    t.match(readCall(rpid), { from: '+15557780001', withheld: false });
    t.equal(readCall(rpid).attestation, undefined);
  },
);
