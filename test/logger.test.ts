import t from 'tap';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import {
  censorNested,
  censoringChildren,
  createLogger,
  flushOnlyWhenWritten,
  pinoOptions,
  REDACT_CENSOR,
  REDACT_PATHS,
  type FlushableDestination,
} from '../daemon/logger.js';
import { SECRET_CONFIG_LINES } from './support/secret-config.js';

/** A destination that counts what pino's buffered destination would be asked to do. */
function fakeDestination(): FlushableDestination & { lines: string[]; flushes: number; failNext: boolean } {
  const d = {
    lines: [] as string[],
    flushes: 0,
    failNext: false,
    write(line: string): boolean {
      d.lines.push(line);
      return true;
    },
    flush(cb?: (err?: Error | null) => void): void {
      if (d.failNext) {
        d.failNext = false;
        throw new Error('sonic boom is not ready yet');
      }
      d.flushes++;
      cb?.(null);
    },
  };
  return d;
}

t.test('the flush timer flushes only when a line was written since its last tick', (t) => {
  const dest = fakeDestination();
  const f = flushOnlyWhenWritten(dest);
  f.tick();
  f.tick();
  t.equal(dest.flushes, 0, 'a quiet daemon asks for no empty write');
  f.stream.write('{"msg":"one"}\n');
  f.stream.write('{"msg":"two"}\n');
  t.same(dest.lines, ['{"msg":"one"}\n', '{"msg":"two"}\n'], 'lines go through unchanged');
  f.tick();
  t.equal(dest.flushes, 1, 'the lines are flushed at the next tick');
  f.tick();
  t.equal(dest.flushes, 1, 'and not again while nothing new was written');
  t.end();
});

t.test('a flush that fails (destination not open yet) is tried again at the next tick', (t) => {
  const dest = fakeDestination();
  const f = flushOnlyWhenWritten(dest);
  f.stream.write('{"msg":"early"}\n');
  dest.failNext = true;
  t.doesNotThrow(() => f.tick(), 'the timer never throws');
  t.equal(dest.flushes, 0);
  f.tick();
  t.equal(dest.flushes, 1, 'the line is flushed at the tick after');
  t.end();
});

t.test("pino's own flush (logger.flush at exit) always reaches the destination", (t) => {
  const dest = fakeDestination();
  const f = flushOnlyWhenWritten(dest);
  let called = false;
  f.stream.flush(() => {
    called = true;
  });
  t.equal(dest.flushes, 1);
  t.ok(called, 'with its callback');
  f.stream.write('{"msg":"x"}\n');
  f.stream.flush();
  f.tick();
  t.equal(dest.flushes, 2, 'a line flushed by pino is not flushed again by the timer');
  t.end();
});

/** Every line a logger writes, parsed (no timestamps: two loggers' lines compare equal). */
function capture(
  options: LoggerOptions,
  patchChildren: boolean,
): { logger: Logger; lines: () => unknown[]; text: () => string } {
  const out: string[] = [];
  const made = pino({ ...options, timestamp: false }, { write: (s: string) => out.push(s) });
  // The new options come with the child patch createLogger applies; the old ones were pino's alone.
  const logger = patchChildren ? censoringChildren(made) : made;
  return {
    logger,
    lines: () => out.map((l) => JSON.parse(l) as unknown),
    text: () => out.join(''),
  };
}

/** The objects our code logs secrets in, or could: each secret's value contains "s3cret". */
function secretBearing(): Array<{ what: string; obj: Record<string, unknown> }> {
  const config = new ConfigLoader().fromText(
    [
      ...SECRET_CONFIG_LINES,
      '[store]',
      'backend = "postgres"',
      'url = "postgres://cs:pg-s3cret@db.example/callscreen"',
    ].join('\n') + '\n',
    'x.toml',
  );
  const err = Object.assign(new Error('login refused'), { password: 'err-s3cret', code: 'EAUTH' });
  return [
    { what: 'the effective config', obj: { config } },
    { what: "an [ami] section's options", obj: { ami: { host: '127.0.0.1', username: 'cs', secret: 'ami-s3cret' } } },
    {
      what: 'top-level secret, password, token, authorization',
      obj: { secret: 'a-s3cret', password: 'b-s3cret', token: 'c-s3cret', authorization: 'Bearer d-s3cret' },
    },
    { what: 'an admin token one level down', obj: { admin: { token: 'tok-s3cret', name: 'ops' } } },
    {
      what: 'request headers',
      obj: {
        req: {
          method: 'GET',
          url: '/metrics',
          headers: { authorization: 'Bearer h-s3cret', cookie: 'sid=c-s3cret', host: 'x' },
        },
      },
    },
    { what: 'bare headers', obj: { headers: { cookie: 'sid=k-s3cret', authorization: 'Basic z-s3cret' } } },
    { what: 'an Authorization one level down', obj: { upstream: { authorization: 'Bearer u-s3cret', status: 401 } } },
    {
      what: 'a connection string, top and nested',
      obj: { connectionString: 'postgres://x:t-s3cret@h/db', pg: { connectionString: 'postgres://y:n-s3cret@h/db' } },
    },
    { what: 'an error carrying a password', obj: { err, attempt: 2 } },
    {
      what: 'a screened line (nothing secret)',
      obj: {
        org: 'acme',
        callId: '1700000000.1',
        from: '+15551234567',
        to: '+15559200000',
        script: 'call-inbound',
        action: 'reject',
        rule: 'exact:1',
        reason: 'listed',
        latencyUs: 12,
        sessionUs: 456,
        commands: 2,
      },
    },
  ];
}

