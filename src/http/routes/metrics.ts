// GET /metrics (SPEC §5): prom-client text. The per-number gauges and the softphones' registered
// contacts come from shared state, so every instance reports the same values; they are read from
// Redis at scrape time (a REGISTER handled by another instance shows here too).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../server.js';

async function refreshNumberGauges(deps: HttpDeps): Promise<void> {
  const { activeCalls, connectedCalls24h, accountRestricted } = deps.metrics;
  try {
    const rows = await Promise.all(
      deps.config().numbers.map(async ({ number }) => {
        const [active, connected, held] = await Promise.all([deps.calls.activeCalls(number), deps.calls.connected24h(number), deps.permissions.restrictions.read(number)]);
        return { number, active, connected, restricted: held.restriction !== undefined };
      }),
    );
    for (const { number, active, connected, restricted } of rows) {
      activeCalls.set({ number }, active);
      connectedCalls24h.set({ number }, connected);
      accountRestricted.set({ number }, restricted ? 1 : 0);
    }
  } catch (err) {
    // Stale numbers would look current: drop the series until Redis answers again.
    activeCalls.reset();
    connectedCalls24h.reset();
    accountRestricted.reset();
    deps.metrics.redisErrorsTotal.inc();
    deps.logger.warn({ err }, 'metrics: could not read per-number gauges from Redis');
  }
}

async function refreshDeviceGauges(deps: HttpDeps): Promise<void> {
  if (!deps.devices) return;
  const { registeredContacts } = deps.metrics;
  try {
    const devices = await deps.devices();
    registeredContacts.reset();
    for (const d of devices) registeredContacts.set({ device: d.username }, d.contacts.length);
  } catch (err) {
    registeredContacts.reset();
    deps.metrics.redisErrorsTotal.inc();
    deps.logger.warn({ err }, 'metrics: could not read registered contacts from Redis');
  }
}

export function metricsRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/metrics', { schema: { summary: 'Prometheus text exposition (SPEC §5)', security: [] } }, async (_req, reply) => {
      deps.metrics.drachtioConnected.set(deps.drachtioConnected() ? 1 : 0);
      await Promise.all([refreshNumberGauges(deps), refreshDeviceGauges(deps)]);
      const { registry } = deps.metrics;
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  };
}
