// What the AstDB mirror stores when a verdict depends on the call's identity headers (issue #16),
// which the dialplan's mirror step cannot read: such calls must go to FastAGI.
import t from 'tap';
import { mirrorValueOf } from '../../../daemon/pbx/asterisk/astdb-mirror-value.js';
import type { Matches } from '../../../daemon/core/decide.js';
import { entryMaker, NO_MATCHES } from '../../support/decide-fixtures.js';
import { orgPolicy } from '../../support/org-policy.js';

const NOW = Date.UTC(2026, 5, 1);
const policy = orgPolicy();
const { entry: e } = entryMaker({ id: 1, value: '+15557790001' });

t.test('an "only when attested" allow entry: unsure (FastAGI decides; a miss no longer proves allow)', async (t) => {
  const m: Matches = {
    ...NO_MATCHES,
    exact: [e({ list: 'allow', kind: 'exact', requireAttestation: true })],
    prefixes: [e({ id: 2, list: 'block', kind: 'prefix', value: '+1555779' })],
  };
  t.same(mirrorValueOf('+15557790001', m, policy, NOW), { kind: 'unsure' });
});

t.test('an own DID: nothing stored (the dialplan sends callers presenting a DID to FastAGI)', async (t) => {
  t.same(mirrorValueOf('+15550100', { ...NO_MATCHES, protection: 'did' }, policy, NOW), { kind: 'none' });
});

t.test('a plain block is still mirrored: attestation never lifts a block', async (t) => {
  const v = mirrorValueOf(
    '+15557770001',
    { ...NO_MATCHES, exact: [e({ id: 5, list: 'block', kind: 'exact', value: '+15557770001' })] },
    policy,
    NOW,
  );
  t.match(v, { kind: 'put', value: 'reject|603|exact:5|' });
});
