import t from 'tap';
import { decide, type DecisionInput, type Matches } from '../../daemon/core/decide.js';
import type { OrgPolicy } from '../../daemon/core/org-policy.js';
import type { Attestation } from '../../daemon/core/attestation.js';
import { entryMaker, NO_MATCHES } from '../support/decide-fixtures.js';
import { orgPolicy } from '../support/org-policy.js';

const NOW = Date.UTC(2026, 5, 1);
const PASSED: Attestation = { status: 'passed', level: 'A' };
const PASSED_B: Attestation = { status: 'passed', level: 'B' };
const FAILED: Attestation = { status: 'failed', level: null };
const { entry } = entryMaker({ id: 7, value: '+15551234567' });
const input = (over: Partial<DecisionInput>, p: Partial<OrgPolicy> = {}): DecisionInput => ({
  channel: 'call',
  direction: 'inbound',
  subject: { kind: 'number', value: '+15551234567' },
  withheld: false,
  matches: NO_MATCHES,
  // The defaults of migration 4: failed verification allowed, own DID unattested to voicemail.
  policy: orgPolicy(p),
  now: NOW,
  ...over,
});

t.test('a caller presenting an own DID: voicemail unless attested (default on)', async (t) => {
  const did: Matches = { ...NO_MATCHES, protection: 'did' };
  const v = decide(input({ matches: did }));
  t.equal(v.action, 'voicemail');
  t.match(v.rule, { kind: 'spoofed', id: 'did' });
  t.match(v.reason, /own numbers, presented with no attestation: treated as spoofed/);
  t.equal(decide(input({ matches: did, attestation: PASSED })).action, 'allow', 'attested A: protected as before');
  t.equal(
    decide(input({ matches: did, attestation: { status: 'passed', level: null } })).action,
    'allow',
    'passed with no level',
  );
  t.equal(decide(input({ matches: did, attestation: PASSED_B })).action, 'voicemail', 'B is not attested');
  t.match(decide(input({ matches: did }, { ownDidUnattested: 'reject', rejectCode: 607 })), {
    action: 'reject',
    sipCode: 607,
  });
  t.equal(decide(input({ matches: did }, { ownDidUnattested: 'allow' })).action, 'allow', 'the org turned it off');
  t.equal(
    decide(input({ matches: did, channel: 'sms' })).action,
    'allow',
    'an SMS: no STIR/SHAKEN for messages, so the rule cannot apply',
  );
  t.equal(
    decide(input({ matches: did, direction: 'outbound' })).action,
    'allow',
    'an agent dialling an own DID is not screened for it',
  );
  t.equal(
    decide(input({ matches: { ...NO_MATCHES, protection: 'emergency' } })).action,
    'allow',
    'emergency numbers never',
  );
});

t.test('failed verification: the org’s action, below the list', async (t) => {
  t.equal(decide(input({ attestation: FAILED })).action, 'allow', 'default allow');
  const v = decide(input({ attestation: FAILED }, { attestationFailed: 'voicemail' }));
  t.equal(v.action, 'voicemail');
  t.match(v.rule, { kind: 'attestation', value: 'failed' });
  t.match(v.reason, /could not verify \+15551234567 \(STIR\/SHAKEN failed\)/);
  t.match(decide(input({ attestation: FAILED }, { attestationFailed: 'reject' })), { action: 'reject', sipCode: 603 });
  t.equal(
    decide(input({ attestation: PASSED }, { attestationFailed: 'reject' })).action,
    'allow',
    'passed: nothing to do',
  );
  t.equal(
    decide(input({ attestation: { status: 'no-validation', level: null } }, { attestationFailed: 'reject' })).action,
    'allow',
    'not verified is not failed',
  );
  const allowed = { ...NO_MATCHES, exact: [entry({ list: 'allow', kind: 'exact' })] };
  t.equal(
    decide(input({ attestation: FAILED, matches: allowed }, { attestationFailed: 'reject' })).action,
    'allow',
    'an allow entry beats it',
  );
  const blocked = { ...NO_MATCHES, exact: [entry({ list: 'block', kind: 'exact', mode: 'voicemail' })] };
  t.match(
    decide(input({ attestation: FAILED, matches: blocked }, { attestationFailed: 'reject' })),
    { action: 'voicemail', rule: { kind: 'exact' } },
    'a block entry names the number: it decides',
  );
  t.equal(
    decide(input({ attestation: FAILED, direction: 'outbound' }, { attestationFailed: 'reject' })).action,
    'allow',
    'outbound: no carrier attestation',
  );
});

t.test('an allow entry "only when attested"', async (t) => {
  const bank = entry({ list: 'allow', kind: 'exact', requireAttestation: true, name: 'Bank' });
  const prefixBlock = entry({ id: 9, list: 'block', kind: 'prefix', value: '+1555', mode: 'reject' });
  const m: Matches = { ...NO_MATCHES, exact: [bank], prefixes: [prefixBlock] };
  t.match(
    decide(input({ matches: m, attestation: PASSED })),
    { action: 'allow', rule: { kind: 'allow', id: 7 } },
    'attested: allowed by the entry',
  );
  t.match(
    decide(input({ matches: m })),
    { action: 'reject', rule: { kind: 'prefix', id: 9 } },
    'not attested: the entry does not apply, the prefix block does',
  );
  t.match(decide(input({ matches: m, attestation: PASSED_B })), { action: 'reject' }, 'B is not enough');
  t.match(
    decide(
      input({ matches: { ...NO_MATCHES, exact: [bank] }, attestation: FAILED }, { attestationFailed: 'voicemail' }),
    ),
    { action: 'voicemail', rule: { kind: 'attestation' } },
  );
  t.match(
    decide(input({ matches: { ...NO_MATCHES, exact: [bank] } })),
    { action: 'allow', rule: null },
    'not attested and nothing else: allowed by default',
  );
});
