// `callscreen entry disable|enable|observe|promote|report`, `callscreen rules …`, and block/allow
// with --pattern, --observe and --did (issue #16), on a real SQLite file; verdicts by `callscreen check`.
import t from 'tap';
import { cliWithOrg, type CliRunner } from './cli-runner.js';

const verdict = async (
  c: CliRunner,
  from: string,
  ...more: string[]
): Promise<{ action: string; rule: { id: number | string; kind: string } | null; observed?: string }> => {
  const r = await c.run('check', from, '--org', 'acme', '--json', ...more);
  if (r.code !== 0) throw new Error(r.err);
  return JSON.parse(r.out) as never;
};
const id = async (c: CliRunner, ...argv: string[]): Promise<number> => {
  const r = await c.run(...argv, '--json');
  if (r.code !== 0) throw new Error(r.err);
  return (JSON.parse(r.out) as { id: number }).id;
};

t.test('disable and enable an entry: kept, listed as disabled, audited', async (t) => {
  const c = await cliWithOrg(t);
  const e = await id(c, 'block', '5551234567', '--org', 'acme');
  const off = await c.run(
    'entry',
    'disable',
    String(e),
    '--org',
    'acme',
    '--reason',
    'customer complaint',
    '--by',
    'sam',
  );
  t.equal(off.code, 0, off.err);
  t.equal(off.out, `disabled: +15551234567 in acme (entry ${e})\n`);
  t.match(await verdict(c, '5551234567'), { action: 'allow', rule: null });
  const list = await c.run('list', '--org', 'acme');
  t.match(list.out, /\+15551234567 .* reject \(disabled\)/);
  const again = await c.run('entry', 'disable', String(e), '--org', 'acme');
  t.equal(again.code, 65);
  t.match(again.err, /^callscreen: CS_ERR_ENTRY_STATE: entry \d+ is already disabled/);
  t.equal((await c.run('entry', 'enable', String(e), '--org', 'acme')).code, 0);
  t.match(await verdict(c, '5551234567'), { action: 'reject' });
  const audit = JSON.parse((await c.run('audit', '--org', 'acme', '--json', '--action', 'entry.disable')).out) as {
    events: Array<{ actor: string; reason: string }>;
  };
  t.match(audit.events, [{ actor: 'sam', reason: 'customer complaint' }]);
  const missing = await c.run('entry', 'disable', '999', '--org', 'acme');
  t.equal(missing.code, 66);
  const bad = await c.run('entry', 'disable', 'x1', '--org', 'acme');
  t.equal(bad.code, 64);
  t.match(bad.err, /ID "x1" is not a positive whole number/);
});

t.test('observe mode: block --observe, check shows what it would have done, report, promote', async (t) => {
  const c = await cliWithOrg(t);
  const b = await c.run('block', '--prefix', '+1555', '--org', 'acme', '--observe', '--mode', 'voicemail');
  t.match(b.out, /^observing prefix \+1555 in acme \(voicemail; entry \d+\)/);
  const e = Number(/entry (\d+)/.exec(b.out)![1]);
  t.match(await verdict(c, '5551234567'), { action: 'allow', observed: 'voicemail', rule: { id: e, kind: 'prefix' } });
  const report = await c.run('entry', 'report', String(e), '--org', 'acme');
  t.equal(report.code, 0, report.err);
  t.match(
    report.out,
    /observing since .*: would have sent to voicemail 0 call\(s\) or message\(s\) from 0 number\(s\)\nto make it block: callscreen entry promote \d+ --org acme\n$/,
  );
  const json = JSON.parse((await c.run('entry', 'report', String(e), '--org', 'acme', '--json')).out) as {
    hits: number;
    observingSince: number;
  };
  t.match(json, { hits: 0, observingSince: Number });
  const p = await c.run('entry', 'promote', String(e), '--org', 'acme', '--reason', 'seen enough');
  t.equal(p.out, `promoted, now voicemail: prefix +1555 in acme (entry ${e})\n`);
  t.match(await verdict(c, '5551234567'), { action: 'voicemail' });
  t.match((await c.run('entry', 'report', String(e), '--org', 'acme')).out, /is not in observe mode: it blocks/);
  t.equal((await c.run('entry', 'observe', String(e), '--org', 'acme')).code, 0);
  t.match(await verdict(c, '5551234567'), { action: 'allow', observed: 'voicemail' });
  const allow = await id(c, 'allow', '5550001111', '--org', 'acme');
  const r = await c.run('entry', 'observe', String(allow), '--org', 'acme');
  t.equal(r.code, 65);
  t.match(r.err, /CS_ERR_ENTRY_STATE: entry \d+ is an allow entry/);
});

