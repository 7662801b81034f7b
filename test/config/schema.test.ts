// The config's secrets are listed once, by the schema (`writeOnly`): `config check` (redactConfig)
// and the logger's redact paths both follow that list, so a secret key added to the schema is
// hidden everywhere without a second edit.
import t from 'tap';
import { ConfigLoader, redactConfig } from '../../daemon/config/load-config.js';
import { CONFIG_SCHEMA, SECRET_KEYS } from '../../daemon/config/schema.js';
import { createLogger, REDACT_PATHS } from '../../daemon/logger.js';
import { SECRET_CONFIG_LINES } from '../support/secret-config.js';

const withSecrets = SECRET_CONFIG_LINES.join('\n');

t.test('the secret keys are the ones the schema marks writeOnly', async (t) => {
  t.same([...SECRET_KEYS].sort(), ['admin.tls_key', 'ami.secret', 'esl_inbound.password', 'sip_edge.secret']);
  t.equal(CONFIG_SCHEMA.properties.ami.properties.secret.writeOnly, true);
});

t.test('config check: every secret key is redacted, nothing else is', async (t) => {
  const config = new ConfigLoader().fromText(withSecrets, 'x.toml');
  const shown = JSON.stringify(redactConfig(config));
  t.notMatch(shown, /s3cret/, 'no secret value printed');
  t.match(redactConfig(config), {
    ami: { secret: '[redacted]', username: 'callscreen' },
    esl_inbound: { password: '[redacted]' },
    sip_edge: { secret: '[redacted]' },
    admin: { tls_key: '[redacted]', tls_cert: '/etc/callscreen/cert.pem' },
  });
  const empty = redactConfig(new ConfigLoader().fromText('', 'x.toml'));
  t.match(
    empty,
    { ami: { secret: '' } },
    'an unset (empty) secret shows as empty: nothing to hide, and the reader sees it is unset',
  );
});

t.test('the logger redacts the same keys under a logged config object', async (t) => {
  for (const key of SECRET_KEYS) t.ok(REDACT_PATHS.includes(`config.${key}`), `config.${key} is a redact path`);
  const config = new ConfigLoader().fromText(withSecrets, 'x.toml');
  const out: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (s: string) => out.push(s) } });
  logger.info({ config }, 'effective config');
  const line = JSON.parse(out.join('')) as { config: Record<string, Record<string, unknown>> };
  t.notMatch(out.join(''), /s3cret/);
  t.equal(line.config.admin?.tls_key, '[redacted]');
  t.equal(line.config.ami?.secret, '[redacted]');
  t.equal(line.config.ami?.username, 'callscreen', 'other keys are logged as they are');
});
