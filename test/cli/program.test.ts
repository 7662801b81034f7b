// Every command through runCli in-process on a temporary database: output, exit codes, and that a
// refused command writes nothing.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runCli } from '../../daemon/cli/program.js';
import { Database } from '../../daemon/store/database.js';
import { tempDir, type TapLike } from '../support/harness.js';
import { runOn } from './cli-runner.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

function setup(t: TapLike): {
  db: string;
  dir: string;
  run: (...argv: string[]) => Promise<Run>;
  counts: () => Promise<string>;
} {
  const dir = tempDir(t);
  const db = join(dir, 'callscreen.db');
  // Only `init` (and the daemon) create a database: every suite here starts from an initialised one.
  let ready: Promise<number> | null = null;
  const run = async (...argv: string[]): Promise<Run> => {
    ready ??= runCli(['--db', db, 'init'], { stdout: { write: () => true }, stderr: { write: () => true }, env: {} });
    if ((await ready) !== 0) throw new Error('callscreen init failed');
    return runOn(db, argv);
  };
  // Rows in every table a command writes: equal before and after means nothing was written.
  const counts = async (): Promise<string> => {
    const d = await Database.open(db, { readOnly: true });
    try {
      const r = await d.get<
        Record<string, number>
      >(`SELECT (SELECT count(*) FROM orgs) o, (SELECT count(*) FROM org_numbers) n,
        (SELECT count(*) FROM contacts) c, (SELECT count(*) FROM entries) e, (SELECT count(*) FROM audit_log) a,
        (SELECT group_concat(agents_may_block || outbound_policy || default_mode || reject_code) FROM orgs) s`);
      return JSON.stringify(r);
    } finally {
      await d.close();
    }
  };
  return { db, dir, run, counts };
}

async function withOrg(t: TapLike): Promise<ReturnType<typeof setup>> {
  const s = setup(t);
  const a = await s.run('org', 'add', 'acme', '--name', 'Acme Dental', '--region', 'US');
  if (a.code !== 0) throw new Error(a.err);
  const b = await s.run('org', 'did', 'add', 'acme', '(555) 000-1111');
  if (b.code !== 0) throw new Error(b.err);
  return s;
}

/** Runs a command expected to fail and checks code, exit, message and that nothing changed. */
async function refused(
  t: Test,
  s: ReturnType<typeof setup>,
  argv: string[],
  code: string,
  exit: number,
  mentions?: RegExp,
): Promise<void> {
  const before = await s.counts();
  const r = await s.run(...argv);
  t.equal(r.code, exit, `${argv.join(' ')} → exit ${exit}`);
  t.match(r.err, new RegExp(`^callscreen: ${code}: `), `${argv.join(' ')} → ${code}`);
  if (mentions) t.match(r.err, mentions);
  t.equal(r.out, '', 'nothing on stdout');
  t.equal(await s.counts(), before, 'nothing written');
}

t.test('org add / list / did add / settings', async (t) => {
  const s = await withOrg(t);
  const list = await s.run('org', 'list');
  t.equal(list.code, 0);
  t.match(list.out, /^Org\s+Name\s+Region/);
  t.match(list.out, /acme\s+Acme Dental\s+US\s+\S+\s+603\s+warn\s+off\s+\+15550001111/);
  const json = await s.run('org', 'list', '--json');
  const orgs = JSON.parse(json.out) as Array<Record<string, unknown>>;
  t.same(
    orgs.map((o) => [o['slug'], o['region'], o['dids']]),
    [['acme', 'US', ['+15550001111']]],
  );

  const set = await s.run(
    'org',
    'settings',
    'acme',
    '--agents-may-block',
    'on',
    '--outbound-policy',
    'deny',
    '--default-mode',
    'voicemail',
    '--reject-code',
    '486',
    '--json',
  );
  t.equal(set.code, 0, set.err);
  t.match(JSON.parse(set.out), {
    agentsMayBlock: true,
    outboundPolicy: 'deny',
    defaultMode: 'voicemail',
    rejectCode: 486,
  });
  const show = await s.run('org', 'settings', 'acme');
  t.match(show.out, /outbound-policy\s+deny/);

  await refused(t, s, ['org', 'add', 'acme', '--name', 'Again', '--region', 'US'], 'CS_ERR_ORG_EXISTS', 65);
  await refused(
    t,
    s,
    ['org', 'add', 'Bad Slug', '--name', 'X', '--region', 'US'],
    'CS_ERR_INVALID_VALUE',
    65,
    /organisation id/,
  );
  await refused(
    t,
    s,
    ['org', 'add', 'beta', '--name', 'X', '--region', 'XX'],
    'CS_ERR_INVALID_VALUE',
    65,
    /region "XX"/,
  );
  await refused(t, s, ['org', 'add', 'beta', '--name', 'X'], 'CS_ERR_USAGE', 64, /--region/);
  await refused(t, s, ['org', 'did', 'add', 'nope', '5550002222'], 'CS_ERR_ORG_NOT_FOUND', 66);
  await refused(t, s, ['org', 'did', 'add', 'acme', '5550002222', 'hello'], 'CS_ERR_INVALID_NUMBER', 65, /hello/);
  await refused(t, s, ['org', 'settings', 'acme', '--outbound-policy', 'maybe'], 'CS_ERR_USAGE', 64, /maybe/);
  await refused(t, s, ['org', 'settings', 'acme', '--reject-code', '500'], 'CS_ERR_USAGE', 64);
  await refused(t, s, ['org', 'settings', 'nope', '--default-mode', 'reject'], 'CS_ERR_ORG_NOT_FOUND', 66);
});

