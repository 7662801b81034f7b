// `callscreen store migrate --to postgres://…` (issue #15) against a real PostgreSQL (scripts/pg-sandbox).
import t from 'tap';
import { join } from 'node:path';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import { Daemon } from '../../daemon/main.js';
import { systemScheduler as realTimers } from '../../daemon/core/clock.js';
import { silentLogger } from '../support/harness.js';
import { PgSandbox, skipReason } from '../support/pg-sandbox.js';
import { cliWithOrg } from './cli-runner.js';

const skip = await skipReason();

t.test(
  'a single-node site moves to PostgreSQL with a count report; a new node gets everything',
  { skip: skip ?? false },
  async (t) => {
    const sb = await PgSandbox.start();
    t.teardown(() => sb.stop());
    const c = await cliWithOrg(t);
    for (let i = 0; i < 20; i++)
      t.equal((await c.run('block', `555123${String(i).padStart(4, '0')}`, '--org', 'acme')).code, 0);
    t.equal(
      (await c.run('contact', 'add', '5551110001', '5551110002', '--org', 'acme', '--name', 'Pest Control Co')).code,
      0,
    );

    const m = await c.run('store', 'migrate', '--to', sb.url);
    t.equal(m.code, 0, m.err);
    t.match(
      m.out,
      /^✓ .*callscreen\.db → postgres:\/\/callscreen@127\.0\.0\.1:\d+\/callscreen \(change 1\)$/m,
      'names the store without its password',
    );
    t.notMatch(m.out + m.err, /callscreen-pg-sandbox/, 'the password is never printed');
    t.match(m.out, /^ {2}entries +20 +20$/m, 'every entry, counted on both sides');
    t.match(m.out, /^ {2}orgs +1 +1$/m);
    t.match(m.out, /^ {2}contact_numbers +2 +2$/m);
    t.match(m.out, /^ {2}audit_log +(\d+) +\1$/m, 'the audit log');
    t.notMatch(m.out, /MISMATCH/);

    const again = await c.run('store', 'migrate', '--to', sb.url);
    t.equal(again.code, 65, 'a second migration into the same store is refused');
    t.match(again.err, /already holds 1 changes; migrate only into an empty store/);

    const loader = new ConfigLoader();
    const daemonOn = (path: string, name: string) =>
      new Daemon(
        loader.fromText(
          `[store]\npath = ${JSON.stringify(path)}\nbackend = "postgres"\nurl = ${JSON.stringify(sb.url)}\nnode_name = "${name}"\n[log]\nlevel = "silent"\n`,
          `${name}.toml`,
        ),
        silentLogger(),
        { timers: realTimers, components: () => [] },
      );
    const first = daemonOn(c.db, 'first');
    const fctx = await first.start();
    t.teardown(() => first.stop());
    t.equal(fctx.shared!.replicator.status().resyncs, 0, 'the migrated file is already a replica: no resync');
    const fresh = daemonOn(join(c.dir, 'new-node.db'), 'second');
    const nctx = await fresh.start();
    t.teardown(() => fresh.stop());
    t.equal((await nctx.blocklist.list('acme')).total, 20, 'a new node has every entry');
    const v = await nctx.screener.screen({
      org: 'acme',
      channel: 'call',
      direction: 'inbound',
      from: '+15551230007',
      to: '',
    });
    t.equal(v.action, 'reject', 'and screens with them');
  },
);
