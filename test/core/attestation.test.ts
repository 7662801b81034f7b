import t from 'tap';
import {
  attestationText,
  identityClaimLevel,
  isAttested,
  parseAttestationText,
  parseVerstat,
  verstatOf,
} from '../../daemon/core/attestation.js';

t.test('verstat values carriers send, with and without a level', async (t) => {
  t.same(parseVerstat('TN-Validation-Passed'), { status: 'passed', level: null });
  t.same(parseVerstat('TN-Validation-Passed-B'), { status: 'passed', level: 'B' });
  t.same(parseVerstat('tn-validation-passed-c'), { status: 'passed', level: 'C' }, 'case does not matter');
  t.same(parseVerstat('TN-Validation-Failed'), { status: 'failed', level: null });
  t.same(parseVerstat('TN-Validation-Failed-A'), { status: 'failed', level: 'A' });
  t.same(parseVerstat('No-TN-Validation'), { status: 'no-validation', level: null });
  t.equal(parseVerstat('TN-Validation-Maybe'), undefined, 'unknown values are no attestation');
  t.equal(parseVerstat('TN-Validation-Passed-D'), undefined);
});

t.test('verstat is read from the URI, in the user part or after the host, never from the display name', async (t) => {
  t.same(verstatOf('<sip:+15551234567;verstat=TN-Validation-Passed@carrier.example;user=phone>'), {
    status: 'passed',
    level: null,
  });
  t.same(verstatOf('"Bank" <sip:+15551234567@carrier.example;verstat=TN-Validation-Failed>;tag=1'), {
    status: 'failed',
    level: null,
  });
  t.same(verstatOf('tel:+15551234567;verstat=No-TN-Validation'), { status: 'no-validation', level: null });
  t.same(
    verstatOf('<sip:anonymous;verstat=TN-Validation-Passed-A@anonymous.invalid>'),
    { status: 'passed', level: 'A' },
    'on an anonymous URI too',
  );
  t.equal(
    verstatOf('"x;verstat=TN-Validation-Passed" <sip:+15551234567@h>'),
    undefined,
    'a display name attests nothing',
  );
  t.equal(verstatOf('<sip:+15551234567@h>'), undefined);
});

t.test('attested: passed at A, or passed with no level; B, C, failed and none are not', async (t) => {
  t.ok(isAttested({ status: 'passed', level: null }));
  t.ok(isAttested({ status: 'passed', level: 'A' }));
  t.notOk(isAttested({ status: 'passed', level: 'B' }));
  t.notOk(isAttested({ status: 'passed', level: 'C' }));
  t.notOk(isAttested({ status: 'failed', level: 'A' }));
  t.notOk(isAttested({ status: 'no-validation', level: null }));
  t.notOk(isAttested(undefined));
});

t.test('text form for records round-trips', async (t) => {
  for (const a of [
    { status: 'passed', level: 'A' },
    { status: 'failed', level: null },
    { status: 'no-validation', level: null },
  ] as const) {
    t.same(parseAttestationText(attestationText(a)), a, attestationText(a));
  }
  t.equal(attestationText(undefined), '');
  t.equal(parseAttestationText(''), undefined);
});

t.test('the attest claim of an Identity header is read for display (unverified)', async (t) => {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = `${b64({ alg: 'ES256' })}.${b64({ attest: 'B', orig: { tn: '15551234567' } })}.sig`;
  t.equal(identityClaimLevel(`${jwt};info=<https://cert.example/x.pem>;alg=ES256;ppt=shaken`), 'B');
  t.equal(identityClaimLevel('not-a-jwt'), undefined);
  t.equal(identityClaimLevel('a.%%%.c'), undefined);
});
