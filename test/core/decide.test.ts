import t from 'tap';
import { decide } from '../../daemon/core/decide.js';
import type { EntryView } from '../../daemon/core/entry.js';
import type { OutboundPolicy } from '../../daemon/core/org-policy.js';
import { entryMaker, inputMaker } from '../support/decide-fixtures.js';
import { orgPolicy } from '../support/org-policy.js';

const NOW = Date.UTC(2026, 5, 1);
// The identity rules off (as before issue #16): these tests are about the list's precedence; the
// identity rules have their own tests in attestation-policy.test.ts.
const policy = orgPolicy({ ownDidUnattested: 'allow' });
const { entry, copy } = entryMaker();
const num = { kind: 'number', value: '+15551234567' } as const;
const anon = { kind: 'unidentified', why: 'withheld-word' } as const;
const input = inputMaker({ subject: num, policy, now: NOW });

const exactBlock = entry({ list: 'block', kind: 'exact', value: '+15551234567', reason: 'robocalls' });
const contactBlock = entry({ list: 'block', kind: 'contact', value: '7', name: 'Mallory', mode: 'voicemail' });
const prefixBlock = entry({ list: 'block', kind: 'prefix', value: '+1555' });
const longPrefixBlock = entry({ list: 'block', kind: 'prefix', value: '+155512', mode: 'voicemail' });
const exactAllow = entry({ list: 'allow', kind: 'exact', value: '+15551234567' });
const prefixAllow = entry({ list: 'allow', kind: 'prefix', value: '+15551' });
const unidentifiedBlock = entry({ list: 'block', kind: 'unidentified', mode: 'voicemail' });
const expired = (e: EntryView): EntryView => copy(e, { expiresAt: NOW - 1 });

t.test('each rung of the precedence ladder', async (t) => {
  const prot = decide(input({ protection: 'emergency', exact: [exactBlock], prefixes: [prefixBlock] }));
  t.match(prot, { action: 'allow', rule: { kind: 'protected', id: 'emergency' } }, 'protected beats everything');
  t.match(decide(input({ protection: 'did', exact: [exactBlock] })), {
    action: 'allow',
    rule: { kind: 'protected', id: 'did' },
  });
  t.match(
    decide(input({ exact: [exactBlock, exactAllow] })),
    { action: 'allow', rule: { kind: 'allow', id: exactAllow.id } },
    'allow beats exact block',
  );
  t.match(
    decide(input({ exact: [exactBlock], prefixes: [prefixAllow] })),
    { action: 'allow', rule: { kind: 'allow', id: prefixAllow.id } },
    'an allow prefix beats an exact block (allow > exact in the precedence)',
  );
  t.match(
    decide(input({ exact: [exactBlock], prefixes: [longPrefixBlock] })),
    { action: 'reject', rule: { kind: 'exact', id: exactBlock.id }, sipCode: 603 },
    'exact beats prefix',
  );
  t.match(
    decide(input({ exact: [contactBlock], prefixes: [prefixBlock] })),
    { action: 'voicemail', rule: { kind: 'contact' } },
    'contact beats prefix',
  );
  t.match(
    decide(input({ exact: [contactBlock, exactBlock] })),
    { rule: { kind: 'exact' } },
    'an exact entry is preferred to a contact block',
  );
  t.match(
    decide(input({ prefixes: [longPrefixBlock, prefixBlock] })),
    { action: 'voicemail', rule: { kind: 'prefix', value: '+155512' } },
    'longest prefix first',
  );
  t.match(
    decide(input({ prefixes: [prefixBlock], unidentified: [unidentifiedBlock] })),
    { action: 'reject', rule: { kind: 'prefix' } },
    'a known number is not caught by the unidentified class',
  );
  t.match(decide(input({ unidentified: [unidentifiedBlock] }, { subject: anon })), {
    action: 'voicemail',
    normalized: 'unidentified',
    rule: { kind: 'unidentified' },
  });
  const dflt = decide(input({ unidentified: [unidentifiedBlock] }));
  t.match(dflt, { action: 'allow', rule: null, normalized: '+15551234567' }, 'allow by default');
  t.match(
    decide(input({}, { subject: anon })),
    { action: 'allow', rule: null },
    'unidentified allowed when the class is not blocked',
  );
});

