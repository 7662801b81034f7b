// The daemon does not log every /healthz (or /readyz, /metrics) poll at info: a monitor polling
// every few seconds would bury everything else. Other requests are still logged.
import t from 'tap';
import { AdminServer } from '../../daemon/admin/admin-server.js';
import { captureLogger, services, startDaemon } from '../support/harness.js';

t.test('polled ops routes are not logged at info; other requests are', async (t) => {
  const { dbPath } = await services(t);
  const { logger, lines } = captureLogger('info');
  const { ctx } = await startDaemon(t, dbPath, { logger });
  const admin = new AdminServer(ctx);
  const app = await admin.build();
  t.teardown(() => app.close());
  const requestLines = (url: string): number =>
    lines.filter((l) => {
      const req = l['req'] as { url?: string } | undefined;
      return req?.url === url || (typeof l['msg'] === 'string' && l['msg'].includes(url));
    }).length;
  for (let i = 0; i < 5; i++) {
    t.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    await app.inject({ url: '/readyz' });
    t.equal((await app.inject({ url: '/metrics' })).statusCode, 200);
  }
  t.equal(requestLines('/healthz'), 0, 'no /healthz lines');
  t.equal(requestLines('/readyz'), 0, 'no /readyz lines');
  t.equal(requestLines('/metrics'), 0, 'no /metrics lines');
  const before = lines.length;
  await app.inject({ url: '/api/v1/orgs' });
  t.ok(lines.length > before, 'an API request is still logged');
  t.ok(
    lines.some((l) => l['level'] === 30 && l['msg'] === 'incoming request'),
    'at info',
  );
});