/** What createLogger gave pino before (issue #20): every REDACT_PATHS entry, wildcards included. */
const WILDCARDS: LoggerOptions = {
  level: 'info',
  redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
  base: { service: 'callscreen' },
};

t.test("pinoOptions redacts every secret-bearing log object exactly as pino's wildcard paths did", (t) => {
  const before = capture(WILDCARDS, false);
  const after = capture(pinoOptions('info'), true);
  for (const { what, obj } of secretBearing()) {
    const snapshot = JSON.stringify(obj);
    before.logger.info(obj, what);
    after.logger.info(obj, what);
    t.equal(JSON.stringify(obj), snapshot, `${what}: the caller's object is left as it was`);
  }
  t.notMatch(after.text(), /s3cret/, 'no secret reaches a line');
  t.same(after.lines(), before.lines(), 'the same lines as with the wildcard paths');
  const lines = after.lines();
  t.match(
    lines[0],
    { config: { ami: { secret: REDACT_CENSOR }, esl_inbound: { password: REDACT_CENSOR } } },
    '[ami] secret, ESL password in the effective config',
  );
  t.match(
    lines[1],
    { ami: { secret: REDACT_CENSOR, username: 'cs' } },
    '[ami] secret in its options, the rest as it is',
  );
  t.match(lines[3], { admin: { token: REDACT_CENSOR, name: 'ops' } }, 'an admin token');
  t.match(
    lines[4],
    { req: { headers: { authorization: REDACT_CENSOR, cookie: REDACT_CENSOR, host: 'x' } } },
    'Authorization and Cookie headers',
  );
  t.match(
    lines[8],
    {
      err: { password: REDACT_CENSOR, message: 'login refused', type: 'Error', code: 'EAUTH', stack: /login refused/ },
    },
    "an error's password; the error still logged as one",
  );
  t.end();
});

t.test('child bindings are redacted as before too', (t) => {
  const before = capture(WILDCARDS, false);
  const after = capture(pinoOptions('info'), true);
  const bindings = { component: 'ami', ami: { host: 'pbx', secret: 'bind-s3cret' }, token: 'top-s3cret' };
  before.logger.child(bindings).info({ n: 1 }, 'bound');
  after.logger.child(bindings).info({ n: 1 }, 'bound');
  // A child's child: its own bindings censored, its parent's kept.
  before.logger
    .child({ component: 'x' })
    .child({ link: { password: 'grand-s3cret' } })
    .info('grandchild');
  after.logger
    .child({ component: 'x' })
    .child({ link: { password: 'grand-s3cret' } })
    .info('grandchild');
  t.notMatch(after.text(), /s3cret/);
  t.same(after.lines(), before.lines());
  t.equal(bindings.ami.secret, 'bind-s3cret', "the caller's bindings are left as they were");
  t.end();
});

t.test('createLogger itself censors a nested secret (the options are the ones it uses)', (t) => {
  const out: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (s: string) => out.push(s) } });
  logger.info({ ami: { secret: 'x-s3cret' }, session: { password: 'y-s3cret' } }, 'connecting');
  t.notMatch(out.join(''), /s3cret/);
  t.match(out.join(''), /"secret":"\[redacted\]"/);
  t.end();
});

t.test('censorNested copies only what it censors', (t) => {
  const censor = censorNested(['secret']);
  const plain = { a: 1, b: { c: 2 } };
  t.equal(censor(plain), plain, 'nothing to censor: the same object, no copy');
  const inner = Object.create(null) as Record<string, unknown>;
  inner.secret = 'z';
  const hidden: Record<string, unknown> = {};
  Object.defineProperty(hidden, 'secret', { value: 'w', enumerable: false });
  const out = censor<{ inner: Record<string, unknown>; hidden: Record<string, unknown> }>({ inner, hidden });
  t.equal(out.inner.secret, REDACT_CENSOR, 'a prototype-less object');
  t.equal(Object.getPrototypeOf(out.inner), null, 'keeps its (lack of) prototype');
  t.equal(out.hidden.secret, REDACT_CENSOR, 'a non-enumerable key is censored too');
  t.same(Object.keys(out.hidden), [], 'and stays non-enumerable (a read-only key: replaced all the same)');
  t.equal(inner.secret, 'z', 'the original is untouched');
  t.end();
});