t.test('expired entries never match', async (t) => {
  t.match(decide(input({ exact: [expired(exactBlock)] })), { action: 'allow', rule: null });
  t.match(
    decide(input({ exact: [expired(exactAllow), exactBlock] })),
    { action: 'reject' },
    'an expired allow does not shield',
  );
  t.match(
    decide(input({ exact: [expired(exactBlock)], prefixes: [prefixBlock] })),
    { rule: { kind: 'prefix' } },
    'falls through to the next rung',
  );
  t.match(decide(input({ prefixes: [expired(longPrefixBlock), prefixBlock] })), { rule: { value: '+1555' } });
  t.match(decide(input({ unidentified: [expired(unidentifiedBlock)] }, { subject: anon })), { action: 'allow' });
  const edge = { ...exactBlock, expiresAt: NOW };
  t.match(decide(input({ exact: [edge] })), { action: 'allow' }, 'expiry instant itself no longer matches');
  t.match(
    decide(input({ exact: [{ ...exactBlock, expiresAt: NOW + 1 }] })),
    { action: 'reject' },
    'still active before it',
  );
});

t.test('inbound SMS from a blocked sender is quarantined, whatever the mode', async (t) => {
  t.match(decide(input({ exact: [exactBlock] }, { channel: 'sms' })), {
    action: 'quarantine',
    rule: { kind: 'exact' },
  });
  t.match(decide(input({ exact: [contactBlock] }, { channel: 'sms' })), { action: 'quarantine' });
});

t.test('outbound policies: off, warn, confirm, deny; SMS is never denied', async (t) => {
  const expect: Record<OutboundPolicy, string> = { off: 'allow', warn: 'warn', confirm: 'confirm', deny: 'deny' };
  for (const p of ['off', 'warn', 'confirm', 'deny'] as const) {
    const v = decide(
      input({ exact: [exactBlock] }, { direction: 'outbound', policy: { ...policy, outboundPolicy: p } }),
    );
    t.equal(v.action, expect[p], `call, policy ${p}`);
    t.equal(v.rule?.kind, 'exact', `call, policy ${p} names the rule`);
    t.equal(v.sipCode, p === 'deny' ? 603 : undefined, `sip code only on deny (${p})`);
    const sms = decide(
      input(
        { exact: [exactBlock] },
        { direction: 'outbound', channel: 'sms', policy: { ...policy, outboundPolicy: p } },
      ),
    );
    t.equal(sms.action, p === 'off' ? 'allow' : 'warn', `sms, policy ${p} is never refused`);
  }
  t.match(decide(input({}, { direction: 'outbound', policy: { ...policy, outboundPolicy: 'deny' } })), {
    action: 'allow',
    rule: null,
  });
});

t.test('withheld caller with a known number', async (t) => {
  t.match(
    decide(input({ unidentified: [unidentifiedBlock] }, { withheld: true })),
    { action: 'voicemail', rule: { kind: 'unidentified' }, normalized: '+15551234567' },
    'the network withheld the identity: the unidentified class applies',
  );
  t.match(
    decide(input({ exact: [exactAllow], unidentified: [unidentifiedBlock] }, { withheld: true })),
    { action: 'allow', rule: { kind: 'allow' } },
    'an allowed number still gets through when withheld',
  );
  t.match(
    decide(input({ exact: [exactBlock], unidentified: [unidentifiedBlock] }, { withheld: true })),
    { action: 'reject', rule: { kind: 'exact' } },
    'its own block decides before the class',
  );
  t.match(decide(input({ protection: 'emergency', unidentified: [unidentifiedBlock] }, { withheld: true })), {
    action: 'allow',
    rule: { kind: 'protected' },
  });
});
