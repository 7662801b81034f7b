import t from 'tap';
import { ConfigLoader, redactConfig } from '../../daemon/config/load-config.js';

const loader = new ConfigLoader();

t.test('store.backend = postgres needs a postgres url naming a host and a database', async (t) => {
  t.throws(() => loader.fromText('[store]\nbackend = "postgres"\n', 'f'), {
    code: 'CS_ERR_CONFIG_INVALID',
    message: /store\.url .*must be set when store\.backend = "postgres"/,
  });
  t.throws(() => loader.fromText('[store]\nbackend = "postgres"\nurl = "mysql://u:p@h/db"\n', 'f'), {
    message: /store\.url \(line 3\) must start with postgres:\/\//,
  });
  t.throws(() => loader.fromText('[store]\nbackend = "postgres"\nurl = "postgres://u:p@h:5432/"\n', 'f'), {
    message: /names no database/,
  });
  const c = loader.fromText(
    '[store]\nbackend = "postgres"\nurl = "postgres://cs:s3cret@db.example:5432/callscreen"\nnode_name = "pbx-a"\n',
    'f',
  );
  t.equal(c.store.backend, 'postgres');
  t.equal(c.store.pool_size, 4, 'pool size defaults to 4');
  t.equal(c.store.node_name, 'pbx-a');
  t.throws(
    () => loader.fromText('[store]\nnode_name = "a b"\n', 'f'),
    { code: 'CS_ERR_CONFIG_INVALID' },
    'node names are simple tokens',
  );
});

t.test('the password in store.url is redacted; the rest stays readable', async (t) => {
  const c = loader.fromText(
    '[store]\nbackend = "postgres"\nurl = "postgres://cs:s3cret@db.example:5432/callscreen"\n',
    'f',
  );
  const shown = JSON.stringify(redactConfig(c));
  t.notMatch(shown, /s3cret/);
  t.match(shown, /postgres:\/\/cs:\[redacted\]@db\.example:5432\/callscreen/);
});
