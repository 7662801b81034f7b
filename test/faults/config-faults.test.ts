// Fault suite 4: config files with typos, wrong types and unknown keys. Each error names the key
// and the line; the daemon and CLI refuse to start with them (exit code, message on stderr), and a
// secret in a broken file never shows up in the message.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import { CallscreenError } from '../../daemon/core/errors.js';
import { tempDir } from '../support/harness.js';
import { cli } from '../support/faults-store.js';

const BASE = [
  '# callscreen test config',
  '[store]',
  'path = "/tmp/x.db"',
  '',
  '[fastagi]',
  'listen = "127.0.0.1:4573"',
  '',
  '[ami]',
  'enabled = false',
  'secret = "hunter2-ami-secret"',
  '',
];

/** [what, line to append to section, section, expected key, expected message part] */
const CASES: Array<[string, string, string, string, RegExp]> = [
  ['typo in a key', 'idle_timout_ms = 5000', 'fastagi', 'fastagi', /unknown key "idle_timout_ms" in \[fastagi\]/],
  ['unknown key', 'colour = "blue"', 'store', 'store', /unknown key "colour" in \[store\]/],
  ['string for an integer', 'busy_timeout_ms = "5000"', 'store', 'store.busy_timeout_ms', /must be integer/],
  ['float for an integer', 'max_connections = 2.5', 'fastagi', 'fastagi.max_connections', /must be integer/],
  ['negative integer', 'max_connections = -1', 'fastagi', 'fastagi.max_connections', /must be >= 1/],
  ['integer too large', 'port = 70000', 'ami', 'ami.port', /must be <= 65535/],
  ['string for a boolean', 'enabled = "yes"', 'fastagi', 'fastagi.enabled', /must be boolean/],
  ['enum typo', 'org_from = "dids"', 'fastagi', 'fastagi.org_from', /must be one of "did", "context", "fixed"/],
  ['array for a string', 'default_org = ["a"]', 'fastagi', 'fastagi.default_org', /must be string/],
  ['table for a number', 'action_timeout_ms = { a = 1 }', 'ami', 'ami.action_timeout_ms', /must be integer/],
  [
    'a list without its required item',
    'astdb_caller_forms = ["national", "trunk"]',
    'ami',
    'ami.astdb_caller_forms',
    /must include "e164"/,
  ],
];

function fileWith(section: string, line: string): { text: string; lineNo: number } {
  const lines = [...BASE];
  const at = lines.indexOf(`[${section}]`) + 1;
  lines.splice(at, 0, line);
  return { text: lines.join('\n'), lineNo: at + 1 };
}

t.test('typos, wrong types and unknown keys: the error names the key and the line', async (t) => {
  const loader = new ConfigLoader();
  for (const [what, line, section, key, msg] of CASES) {
    const { text, lineNo } = fileWith(section, line);
    const err = (() => {
      try {
        loader.fromText(text, 'callscreen.toml');
        return null;
      } catch (e) {
        return e;
      }
    })();
    t.ok(err instanceof CallscreenError, `${what}: refused`);
    const e = err as CallscreenError;
    t.comment(`sent: ${what} — "${line}" on line ${lineNo} → ${e.code}: ${e.message}`);
    t.equal(e.code, 'CS_ERR_CONFIG_INVALID', what);
    t.match(e.message, msg, `${what}: says what is wrong`);
    t.match(e.message, `(line ${lineNo})`, `${what}: names line ${lineNo}`);
    t.match(e.message, key.includes('.') ? key : `[${section}]`, `${what}: names ${key}`);
    t.equal((e.details as { line: number }).line, lineNo, `${what}: line in the details`);
    t.notMatch(e.message, /hunter2/, 'the AMI secret is not in the message');
  }
  const unknownSection = `${BASE.join('\n')}\n[fastagii]\nlisten = "x"\n`;
  const e = (() => {
    try {
      loader.fromText(unknownSection, 'callscreen.toml');
      return null;
    } catch (x) {
      return x as CallscreenError;
    }
  })();
  t.comment(`sent: a misspelt section [fastagii] on line ${BASE.length + 1} → ${e?.message ?? 'accepted'}`);
  t.match(e?.message ?? '', /unknown section or key "fastagii"/);
  t.match(e?.message ?? '', `(line ${BASE.length + 1})`);

  const syntax: Array<[string, string, number]> = [
    ['unclosed string', `${BASE.join('\n')}\n[log]\nlevel = "info\n`, BASE.length + 2],
    ['missing value', `${BASE.join('\n')}\n[log]\nlevel =\n`, BASE.length + 2],
    ['duplicate key', `${BASE.join('\n')}\n[log]\nlevel = "info"\nlevel = "debug"\n`, BASE.length + 3],
    ['duplicate section', `${BASE.join('\n')}\n[store]\npath = "y"\n`, BASE.length + 1],
  ];
  for (const [what, text, near] of syntax) {
    const x = (() => {
      try {
        loader.fromText(text, 'callscreen.toml');
        return null;
      } catch (y) {
        return y as CallscreenError;
      }
    })();
    const line = (x?.details as { line?: number } | undefined)?.line;
    t.comment(`sent: ${what} → ${x?.code ?? 'accepted'}: ${x?.message ?? ''}`);
    t.equal(x?.code, 'CS_ERR_CONFIG_SYNTAX', `${what}: syntax error`);
    t.match(x?.message ?? '', /line \d+, column \d+/, `${what}: names line and column`);
    t.ok(
      line !== undefined && Math.abs(line - near) <= 1,
      `${what}: line ${String(line)} is where the problem is (${near})`,
    );
    t.notMatch(x?.message ?? '', /hunter2/, 'no secret echoed');
  }
});