t.test('contact add / list and blocking a contact', async (t) => {
  const s = await withOrg(t);
  const add = await s.run('contact', 'add', '--org', 'acme', '--name', 'Spammy Sam', '555-222-3333', '+1 555 222 4444');
  t.equal(add.code, 0, add.err);
  const id = add.out.trim();
  t.match(id, /^\d+$/, 'prints the contact id');
  const list = await s.run('contact', 'list', '--org', 'acme', '--json');
  t.match(JSON.parse(list.out), [
    { id: Number(id), name: 'Spammy Sam', numbers: ['+15552223333', '+15552224444'], blocked: false },
  ]);
  const b = await s.run('block', '--contact', id, '--org', 'acme', '--mode', 'reject');
  t.equal(b.code, 0, b.err);
  const chk = await s.run('check', '5552224444', '--org', 'acme', '--json');
  t.match(JSON.parse(chk.out), { action: 'reject', rule: { kind: 'contact', value: id } });
  const human = await s.run('contact', 'list', '--org', 'acme');
  t.match(human.out, /Spammy Sam\s+yes/);
  await refused(t, s, ['contact', 'add', '--org', 'acme', '--name', 'X', 'not-a-number'], 'CS_ERR_INVALID_NUMBER', 65);
  await refused(t, s, ['contact', 'add', '--org', 'nope', '--name', 'X', '5551112222'], 'CS_ERR_ORG_NOT_FOUND', 66);
  await refused(t, s, ['block', '--contact', '999', '--org', 'acme'], 'CS_ERR_CONTACT_NOT_FOUND', 66);
  await refused(t, s, ['block', '--contact', 'abc', '--org', 'acme'], 'CS_ERR_INVALID_VALUE', 65);
});

t.test('block: targets, modes, expiry, and every refusal writes nothing', async (t) => {
  const s = await withOrg(t);
  const b = await s.run(
    'block',
    '(555) 123-4567',
    '--org',
    'acme',
    '--mode',
    'voicemail',
    '--name',
    'Robo',
    '--reason',
    'spam calls',
    '--by',
    'alice',
    '--expires',
    '30d',
    '--json',
  );
  t.equal(b.code, 0, b.err);
  t.match(JSON.parse(b.out), {
    kind: 'exact',
    value: '+15551234567',
    mode: 'voicemail',
    name: 'Robo',
    reason: 'spam calls',
    createdBy: 'alice',
    source: 'cli',
  });
  t.type((JSON.parse(b.out) as { expiresAt: unknown }).expiresAt, 'number');
  t.equal((await s.run('block', '--prefix', '1900', '--org', 'acme')).code, 0);
  t.equal((await s.run('block', '--unidentified', '--org', 'acme', '--mode', 'reject')).code, 0);

  await refused(t, s, ['block', 'hello', '--org', 'acme'], 'CS_ERR_INVALID_NUMBER', 65, /hello/);
  await refused(t, s, ['block', '5559998888', '--org', 'nope'], 'CS_ERR_ORG_NOT_FOUND', 66, /nope/);
  await refused(t, s, ['block', '911', '--org', 'acme'], 'CS_ERR_PROTECTED_NUMBER', 65, /emergency/);
  await refused(t, s, ['block', '555-000-1111', '--org', 'acme'], 'CS_ERR_PROTECTED_NUMBER', 65, /own numbers/);
  await refused(
    t,
    s,
    ['block', '5559998888', '--prefix', '1555', '--org', 'acme'],
    'CS_ERR_USAGE',
    64,
    /exactly one target/,
  );
  await refused(
    t,
    s,
    ['block', '--unidentified', '--contact', '1', '--org', 'acme'],
    'CS_ERR_USAGE',
    64,
    /exactly one target/,
  );
  await refused(t, s, ['block', '--org', 'acme'], 'CS_ERR_USAGE', 64, /exactly one target/);
  await refused(
    t,
    s,
    ['block', '5559998888', '--org', 'acme', '--expires', 'tomorrow'],
    'CS_ERR_INVALID_VALUE',
    65,
    /expiry "tomorrow"/,
  );
  await refused(
    t,
    s,
    ['block', '5559998888', '--org', 'acme', '--expires', '2001-01-01'],
    'CS_ERR_INVALID_VALUE',
    65,
    /already passed/,
  );
  await refused(t, s, ['block', '5559998888', '--org', 'acme', '--mode', 'silence'], 'CS_ERR_USAGE', 64, /silence/);
  await refused(t, s, ['block', '5559998888'], 'CS_ERR_USAGE', 64, /--org/);
  await refused(t, s, ['block', '--prefix', '1-800-abc', '--org', 'acme'], 'CS_ERR_INVALID_PREFIX', 65);
});

