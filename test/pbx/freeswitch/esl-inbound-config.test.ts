// [esl_inbound]: refused at load when enabled with no password (the error names the key and the
// line), the password is a secret everywhere the config is shown, and main.ts buildPbxLinks picks
// the link: AMI when enabled (as before), else the inbound Event Socket.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigLoader, redactConfig } from '../../../daemon/config/load-config.js';
import { CallscreenError } from '../../../daemon/core/errors.js';
import { createLogger } from '../../../daemon/logger.js';
import { buildPbxLinks } from '../../../daemon/main.js';
import { ScreeningService } from '../../../daemon/services/screening-service.js';
import type { AdapterScreener } from '../../../daemon/services/screener.js';
import { EslMessageDeliverer } from '../../../daemon/pbx/freeswitch/esl-message-deliverer.js';
import { EslAgentNotifier } from '../../../daemon/pbx/freeswitch/esl-agent-notifier.js';
import { services, silentLogger, testConfig } from '../../support/harness.js';

const refusal = (text: string): CallscreenError | null => {
  try {
    new ConfigLoader().fromText(text, 'callscreen.toml');
    return null;
  } catch (e) {
    return e as CallscreenError;
  }
};

t.test(
  'enabled with no password, or an empty one: refused at load, naming esl_inbound.password and its line',
  async (t) => {
    const missing = refusal('[log]\nlevel = "info"\n[esl_inbound]\nenabled = true\n');
    t.equal(missing?.code, 'CS_ERR_CONFIG_INVALID');
    t.equal(
      missing?.message,
      'callscreen.toml: esl_inbound.password (line 3) must be set when esl_inbound.enabled = true',
      'the [esl_inbound] line when the key is absent',
    );
    t.match(missing?.details, { key: 'esl_inbound.password', line: 3 });

    const empty = refusal('[esl_inbound]\nenabled = true\npassword = ""\n');
    t.equal(
      empty?.message,
      'callscreen.toml: esl_inbound.password (line 3) must not be empty when esl_inbound.enabled = true',
    );

    t.equal(refusal('[esl_inbound]\nenabled = true\npassword = "ClueCon-x"\n'), null, 'a password: accepted');
    t.equal(refusal('[esl_inbound]\nport = 8021\n'), null, 'disabled (the default): no password needed');
    t.match(
      refusal('[esl_inbound]\nenabled = true\npassword = "x"\nchatplan_marker = "call screen"\n')?.message,
      /esl_inbound\.chatplan_marker \(line 4\) must match pattern/,
      'the marker is a header and variable name',
    );
  },
);

t.test('the password is a secret: redacted in config check and in logged config objects', async (t) => {
  const config = new ConfigLoader().fromText('[esl_inbound]\nenabled = true\npassword = "s3cr3t-esl"\n', 'x.toml');
  t.match(redactConfig(config), { esl_inbound: { password: '[redacted]', enabled: true } });
  const out: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (s: string) => out.push(s) } });
  logger.info({ config }, 'effective config');
  t.notMatch(out.join(''), 's3cr3t-esl');
  t.match(out.join(''), /"password":"\[redacted\]"/);
});

t.test(
  'buildPbxLinks: AMI wins when both are enabled; otherwise the inbound Event Socket; neither: no links',
  async (t) => {
    const s = await services(t);
    const both = testConfig(s.dbPath, '[ami]\nenabled = true\n[esl_inbound]\nenabled = true\npassword = "x"\n');
    // Nothing is started, the links are only built: the screener is never asked.
    const screening = new ScreeningService({
      screener: {} as AdapterScreener,
      orgSlugs: () => [],
      config: () => both,
      logger: silentLogger(),
    });
    t.same(
      buildPbxLinks(both, silentLogger(), s, screening).components.map((c) => c.name),
      ['ami-dial-watcher', 'ami'],
    );

    const esl = buildPbxLinks(
      testConfig(s.dbPath, '[esl_inbound]\nenabled = true\npassword = "x"\n'),
      silentLogger(),
      s,
      screening,
    );
    t.same(
      esl.components.map((c) => c.name),
      ['esl-inbound', 'esl-sms', 'esl-sms-watchdog'],
      'the client starts first and stops last; the watchdog stops first (screening off before nobody listens)',
    );
    t.ok(esl.deliverer instanceof EslMessageDeliverer, 'released SMS go out over the Event Socket');
    t.ok(esl.notifier instanceof EslAgentNotifier, 'and agent warnings');

    const none = buildPbxLinks(testConfig(s.dbPath), silentLogger(), s, screening);
    t.same(none, { deliverer: null, notifier: null, components: [] });
  },
);

t.test(
  "the shipped chatplan snippet speaks the daemon's default marker: the names are kept in step here",
  async (t) => {
    // Two files: the carriers' context and the phones' (the first extension that matches ends a chatplan).
    const xml = ['chatplan-callscreen.xml', 'chatplan-callscreen-agent.xml']
      .map((f) => readFileSync(join(import.meta.dirname, '../../../config/freeswitch', f), 'utf8'))
      .join('\n');
    const marker = new ConfigLoader().fromText('', 'defaults').esl_inbound.chatplan_marker;
    const extensions = [...xml.matchAll(/<extension name="([^"]+)">([\s\S]*?)<\/extension>/g)];
    t.same(
      extensions.map((m) => m[1]),
      ['callscreen-sms-inbound', 'callscreen-sms-closed', 'callscreen-sms-agent'],
    );
    const closed = extensions.find((m) => m[1] === 'callscreen-sms-closed')?.[2] ?? '';
    t.match(
      closed,
      `<condition field="\${${marker}_sms}" expression="^closed$"/>`,
      'refusing: only while the watchdog (or a clean stop) set closed',
    );
    // `final`, not `stop`: only final_delivery keeps the core from delivering the message itself after
    // the chatplan (seen on a real FreeSWITCH 1.10.12: test/e2e/freeswitch-sms.test.ts).
    t.same(
      [...closed.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<action application="([^"]+)"/g)].map((m) => m[1]),
      ['final'],
    );
    for (const [, name, body = ''] of extensions.filter((m) => m[1] !== 'callscreen-sms-closed')) {
      const conditions = [...body.matchAll(/<condition field="([^"]+)" expression="([^"]+)"/g)].map(
        (m) => `${String(m[1])} ${String(m[2])}`,
      );
      t.same(
        conditions.slice(0, 2),
        [`\${${marker}_sms} ^screen$`, `${marker} ^$`],
        `${String(name)}: only while the daemon switched screening on, only unmarked messages`,
      );
      const actions = [
        ...body.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<action application="([^"]+)"(?: data="([^"]*)")?\/>/g),
      ].map((m) => `${String(m[1])}${m[2] ? ` ${m[2]}` : ''}`);
      t.equal(
        actions[0],
        `set ${marker}=screen`,
        `${String(name)}: marks the message as the daemon's event filter expects`,
      );
      t.same(
        actions.slice(-2),
        ['fire', 'final'],
        `${String(name)}: a copy to the daemon, then FreeSWITCH delivers nothing itself`,
      );
    }
    t.match(xml, `set" data="${marker}_direction=outbound"`, "agents' messages are marked outbound");
  },
);
