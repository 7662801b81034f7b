/**
 * /healthz, /readyz and /metrics, mounted by the admin HTTP server (no sign-in: they reveal no
 * list data, and the admin listener is loopback by default).
 *
 * - /healthz: 200 while the process serves HTTP at all (systemd/monitoring liveness).
 * - /readyz: 200 when verdicts can be given, else 503; JSON body lists each check.
 * - /metrics: Prometheus text format.
 */
import type { FastifyInstance } from 'fastify';
import type { DaemonContext } from '../daemon-context.js';

export function registerOpsRoutes(app: FastifyInstance, ctx: DaemonContext): void {
  app.get('/healthz', async (_req, reply) => {
    return reply.code(200).send({ status: 'ok', pid: process.pid, uptimeSeconds: Math.round(ctx.ops.uptimeSeconds()) });
  });
  app.get('/readyz', async (_req, reply) => {
    const r = await ctx.ops.readiness();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.code(200).header('content-type', contentType).send(body);
  });
}
