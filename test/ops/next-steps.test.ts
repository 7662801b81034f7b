/**
 * `callscreen doctor`'s next steps on a fresh install (issue #19): shown while still to do, with the
 * real paths, and gone once done. A real SQLite file; the doctor through the CLI program.
 */
import t from 'tap';
import { nextSteps } from '../../daemon/ops/next-steps.js';
import { cliActor, services, testConfig } from '../support/harness.js';

t.test('a fresh site gets four steps with real paths; each goes once it is done', async (t) => {
  const s = await services(t);
  const config = testConfig(s.dbPath);
  const fresh = await nextSteps({
    config,
    configSource: '/etc/callscreen/callscreen.toml',
    dbPath: s.dbPath,
    shareDir: '/usr/share/callscreen',
  });
  t.equal(fresh.length, 4);
  t.match(fresh[0], /callscreen org add/);
  t.match(fresh[1], /callscreen user add admin --role admin --org acme/);
  t.match(fresh[2], /in \/etc\/callscreen\/callscreen\.toml set \[ami\] enabled = true/);
  t.match(fresh[3], /\/usr\/share\/callscreen\/asterisk\/freepbx\/extensions_custom\.conf/);

  await s.orgs.add('acme', 'Acme', 'US', cliActor);
  const withAmi = testConfig(s.dbPath, '[ami]\nenabled = true\nusername = "callscreen"\nsecret = "x"\n');
  const later = await nextSteps({ config: withAmi, configSource: null, dbPath: s.dbPath, shareDir: '/x' });
  t.equal(later.length, 2, 'org and PBX link done: the user and the dialplan hook remain');
  t.match(later[0], /--org ORG/);
  t.match(later[1], /dialplan/);
});

t.test('without a database the steps that need it are left to the doctor checks', async (t) => {
  const steps = await nextSteps({
    config: testConfig('/nonexistent/x.db'),
    configSource: null,
    dbPath: '/nonexistent/x.db',
    shareDir: '/x',
  });
  t.same(
    steps.map((x) => x.split(':')[0]),
    ['give the daemon its PBX link', 'hook the dialplan so calls are screened'],
  );
});