t.test('patterns from the command line; the org minimum', async (t) => {
  const c = await cliWithOrg(t);
  const b = await c.run('block', '--pattern', '415-555-????', '--org', 'acme');
  t.equal(b.code, 0, b.err);
  t.match(b.out, /^blocked pattern \+1415555\?\?\?\? in acme/);
  t.match(await verdict(c, '(415) 555-0123'), { action: 'reject', rule: { kind: 'pattern' } });
  t.match(await verdict(c, '(415) 556-0123'), { action: 'allow' });
  t.equal((await c.run('block', '--pattern', '+14155560100..+14155560199', '--org', 'acme')).code, 0);
  t.match(await verdict(c, '+14155560150'), { action: 'reject', rule: { kind: 'pattern' } });
  const broad = await c.run('block', '--pattern', '+1??????????', '--org', 'acme');
  t.equal(broad.code, 65);
  t.match(broad.err, /CS_ERR_PATTERN_TOO_BROAD: "\+1\?\?\?\?\?\?\?\?\?\?" fixes 1 digit\(s\).*at least 6/);
  t.equal(
    (await c.run('rules', 'pattern-minimum', '--org', 'acme')).out,
    'patterns in acme fix at least 6 digits after "+" (the default)\n',
  );
  t.equal((await c.run('rules', 'pattern-minimum', '8', '--org', 'acme')).code, 0);
  t.equal((await c.run('block', '--pattern', '+1416555????', '--org', 'acme')).code, 65, 'now 8 are needed');
  t.equal(
    (await c.run('unblock', '--pattern', '+1415555????', '--org', 'acme')).code,
    0,
    'removing is never refused for breadth',
  );
  const bad = await c.run('block', '--pattern', 'abc?', '--org', 'acme');
  t.equal(bad.code, 65);
  t.match(bad.err, /CS_ERR_INVALID_PATTERN/);
  const star = await c.run('block', '--pattern', '+1900*', '--org', 'acme');
  t.match(star.out, /^blocked prefix \+1900 in acme/, star.err);
});

t.test('per-DID entries and allowlist-only DIDs', async (t) => {
  const c = await cliWithOrg(t);
  t.equal((await c.run('org', 'did', 'add', 'acme', '+15550100', '+15550111')).code, 0);
  const b = await c.run('block', '5551234567', '--org', 'acme', '--did', '+15550100');
  t.match(b.out, /\(reject, on \+15550100; entry \d+\)/);
  t.match(await verdict(c, '5551234567', '--to', '+15550100'), { action: 'reject' });
  t.match(await verdict(c, '5551234567', '--to', '+15550111'), { action: 'allow' });
  const notOurs = await c.run('block', '5551234567', '--org', 'acme', '--did', '+15559999999');
  t.equal(notOurs.code, 65);
  t.match(notOurs.err, /\+15559999999 is not one of organisation "acme"'s numbers/);
  t.equal((await c.run('allow', '5557770000', '--org', 'acme', '--did', '+15550111')).code, 0);
  const a = await c.run('rules', 'allowlist-only', '+15550111', '--org', 'acme', '--others', 'voicemail');
  t.equal(a.out, '+15550111 in acme is allowlist-only: callers not allowed and not contacts get voicemail\n');
  t.match(await verdict(c, '5553334444', '--to', '+15550111'), {
    action: 'voicemail',
    rule: { kind: 'allowlist-only' },
  });
  t.match(await verdict(c, '5557770000', '--to', '+15550111'), { action: 'allow', rule: { kind: 'allow' } });
  t.equal((await c.run('contact', 'add', '5553334444', '--name', 'Grandma', '--org', 'acme')).code, 0);
  t.match(await verdict(c, '5553334444', '--to', '+15550111'), { action: 'allow', rule: null }, 'a contact rings');
  t.match(await verdict(c, '5558889999', '--to', '+15550100'), { action: 'allow' }, 'the other DID as usual');
  const dids = await c.run('rules', 'dids', '--org', 'acme');
  t.match(dids.out, /\+15550100 +as usual\n.*\+15550111 +allowlist-only \(others: voicemail\)/s);
  t.equal((await c.run('rules', 'allowlist-only', '+15550111', '--org', 'acme', '--off')).code, 0);
  t.match(await verdict(c, '5558889999', '--to', '+15550111'), { action: 'allow' });
  const both = await c.run('rules', 'allowlist-only', '+15550111', '--org', 'acme', '--off', '--others', 'reject');
  t.equal(both.code, 64);
});

t.test('patterns survive a CSV export and import; a broad one in a file is refused with its line', async (t) => {
  const c = await cliWithOrg(t);
  t.equal((await c.run('block', '--pattern', '+1415555????', '--org', 'acme', '--mode', 'voicemail')).code, 0);
  t.equal((await c.run('allow', '--pattern', '+14155550100..+14155550199', '--org', 'acme')).code, 0);
  const exported = await c.run('export', '--org', 'acme');
  t.equal(exported.code, 0, exported.err);
  t.match(exported.out, /\+1415555\?\?\?\?,pattern,block,voicemail/);
  const { writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  const other = await cliWithOrg(t);
  const file = path.join(other.dir, 'patterns.csv');
  writeFileSync(file, exported.out + '+1900*,pattern,block,reject,,,,,,,,,\n');
  const imported = await other.run('import', file, '--org', 'acme');
  t.equal(imported.code, 0, imported.err);
  t.match(await verdict(other, '+14155550123'), { action: 'allow', rule: { kind: 'allow' } });
  t.match(await verdict(other, '+14155551234'), { action: 'voicemail', rule: { kind: 'pattern' } });
  t.match(
    await verdict(other, '+19005551234'),
    { action: 'reject', rule: { kind: 'prefix' } },
    '"+1900*" imported as a prefix',
  );
  const broad = path.join(other.dir, 'broad.csv');
  writeFileSync(broad, 'number,kind\n+1??????????,pattern\n');
  const refused = await other.run('import', broad, '--org', 'acme');
  t.equal(refused.code, 65);
  t.match(refused.err, /line 2.*fixes 1 digit/s);
});
