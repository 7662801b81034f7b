/** `callscreen token create / list / revoke` and `callscreen user password`, in-process on a real SQLite file. */
import { join } from 'node:path';
import t from 'tap';
import { UserService } from '../../daemon/admin/user-service.js';
import { openServices } from '../../daemon/main.js';
import { silentLogger, tempDir, testConfig } from '../support/harness.js';
import { runOn } from './cli-runner.js';

t.test('token create / list / revoke; user disable revokes for good; user password resets', async (t) => {
  const db = join(tempDir(t), 'callscreen.db');
  const run = (stdin: string | null, ...argv: string[]) => runOn(db, argv, stdin !== null ? { stdin } : {});
  t.equal((await run(null, 'init')).code, 0);
  t.equal((await run(null, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US')).code, 0);
  t.equal(
    (await run('first-password-1\n', 'user', 'add', 'sam', '--role', 'supervisor', '--org', 'acme', '--password-stdin'))
      .code,
    0,
  );

  const created = await run(
    null,
    'token',
    'create',
    'sam',
    '--name',
    'softphone-101',
    '--role',
    'agent',
    '--days',
    '30',
    '--json',
  );
  t.equal(created.code, 0, created.err);
  const tok = JSON.parse(created.out) as {
    id: number;
    token: string;
    role: string;
    expiresAt: number;
    readOnly: boolean;
  };
  t.match(tok, { role: 'agent', readOnly: false, token: /^cs_/ });
  const human = await run(null, 'token', 'create', 'sam', '--name', 'wallboard', '--read-only');
  t.match(human.out, /✓ token \d+ "wallboard" for sam: read-only, role supervisor, expires \d{4}-/);
  t.match(human.out, /token \(shown once\): cs_/);

  const tooHigh = await run(null, 'token', 'create', 'sam', '--name', 'x', '--role', 'admin');
  t.equal(tooHigh.code, 77, "a token above the user's role: refused (CS_ERR_FORBIDDEN)");
  t.match(tooHigh.err, /at most supervisor/);
  t.equal(
    (await run(null, 'token', 'create', 'sam', '--name', 'x', '--days', '400')).code,
    65,
    'more than 366 days: invalid',
  );
  t.equal((await run(null, 'token', 'create', 'sam', '--name', 'x', '--days', 'soon')).code, 64, 'not a number: usage');
  t.equal((await run(null, 'token', 'create', 'nobody', '--name', 'x')).code, 66, 'no such user');

  // Use the token once through the service the API uses, so list shows a last use.
  const s = await openServices(testConfig(db), silentLogger());
  const users = new UserService(s.db, s.orgs, s.audit, s.clock);
  t.ok(await users.verifyToken(tok.token));
  await s.close();

  const list = await run(null, 'token', 'list', 'sam');
  t.equal(list.code, 0, list.err);
  t.match(list.out, /softphone-101\tagent\tactive\texpires \d{4}-\d\d-\d\dT[\d:]+Z\tlast used \d{4}-/);
  t.match(list.out, /wallboard\tsupervisor read-only\tactive/);
  t.notMatch(list.out, /cs_/, 'the secret is never listed');

  const revoked = await run(null, 'token', 'revoke', 'sam', String(tok.id));
  t.equal(revoked.code, 0, revoked.err);
  t.match(revoked.out, `✓ token ${tok.id} "softphone-101" of sam revoked`);
  t.equal((await run(null, 'token', 'revoke', 'sam', '999')).code, 66, 'no such token');
  t.match((await run(null, 'token', 'list', '--json')).out, /"state": ?"revoked"/);

  t.equal((await run(null, 'user', 'disable', 'sam')).code, 0);
  t.equal((await run(null, 'user', 'enable', 'sam')).code, 0);
  const after = JSON.parse((await run(null, 'token', 'list', 'sam', '--json')).out) as {
    tokens: Array<{ state: string; revokedReason: string }>;
  };
  t.ok(
    after.tokens.every((x) => x.state === 'revoked'),
    'disable revoked every token; enable revived none',
  );
  t.match(
    after.tokens.map((x) => x.revokedReason),
    ['user disabled', 'revoked'],
  );

  t.equal((await run('short\n', 'user', 'password', 'sam', '--password-stdin')).code, 65, 'too short');
  const reset = await run('second-password-2\n', 'user', 'password', 'sam', '--password-stdin');
  t.equal(reset.code, 0, reset.err);
  t.match(reset.out, '✓ password of sam reset; their sessions ended');
  const s2 = await openServices(testConfig(db), silentLogger());
  const users2 = new UserService(s2.db, s2.orgs, s2.audit, s2.clock);
  t.ok(await users2.authenticate('sam', 'second-password-2'), 'the new password signs in');
  t.notOk(await users2.authenticate('sam', 'first-password-1'));
  const actions = (await s2.audit.query({ orgId: (await s2.orgs.require('acme')).id, limit: 50 })).events.map(
    (e) => e.action,
  );
  for (const a of ['user.token.add', 'user.token.use', 'user.token.revoke', 'user.password.reset'])
    t.ok(actions.includes(a), `audited: ${a}`);
  await s2.close();
});
