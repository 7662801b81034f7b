/**
 * Issue #13/#14: a flood of sign-ins with random names (no account needed) must not starve the
 * rest of the server. Hundreds of sign-ins, dozens at once, from rotating addresses, with the
 * production scrypt cost; meanwhile a signed-in API read over the real socket still answers.
 * Decided by logic: how many hashes ran, how many at once, what the metric counted — not by time.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { HashGate } from '../../daemon/admin/hash-gate.js';
import { DEFAULT_SCRYPT } from '../../daemon/admin/password-hash.js';
import { PASSWORD, startPanel } from '../support/panel.js';

const FLOOD = 400;
const CONCURRENT = 32;

t.test('hash gate: at most N at once, a bounded queue, the rest refused with 429 at once', async (t) => {
  const gate = new HashGate({ maxConcurrent: 2, maxQueued: 3 });
  const releases: Array<() => void> = [];
  const job = () => gate.run(() => new Promise<void>((r) => releases.push(r)));
  const running = Array.from({ length: 5 }, job);
  await new Promise((r) => setImmediate(r));
  t.same(gate.stats(), { active: 2, queued: 3, refused: 0, peak: 2, runs: 2 });
  await t.rejects(
    job(),
    { code: 'CS_ERR_THROTTLED', details: { retryAfterSeconds: 1, reason: 'busy' } },
    'sixth: refused without waiting',
  );
  while (releases.length > 0 || gate.stats().active > 0) {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(running);
  t.match(gate.stats(), { active: 0, queued: 0, refused: 1, peak: 2, runs: 5 });
});

t.test(
  `${FLOOD} sign-ins with random names, ${CONCURRENT} at once: bounded hashing, the API still answers, the metric moves`,
  async (t) => {
    const { server, baseUrl, daemon } = await startPanel(t, { admin: { scrypt: DEFAULT_SCRYPT } });
    // The fixture's users were made with the cheap test cost; sam gets a production-cost password.
    await server.users.setPassword('sam', PASSWORD, { name: 'tester', source: 'cli', origin: 'test' }, { self: false });
    const session = await fetch(`${baseUrl}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sam', password: PASSWORD }),
    });
    t.equal(session.status, 200);
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0]!;

    const app = await server.build();
    const statuses = new Map<number, number>();
    let sent = 0;
    let finished = false;
    const worker = async () => {
      while (sent < FLOOD) {
        const i = sent++;
        const res = await app.inject({
          method: 'POST',
          url: '/api/v1/session',
          remoteAddress: `10.${(i >> 8) & 255}.${i & 255}.7`,
          payload: { name: `u${randomBytes(6).toString('hex')}`, password: randomBytes(9).toString('base64url') },
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
    };
    const flood = Promise.all(Array.from({ length: CONCURRENT }, worker)).then(() => {
      finished = true;
    });

    // A signed-in read over the real socket, sent once the flood is under way.
    while (sent < CONCURRENT * 2) await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    const read = await fetch(`${baseUrl}/api/v1/orgs/acme/blocked?limit=5`, { headers: { cookie } });
    const readMs = performance.now() - t0;
    const floodStillRunning = !finished;
    t.equal(read.status, 200, 'the signed-in read answered');
    t.equal(((await read.json()) as { org: string }).org, 'acme');
    await flood;

    const gate = server.hashGate.stats();
    t.comment(
      `statuses ${JSON.stringify(Object.fromEntries(statuses))}; hashes run ${gate.runs}, peak ${gate.peak}, refused busy ${gate.refused}; read ${readMs.toFixed(0)} ms, flood still running then: ${String(floodStillRunning)}`,
    );
    t.same(
      [...statuses.keys()].sort(),
      [401, 429].filter((s) => statuses.has(s)),
      'only 401 and 429: no server errors',
    );
    t.ok((statuses.get(429) ?? 0) >= FLOOD - 60, 'almost every random name was refused before hashing');
    t.ok(gate.peak <= 2, 'never more than 2 hashes at once');
    // 30 unknown names a minute (the global budget) on a clock that does not move + sam's sign-ins.
    t.ok(gate.runs <= 32, `at most the unknown-name budget was hashed (${gate.runs})`);
    const metrics = (await daemon.context.metrics.render()).body;
    const unknown = Number(/callscreen_signin_total\{outcome="unknown"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    t.ok(unknown >= FLOOD - 60, `callscreen_signin_total{outcome="unknown"} = ${unknown}`);
  },
);