t.test('the CLI refuses a broken config file: exit code, key and line on stderr, no secret', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'callscreen.toml');
  const { text, lineNo } = fileWith('fastagi', 'max_conections = 10');
  writeFileSync(path, text);
  const r = await cli(['--config', path, 'config', 'check'], 60_000).done;
  t.comment(
    `callscreen --config (typo on line ${lineNo}) config check → exit ${String(r.code)}: ${r.err.trim().split('\n')[0] ?? ''}`,
  );
  t.not(r.code, 0, 'refused');
  t.match(r.err, /CS_ERR_CONFIG_INVALID/);
  t.match(r.err, `unknown key "max_conections" in [fastagi]`);
  t.match(r.err, `(line ${lineNo})`);
  t.notMatch(r.err + r.out, /hunter2/, 'the AMI secret is not printed');
});

/** [what, line, section, key, message]: values the schema lets through but the daemon could not use. */
const RULE_CASES: Array<[string, string, string, string, RegExp]> = [
  [
    'port out of range',
    'listen = "127.0.0.1:70000"',
    'fastagi',
    'fastagi.listen',
    /port 70000 is out of range \(0-65535\)/,
  ],
  ['no port', 'listen = "127.0.0.1"', 'fastagi', 'fastagi.listen', /is not host:port/],
  [
    'malformed IPv4',
    'listen = "127.0.0.300:4573"',
    'fastagi',
    'fastagi.listen',
    /"127\.0\.0\.300" is not an IPv4 address/,
  ],
  ['empty host', 'listen = ":4573"', 'fastagi', 'fastagi.listen', /the host is empty/],
  ['IPv6 literal', 'listen = "[::1]:4573"', 'fastagi', 'fastagi.listen', /IPv6 listen addresses are not supported/],
  ['bad host name', 'listen = "my_host:4573"', 'fastagi', 'fastagi.listen', /"my_host" is not a host name/],
  [
    'two listeners on one port',
    'listen = "127.0.0.1:8080"',
    'fastagi',
    'fastagi.listen',
    /clashes with admin\.listen|clashes with fastagi\.listen/,
  ],
  [
    'regex that does not compile',
    'endpoint_pattern = "^(PJSIP"',
    'agents',
    'agents.endpoint_pattern',
    /is not a valid regular expression/,
  ],
  ['half a TLS pair', 'tls_cert = "/etc/ssl/x.pem"', 'admin', 'admin.tls_key', /both or neither/],
  [
    'reconnect min above max',
    'reconnect_min_ms = 60000',
    'ami',
    'ami.reconnect_min_ms',
    /must not exceed ami\.reconnect_max_ms/,
  ],
];

t.test('what the daemon would refuse at start is refused at load: listen addresses, regexes, pairs', async (t) => {
  const loader = new ConfigLoader();
  const base = [...BASE, '[agents]', '', '[admin]', ''];
  for (const [what, line, section, key, msg] of RULE_CASES) {
    const lines = [...base];
    const at = lines.indexOf(`[${section}]`) + 1;
    // Replace the section's existing key of the same name (fastagi.listen) rather than duplicating it.
    const name = line.split('=')[0]!.trim();
    const existing = lines.findIndex(
      (l, i) => i >= at && l.startsWith(`${name} =`) && lines.slice(at, i).every((x) => !x.startsWith('[')),
    );
    if (existing >= 0) lines[existing] = line;
    else lines.splice(at, 0, line);
    const lineNo = (existing >= 0 ? existing : at) + 1;
    const err = (() => {
      try {
        loader.fromText(lines.join('\n'), 'callscreen.toml');
        return null;
      } catch (e) {
        return e as CallscreenError;
      }
    })();
    t.comment(`sent: ${what} — "${line}" on line ${lineNo} → ${err?.code ?? 'accepted'}: ${err?.message ?? ''}`);
    t.equal(err?.code, 'CS_ERR_CONFIG_INVALID', `${what}: refused`);
    t.match(err?.message ?? '', msg, `${what}: says what is wrong`);
    t.match(err?.message ?? '', key, `${what}: names ${key}`);
    if (key === 'admin.tls_key') continue; // the missing half has no line of its own
    t.match(err?.message ?? '', `(line ${lineNo})`, `${what}: names line ${lineNo}`);
  }
  for (const ok of ['listen = "0.0.0.0:4573"', 'listen = "localhost:4573"', 'listen = "127.0.0.1:0"']) {
    const lines = BASE.map((l) => (l.startsWith('listen =') ? ok : l));
    t.doesNotThrow(() => loader.fromText(lines.join('\n'), 'callscreen.toml'), `accepted: ${ok}`);
  }
});

t.test('config check and the daemon refuse the same file with the same message', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'callscreen.toml');
  writeFileSync(path, BASE.map((l) => (l.startsWith('listen =') ? 'listen = "127.0.0.1:99999"' : l)).join('\n'));
  const [check, daemon] = await Promise.all([
    cli(['--config', path, 'config', 'check'], 60_000).done,
    cli(['--config', path, '--db', join(dir, 'cs.db'), 'daemon'], 60_000).done,
  ]);
  t.comment(`config check → exit ${String(check.code)}: ${check.err.trim()}`);
  t.comment(`daemon → exit ${String(daemon.code)}: ${daemon.err.trim()}`);
  t.equal(check.code, 78, 'config check exits 78 (EX_CONFIG)');
  t.equal(daemon.code, 78, 'the daemon refuses to start with the same code');
  t.match(check.err, /CS_ERR_CONFIG_INVALID: .*fastagi\.listen \(line 6\) port 99999 is out of range/);
  t.equal(daemon.err.trim(), check.err.trim(), 'the same message');
});