t.test('allow and unblock', async (t) => {
  const s = await withOrg(t);
  await s.run('block', '--prefix', '1555', '--org', 'acme', '--mode', 'reject');
  const a = await s.run('allow', '555 321 0000', '--org', 'acme', '--reason', 'our courier');
  t.equal(a.code, 0, a.err);
  t.match(a.out, /allowed \+15553210000/);
  const chk = await s.run('check', '5553210000', '--org', 'acme', '--json');
  t.match(JSON.parse(chk.out), { action: 'allow', rule: { kind: 'allow' } });
  await refused(t, s, ['allow', '--unidentified', '--org', 'acme'], 'CS_ERR_USAGE', 64);
  await refused(t, s, ['allow', 'x', '--org', 'acme'], 'CS_ERR_INVALID_NUMBER', 65);
  await refused(t, s, ['allow', '5551112222', '--prefix', '1', '--org', 'acme'], 'CS_ERR_USAGE', 64);

  const u = await s.run('unblock', '--prefix', '+1 555', '--org', 'acme', '--by', 'bob', '--reason', 'mistake');
  t.equal(u.code, 0, u.err);
  t.match(u.out, /unblocked prefix \+1555 in acme \(blocked by tester on /);
  t.match(JSON.parse((await s.run('check', '5554443333', '--org', 'acme', '--json')).out), {
    action: 'allow',
    rule: null,
  });
  await refused(t, s, ['unblock', '--prefix', '1555', '--org', 'acme'], 'CS_ERR_ENTRY_NOT_FOUND', 66);
  await refused(t, s, ['unblock', '5551112222', '--unidentified', '--org', 'acme'], 'CS_ERR_USAGE', 64);
  await refused(t, s, ['unblock', 'what', '--org', 'acme'], 'CS_ERR_INVALID_NUMBER', 65);
  await refused(t, s, ['unblock', '5551112222', '--org', 'nope'], 'CS_ERR_ORG_NOT_FOUND', 66);

  const all = await s.run('list', '--org', 'acme', '--all', '--json');
  const removed = (JSON.parse(all.out) as { entries: Array<Record<string, unknown>> }).entries.find(
    (e) => e['kind'] === 'prefix',
  );
  t.match(removed, { removedBy: 'bob', removedReason: 'mistake', createdBy: 'tester' }, 'history kept');
});

t.test('--by defaults to $SUDO_USER then $USER; none at all is a usage error', async (t) => {
  const s = await withOrg(t);
  const run = (env: Record<string, string>, ...argv: string[]): Promise<number> =>
    runCli(['--db', s.db, ...argv], { stdout: { write: () => true }, stderr: { write: () => true }, env });
  t.equal(await run({ USER: 'root', SUDO_USER: 'carol' }, 'block', '5551230001', '--org', 'acme'), 0);
  t.equal(await run({ USER: 'dave' }, 'block', '5551230002', '--org', 'acme'), 0);
  const before = await s.counts();
  t.equal(await run({}, 'block', '5551230003', '--org', 'acme'), 64);
  t.equal(await s.counts(), before);
  const list = JSON.parse((await s.run('list', '--org', 'acme', '--json')).out) as {
    entries: Array<{ value: string; createdBy: string }>;
  };
  t.same(list.entries.map((e) => [e.value, e.createdBy]).sort(), [
    ['+15551230001', 'carol'],
    ['+15551230002', 'dave'],
  ]);
});

t.test('list: table columns, --search in another format, --limit, --all', async (t) => {
  const s = await withOrg(t);
  await s.run('block', '+15551234567', '--org', 'acme', '--name', 'Robo', '--reason', 'spam', '--by', 'alice');
  await s.run('block', '5559876543', '--org', 'acme');
  const all = await s.run('list', '--org', 'acme');
  t.equal(all.code, 0);
  const [header, ...rows] = all.out.trimEnd().split('\n');
  t.match(header, /^Caller ID\s+Name\s+Mode\s+Blocked By\s+Blocked On\s+Reason\s+Expires\s+Hits$/);
  t.equal(rows.length, 2);
  const found = await s.run('list', '--org', 'acme', '--search', '(555) 12');
  t.match(found.out, /\+15551234567\s+Robo\s+\S+\s+alice\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+spam\s+0/);
  t.notMatch(found.out, /5559876543/);
  const json = JSON.parse((await s.run('list', '--org', 'acme', '--search', '555-987', '--json')).out) as {
    total: number;
    entries: Array<{ value: string }>;
  };
  t.same(
    json.entries.map((e) => e.value),
    ['+15559876543'],
  );
  const limited = await s.run('list', '--org', 'acme', '--limit', '1');
  t.match(limited.out, /\(1 of 2; use --limit, --search, or callscreen export for every entry\)/);
  const tooMany = await s.run('list', '--org', 'acme', '--limit', '10001');
  t.equal(tooMany.code, 64, 'a --limit beyond one page is refused, not quietly cut to 10,000');
  t.match(
    tooMany.err,
    /CS_ERR_USAGE: --limit 10001 is more than 10000 rows; for every entry use: callscreen export --org acme/,
  );
  t.match((await s.run('list', '--org', 'acme', '--search', '777')).out, /nothing in acme matches "777"/);
  const bad = await s.run('list', '--org', 'acme', '--limit', 'lots');
  t.equal(bad.code, 64);
  t.match(bad.err, /CS_ERR_USAGE: --limit "lots"/);
  t.equal((await s.run('list', '--org', 'nope')).code, 66);
});

t.test('check gives the daemon verdict; --json fields; outbound screens --to', async (t) => {
  const s = await withOrg(t);
  await s.run('org', 'settings', 'acme', '--outbound-policy', 'confirm', '--reject-code', '607');
  await s.run('block', '5551234567', '--org', 'acme', '--mode', 'reject', '--reason', 'spam');
  await s.run('block', '5557654321', '--org', 'acme', '--mode', 'voicemail');
  const j = JSON.parse(
    (await s.run('check', '+1 (555) 123-4567', '--org', 'acme', '--to', '5550001111', '--json')).out,
  ) as Record<string, unknown>;
  t.match(j, {
    action: 'reject',
    normalized: '+15551234567',
    rule: { kind: 'exact', value: '+15551234567', mode: 'reject', reason: 'spam' },
    sipCode: 607,
  });
  t.type(j['reason'], 'string');
  t.type((j['rule'] as { id: unknown }).id, 'number');
  t.match(JSON.parse((await s.run('check', '5557654321', '--org', 'acme', '--json')).out), { action: 'voicemail' });
  t.match(JSON.parse((await s.run('check', '5557654321', '--org', 'acme', '--channel', 'sms', '--json')).out), {
    action: 'quarantine',
  });
  t.match(JSON.parse((await s.run('check', '5550001234', '--org', 'acme', '--json')).out), {
    action: 'allow',
    rule: null,
  });
  t.match(JSON.parse((await s.run('check', '911', '--org', 'acme', '--json')).out), {
    action: 'allow',
    rule: { kind: 'protected' },
  });
  t.match(JSON.parse((await s.run('check', 'anonymous', '--org', 'acme', '--json')).out), {
    action: 'allow',
    normalized: 'unidentified',
  });
  // Outbound: FROM is the agent, --to is screened.
  const out = JSON.parse(
    (await s.run('check', '201', '--org', 'acme', '--direction', 'outbound', '--to', '555-123-4567', '--json')).out,
  ) as Record<string, unknown>;
  t.match(out, { action: 'confirm', normalized: '+15551234567', rule: { kind: 'exact' } });
  const human = await s.run('check', '5551234567', '--org', 'acme');
  t.match(human.out, /^reject\s+\+15551234567\s+\(SIP 607\)\n.+spam/);
  const noTo = await s.run('check', '201', '--org', 'acme', '--direction', 'outbound');
  t.equal(noTo.code, 64);
  t.match(noTo.err, /--to/);
  t.equal((await s.run('check', '5551234567', '--org', 'nope')).code, 66);
  t.equal((await s.run('check', '5551234567', '--org', 'acme', '--channel', 'fax')).code, 64);
  // check records nothing: hit counts unchanged.
  const list = JSON.parse((await s.run('list', '--org', 'acme', '--json')).out) as {
    entries: Array<{ hitCount: number }>;
  };
  t.same(
    list.entries.map((e) => e.hitCount),
    [0, 0],
  );
});

t.test('audit lists changes newest first', async (t) => {
  const s = await withOrg(t);
  await s.run('block', '5551234567', '--org', 'acme', '--reason', 'spam', '--by', 'alice');
  await s.run('unblock', '5551234567', '--org', 'acme', '--by', 'bob', '--reason', 'oops');
  const a = await s.run('audit', '--org', 'acme');
  t.equal(a.code, 0);
  const lines = a.out.trimEnd().split('\n');
  t.match(lines[0], /^When\s+Who\s+Action\s+Target\s+Reason\s+From$/);
  t.match(lines[1], /bob\s+unblock\s+\+15551234567\s+oops\s+cli/);
  t.match(lines[2], /alice\s+block\s+\+15551234567\s+spam/);
  const j = JSON.parse((await s.run('audit', '--org', 'acme', '--json', '--limit', '2')).out) as {
    total: number;
    events: Array<{ action: string }>;
  };
  t.equal(j.total, 4);
  t.same(
    j.events.map((e) => e.action),
    ['unblock', 'block'],
  );
  t.equal((await s.run('audit', '--org', 'nope')).code, 66);
});

t.test('usage errors: unknown command, unknown option, --help', async (t) => {
  const s = setup(t);
  const u = await s.run('frobnicate');
  t.equal(u.code, 64);
  t.match(u.err, /^callscreen: CS_ERR_USAGE: unknown command 'frobnicate'/);
  const o = await s.run('list', '--org', 'acme', '--colour');
  t.equal(o.code, 64);
  t.match(o.err, /CS_ERR_USAGE: unknown option '--colour'/);
  const h = await s.run('--help');
  t.equal(h.code, 0);
  t.match(h.out, /Usage: callscreen/);
  t.match(h.out, /block \[options\] \[number\]/);
  const sub = await s.run('block', '--help');
  t.equal(sub.code, 0);
  t.match(sub.out, /--unidentified/);
});

t.test('config check: ok with the effective config redacted; a bad key names its line', async (t) => {
  const s = setup(t);
  const { writeFileSync } = await import('node:fs');
  const good = join(s.dir, 'good.toml');
  writeFileSync(good, '[ami]\nenabled = false\nsecret = "hunter2"\n[log]\nlevel = "warn"\n');
  const ok = await s.run('--config', good, 'config', 'check');
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, new RegExp(`^ok: ${good.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
  t.match(ok.out, /level = "warn"/);
  t.match(ok.out, /secret = "\[redacted\]"/);
  t.notMatch(ok.out, /hunter2/);
  const j = JSON.parse((await s.run('--config', good, 'config', 'check', '--json')).out) as {
    ok: boolean;
    file: string;
    config: { ami: { secret: string } };
  };
  t.match(j, { ok: true, file: good, config: { ami: { secret: '[redacted]' } } });

  const bad = join(s.dir, 'bad.toml');
  writeFileSync(bad, '# site config\n[fastagi]\nenabled = true\nlisen = "0.0.0.0:4573"\n');
  const b = await s.run('--config', bad, 'config', 'check');
  t.equal(b.code, 78);
  t.match(b.err, /^callscreen: CS_ERR_CONFIG_INVALID: .*fastagi\.lisen \(line 4\) unknown key "lisen"/);
  t.equal(b.out, '');
  const syntax = join(s.dir, 'syntax.toml');
  writeFileSync(syntax, '[log]\nlevel = \n');
  const sy = await s.run('--config', syntax, 'config', 'check');
  t.equal(sy.code, 78);
  t.match(sy.err, /CS_ERR_CONFIG_SYNTAX: .*line 2/);
  const missing = await s.run('--config', join(s.dir, 'none.toml'), 'config', 'check');
  t.equal(missing.code, 66);
  t.match(missing.err, /CS_ERR_FILE_NOT_FOUND/);
  const defaults = await runCli(['config', 'check'], {
    stdout: { write: () => true },
    stderr: { write: () => true },
    env: {},
  });
  t.equal(defaults, 0);
  // CALLSCREEN_CONFIG is used when --config is absent.
  let out = '';
  t.equal(
    await runCli(['config', 'check'], {
      stdout: { write: (x: string) => (out += x) },
      stderr: { write: () => true },
      env: { CALLSCREEN_CONFIG: bad },
    }),
    78,
  );
  t.equal(out, '');
});
