import t from 'tap';
import { callerIdentity, splitHeaderValues } from '../../daemon/core/caller-identity.js';

// The precedence table of docs/caller-identity.md, row by row.
t.test('P-Asserted-Identity beats Remote-Party-ID, From and the PBX caller ID', async (t) => {
  const id = callerIdentity({
    pai: '"Bank" <sip:+15551110001@carrier>',
    remotePartyId: '<sip:+15551110002@carrier>;party=calling',
    from: '<sip:+15551110003@carrier>;tag=1',
    pbxCallerId: '+15551110004',
  });
  t.same(id, { from: '+15551110001', source: 'pai', withheld: false });
});

t.test('Remote-Party-ID (party=calling or none) when there is no PAI; party=called is not the caller', async (t) => {
  t.match(
    callerIdentity({ remotePartyId: '<sip:+15551110002@c>;party=calling;screen=yes', from: '<sip:+15551110003@c>' }),
    { from: '+15551110002', source: 'rpid' },
  );
  t.match(callerIdentity({ remotePartyId: '<sip:+15551110002@c>', from: '<sip:+15551110003@c>' }), {
    from: '+15551110002',
    source: 'rpid',
  });
  t.match(callerIdentity({ remotePartyId: '<sip:+15559990000@c>;party=called', from: '<sip:+15551110003@c>' }), {
    from: '+15551110003',
    source: 'from',
  });
});

t.test('From, then the PBX caller ID', async (t) => {
  t.match(callerIdentity({ from: '"Ann" <sip:+15551110003@c>;tag=x', pbxCallerId: '+15551110004' }), {
    from: '+15551110003',
    source: 'from',
    withheld: false,
  });
  t.match(callerIdentity({ pbxCallerId: '+15551110004' }), { from: '+15551110004', source: 'pbx' });
});

t.test('a PAI with no number (anonymous) falls through to the next header that has one', async (t) => {
  t.match(callerIdentity({ pai: '<sip:anonymous@anonymous.invalid>', from: '<sip:+15551110003@c>' }), {
    from: '+15551110003',
    source: 'from',
  });
});

t.test('several PAI values: the first with a number (a sip and a tel URI)', async (t) => {
  t.match(callerIdentity({ pai: '<sip:anonymous@x>, <tel:+15551110005>' }), { from: '+15551110005', source: 'pai' });
  t.match(callerIdentity({ pai: ['<sip:+15551110006@x>', '<tel:+15551110005>'] }), { from: '+15551110006' });
  t.same(
    splitHeaderValues('"a, b" <sip:1@x>, <tel:+2>'),
    ['"a, b" <sip:1@x>', '<tel:+2>'],
    'commas in quotes do not split',
  );
});

t.test('a display name never chooses the number', async (t) => {
  t.match(callerIdentity({ pai: '"<sip:+12025550199@x>" <sip:+15551110001@c>' }), { from: '+15551110001' });
});

t.test('withheld: Privacy id/user/header, RPID privacy=full|uri, PBX hidden, or no number at all', async (t) => {
  t.match(callerIdentity({ pai: '<sip:+15551110001@c>', privacy: 'id' }), { from: '+15551110001', withheld: true });
  t.match(callerIdentity({ pai: '<sip:+15551110001@c>', privacy: 'header;user' }), { withheld: true });
  t.match(callerIdentity({ pai: '<sip:+15551110001@c>', privacy: 'none' }), { withheld: false });
  t.match(callerIdentity({ remotePartyId: '<sip:+15551110002@c>;party=calling;privacy=full' }), {
    from: '+15551110002',
    withheld: true,
  });
  t.match(
    callerIdentity({ remotePartyId: '<sip:+15551110002@c>;privacy=name' }),
    { withheld: false },
    'privacy=name hides the name only',
  );
  t.match(callerIdentity({ pbxCallerId: '+15551110004', pbxHidden: true }), { withheld: true });
  t.match(callerIdentity({ from: '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1' }), {
    from: 'anonymous',
    source: 'none',
    withheld: true,
  });
  t.match(callerIdentity({}), { from: '', source: 'none', withheld: true });
});

t.test(
  'attestation: verstat of the PAI, else of the From, else a bare verstat; level from Attestation-Info',
  async (t) => {
    t.same(
      callerIdentity({
        pai: '<sip:+15551110001;verstat=TN-Validation-Passed@c;user=phone>',
        from: '<sip:+15551110001;verstat=TN-Validation-Failed@c>',
      }).attestation,
      { status: 'passed', level: null },
      'PAI first',
    );
    t.same(
      callerIdentity({ pai: '<sip:+15551110001@c>', from: '<sip:+15551110001;verstat=TN-Validation-Failed@c>' })
        .attestation,
      { status: 'failed', level: null },
      'From when the PAI has none',
    );
    t.same(callerIdentity({ pbxCallerId: '+15551110001', verstat: 'TN-Validation-Passed-C' }).attestation, {
      status: 'passed',
      level: 'C',
    });
    t.same(
      callerIdentity({ pai: '<sip:+15551110001;verstat=TN-Validation-Passed@c>', attestationInfo: 'B' }).attestation,
      { status: 'passed', level: 'B' },
      'Attestation-Info gives the level verstat lacked',
    );
    t.same(
      callerIdentity({ pai: '<sip:+15551110001;verstat=TN-Validation-Passed-A@c>', attestationInfo: 'C' }).attestation,
      { status: 'passed', level: 'A' },
      'but does not override one verstat gave',
    );
    t.equal(callerIdentity({ pai: '<sip:+15551110001@c>' }).attestation, undefined, 'none sent: none');
    t.equal(
      callerIdentity({ attestationInfo: 'A', pai: '<sip:+15551110001@c>' }).attestation,
      undefined,
      'a level alone is no verification',
    );
  },
);
