/**
 * The decisions issue #16 adds: observe mode, entries scoped to DIDs, allowlist-only DIDs, and
 * pattern entries in the prefix rung of the precedence.
 */
import t from 'tap';
import { decide } from '../../daemon/core/decide.js';
import { entryMaker, inputMaker } from '../support/decide-fixtures.js';
import { orgPolicy } from '../support/org-policy.js';

const NOW = Date.UTC(2026, 5, 1);
const DID = '+15550100';
const OTHER_DID = '+15550199';
const { entry, copy } = entryMaker();
const num = { kind: 'number', value: '+15551234567' } as const;
const anon = { kind: 'unidentified', why: 'withheld-word' } as const;
const input = inputMaker({ subject: num, did: DID, policy: orgPolicy(), now: NOW });

t.test('observe mode: matches, lets the call through, names what it would have done', async (t) => {
  const observed = entry({ list: 'block', kind: 'exact', value: num.value, observe: true, mode: 'voicemail' });
  const v = decide(input({ exact: [observed] }));
  t.match(v, { action: 'allow', observed: 'voicemail', rule: { id: observed.id, kind: 'exact', mode: 'voicemail' } });
  t.match(v.reason, /observe mode.*voicemail/);
  const prefix = entry({ list: 'block', kind: 'prefix', value: '+1555' });
  t.match(
    decide(input({ exact: [observed], prefixes: [prefix] })),
    { action: 'reject', rule: { id: prefix.id }, observed: undefined },
    'an enforced block further down the ladder still blocks',
  );
  const allow = entry({ list: 'allow', kind: 'prefix', value: '+1555' });
  t.match(
    decide(input({ exact: [observed], prefixes: [allow] })),
    { action: 'allow', rule: { kind: 'allow' }, observed: undefined },
    'an allow entry wins: nothing would have been blocked',
  );
  const obsUnid = entry({ list: 'block', kind: 'unidentified', observe: true });
  t.match(decide(input({ unidentified: [obsUnid] }, { subject: anon })), {
    action: 'allow',
    observed: 'reject',
    rule: { kind: 'unidentified' },
  });
  t.match(
    decide(input({ exact: [copy(observed, { expiresAt: NOW - 1 })] })),
    { action: 'allow', rule: null },
    'an expired observed entry names nothing',
  );
  t.match(
    decide(input({ exact: [observed] }, { channel: 'sms' })),
    { action: 'allow', observed: 'quarantine' },
    'an SMS would have been held',
  );
  t.match(
    decide(input({ exact: [observed] }, { direction: 'outbound', did: null })),
    { action: 'allow', observed: 'warn' },
    'outbound: would have warned',
  );
});

t.test('entries scoped to DIDs apply to calls to those DIDs only', async (t) => {
  const scoped = entry({ list: 'block', kind: 'exact', value: num.value, dids: [DID] });
  t.match(decide(input({ exact: [scoped] })), { action: 'reject', rule: { id: scoped.id } });
  t.match(decide(input({ exact: [scoped] }, { did: OTHER_DID })), { action: 'allow', rule: null }, 'another DID');
  t.match(
    decide(input({ exact: [scoped] }, { did: null })),
    { action: 'allow', rule: null },
    'no DID (outbound, unknown): scoped entries never apply',
  );
  const wide = entry({ list: 'block', kind: 'prefix', value: '+1555' });
  const scopedAllow = entry({ list: 'allow', kind: 'exact', value: num.value, dids: [OTHER_DID] });
  t.match(
    decide(input({ exact: [scopedAllow], prefixes: [wide] }, { did: OTHER_DID })),
    { action: 'allow', rule: { kind: 'allow' } },
    'an allow on one DID',
  );
  t.match(
    decide(input({ exact: [scopedAllow], prefixes: [wide] })),
    { action: 'reject', rule: { kind: 'prefix' } },
    'the org-wide block elsewhere',
  );
  const scopedUnid = entry({ list: 'block', kind: 'unidentified', dids: [DID], mode: 'voicemail' });
  t.match(decide(input({ unidentified: [scopedUnid] }, { subject: anon })), { action: 'voicemail' });
  t.match(decide(input({ unidentified: [scopedUnid] }, { subject: anon, did: OTHER_DID })), { action: 'allow' });
});

t.test('allowlist-only DIDs: only allow-listed callers and contacts ring', async (t) => {
  t.match(decide(input({ allowlistOnly: 'voicemail' })), {
    action: 'voicemail',
    rule: { kind: 'allowlist-only', value: DID },
  });
  t.match(decide(input({ allowlistOnly: 'reject' })), {
    action: 'reject',
    sipCode: 603,
    rule: { kind: 'allowlist-only' },
  });
  t.match(
    decide(input({ allowlistOnly: 'reject', contact: true })),
    { action: 'allow', rule: null },
    'a contact rings',
  );
  const allow = entry({ list: 'allow', kind: 'exact', value: num.value });
  t.match(
    decide(input({ allowlistOnly: 'reject', exact: [allow] })),
    { action: 'allow', rule: { kind: 'allow' } },
    'an allow-listed caller rings',
  );
  const block = entry({ list: 'block', kind: 'exact', value: num.value, mode: 'voicemail' });
  t.match(
    decide(input({ allowlistOnly: 'reject', contact: true, exact: [block] })),
    { action: 'voicemail', rule: { kind: 'exact' } },
    'a blocked contact is still blocked, by its own entry',
  );
  t.match(
    decide(input({ allowlistOnly: 'voicemail' }, { subject: anon })),
    { action: 'voicemail', rule: { kind: 'allowlist-only' } },
    'unidentified callers too',
  );
  t.match(
    decide(input({ allowlistOnly: 'reject', protection: 'emergency' })),
    { action: 'allow', rule: { kind: 'protected' } },
    'protected numbers always ring',
  );
  t.match(
    decide(input({ allowlistOnly: 'reject' }, { channel: 'sms' })),
    { action: 'allow' },
    'SMS are not turned away (calls only)',
  );
  t.match(
    decide(input({ allowlistOnly: 'reject' }, { direction: 'outbound' })),
    { action: 'allow' },
    'agents dialling out are not affected',
  );
});

t.test('patterns sit in the prefix rung: allow beats them, exact beats them, they beat unidentified', async (t) => {
  const pattern = entry({
    list: 'block',
    kind: 'pattern',
    value: '+1555123????',
    mode: 'voicemail',
    name: 'survey range',
  });
  const v = decide(input({ prefixes: [pattern] }));
  t.match(v, { action: 'voicemail', rule: { kind: 'pattern', value: '+1555123????', name: 'survey range' } });
  t.match(v.reason, /matches blocked pattern \+1555123\?\?\?\?/);
  const exact = entry({ list: 'block', kind: 'exact', value: num.value });
  t.match(decide(input({ exact: [exact], prefixes: [pattern] })), { action: 'reject', rule: { kind: 'exact' } });
  const allowRange = entry({ list: 'allow', kind: 'pattern', value: '+15551234500..+15551234599' });
  t.match(decide(input({ exact: [exact], prefixes: [allowRange, pattern] })), {
    action: 'allow',
    rule: { kind: 'allow', value: '+15551234500..+15551234599' },
  });
  const unid = entry({ list: 'block', kind: 'unidentified' });
  t.match(decide(input({ prefixes: [pattern], unidentified: [unid] }, { withheld: true })), {
    rule: { kind: 'pattern' },
  });
});
