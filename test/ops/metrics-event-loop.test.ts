import t from 'tap';

t.test("the event-loop lag histogram samples every 100 ms, not prom-client's 10", async (t) => {
  const seen: Array<Record<string, unknown>> = [];
  const real = await import('prom-client');
  const { DaemonMetrics, EVENT_LOOP_SAMPLE_MS } = await t.mockImport<typeof import('../../daemon/ops/metrics.js')>(
    '../../daemon/ops/metrics.js',
    {
      'prom-client': {
        ...real,
        collectDefaultMetrics: (config: Record<string, unknown>) => {
          seen.push(config);
          real.collectDefaultMetrics(config);
        },
      },
    },
  );
  const m = new DaemonMetrics();
  t.equal(EVENT_LOOP_SAMPLE_MS, 100);
  t.equal(seen.length, 1, 'default metrics collected once');
  t.equal(seen[0]?.eventLoopMonitoringPrecision, 100);
  t.match((await m.render()).body, /^callscreen_nodejs_eventloop_lag_p99_seconds /m, 'the lag is still exported');
});

t.test('no default metrics, no event-loop sampling', async (t) => {
  const seen: unknown[] = [];
  const real = await import('prom-client');
  const { DaemonMetrics } = await t.mockImport<typeof import('../../daemon/ops/metrics.js')>(
    '../../daemon/ops/metrics.js',
    { 'prom-client': { ...real, collectDefaultMetrics: (c: unknown) => seen.push(c) } },
  );
  new DaemonMetrics({ defaultMetrics: false });
  t.equal(seen.length, 0);
});
