/** `callscreen user` in-process: prompt-free add (stdin or generated password), token, list; the password then signs in. */
import { join } from 'node:path';
import t from 'tap';
import { UserService } from '../../daemon/admin/user-service.js';
import { openServices } from '../../daemon/main.js';
import { silentLogger, tempDir, testConfig } from '../support/harness.js';
import { runOn } from '../cli/cli-runner.js';

t.test('user add / token / list / disable', async (t) => {
  const db = join(tempDir(t), 'callscreen.db');
  const run = (stdin: string | null, ...argv: string[]) => runOn(db, argv, stdin !== null ? { stdin } : {});
  t.equal((await run(null, 'init')).code, 0); // only init (or the daemon) creates a database
  t.equal((await run(null, 'org', 'add', 'acme', '--name', 'Acme', '--region', 'US')).code, 0);
  const viaStdin = await run(
    'from-stdin-password\n',
    'user',
    'add',
    'alice',
    '--role',
    'admin',
    '--org',
    'acme',
    '--password-stdin',
  );
  t.equal(viaStdin.code, 0, viaStdin.err);
  t.match(viaStdin.out, '✓ added admin alice in acme');
  t.notMatch(viaStdin.out, 'from-stdin-password', 'a given password is never echoed');
  const generated = await run(null, 'user', 'add', 'sam', '--role', 'supervisor', '--org', 'acme', '--json');
  t.equal(generated.code, 0, generated.err);
  const { password } = JSON.parse(generated.out) as { password: string };
  t.ok(password.length >= 20, 'a generated password is printed once');
  const badRole = await run(null, 'user', 'add', 'x', '--role', 'root', '--org', 'acme');
  t.equal(badRole.code, 64);
  const dup = await run(null, 'user', 'add', 'alice', '--role', 'agent', '--org', 'acme');
  t.equal(dup.code, 65, 'user exists');
  const noOrg = await run(null, 'user', 'add', 'zed', '--role', 'agent', '--org', 'nosuch');
  t.equal(noOrg.code, 66);
  const token = await run(null, 'user', 'token', 'alice', '--json');
  t.match(JSON.parse(token.out), { token: /^cs_/ });
  const list = await run(null, 'user', 'list');
  t.match(list.out, /alice\tadmin\tacme/);

  const s = await openServices(testConfig(db), silentLogger());
  t.teardown(() => s.close());
  const users = new UserService(s.db, s.orgs, s.audit, s.clock);
  t.match(await users.authenticate('alice', 'from-stdin-password'), { name: 'alice', role: 'admin' });
  t.match(await users.authenticate('sam', password), { name: 'sam' });
  t.match(await users.verifyToken((JSON.parse(token.out) as { token: string }).token), {
    user: { name: 'alice' },
    readOnly: false,
  });
  t.equal((await run(null, 'user', 'disable', 'sam')).code, 0);
  t.equal(await users.authenticate('sam', password), null, 'disabled users cannot sign in');
});
