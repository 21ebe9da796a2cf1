// GET /metrics (SPEC §5): prom-client text, the operator's (every tenant, each series with its
// `tenant` label; no token, as before tenants). GET /v1/tenants/{t}/metrics: one tenant's own
// metrics only (src/tenantMetrics.ts), with a token of that tenant or the operator's.
// The per-number gauges and the softphones' registered contacts come from shared state, so every
// instance reports the same values; they are read from Redis at scrape time (a REGISTER handled by
// another instance shows here too), for the tenants scraped only: a tenant's scrape reads its own
// numbers and softphones, not the platform's.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../server.js';
import { fleetOf, type TenantView } from '../../tenants/fleet.js';
import { tenantName } from '../../tenants/schema.js';
import { HttpError } from '../errors.js';

/**
 * Numbers read at once (three reads each). All 10,000 of 1,000 tenants at once put 30,000 commands
 * on the connection, and those at the back waited past the 1 s command timeout (COMMAND_TIMEOUT_MS):
 * the scrape dropped every gauge and counted Redis errors that were not (bench/tenants/metrics.ts).
 * Not a setting: it only bounds what is in flight, whatever the fleet's size.
 */
const NUMBERS_PER_BATCH = 250;

async function refreshNumberGauges(deps: HttpDeps, tenants: readonly TenantView[]): Promise<void> {
  const { metrics } = deps;
  const numbers = tenants.flatMap((t) => t.numbers.map(({ number }) => ({ tenant: t.name, number })));
  const read = async ({ tenant, number }: { tenant: string; number: string }) => {
    const [active, connected, held] = await Promise.all([deps.calls.activeCalls(number), deps.calls.connected24h(number), deps.permissions.restrictions.read(number)]);
    return { tenant, number, active, connected, restricted: held.restriction !== undefined };
  };
  for (let i = 0; i < numbers.length; i += NUMBERS_PER_BATCH) {
    try {
      for (const { tenant, number, active, connected, restricted } of await Promise.all(numbers.slice(i, i + NUMBERS_PER_BATCH).map(read))) {
        const s = metrics.of(tenant);
        s.activeCalls.set({ number }, active);
        s.connectedCalls24h.set({ number }, connected);
        s.accountRestricted.set({ number }, restricted ? 1 : 0);
      }
    } catch (err) {
      // Stale numbers would look current: drop the series not read until Redis answers again.
      for (const { tenant, number } of numbers.slice(i)) {
        const s = metrics.of(tenant);
        s.activeCalls.remove({ number });
        s.connectedCalls24h.remove({ number });
        s.accountRestricted.remove({ number });
      }
      metrics.redisErrorsTotal.inc();
      deps.logger.warn({ err }, 'metrics: could not read per-number gauges from Redis');
      return;
    }
  }
}

async function refreshDeviceGauges(deps: HttpDeps, tenants: readonly TenantView[]): Promise<void> {
  if (!deps.devices) return;
  const { metrics } = deps;
  const fleet = fleetOf(deps.config());
  const wanted = new Set(tenants.map((t) => t.name));
  try {
    const devices = await deps.devices(tenants.flatMap((t) => t.devices));
    for (const d of devices) {
      const tenant = fleet.ofDevice(d.username);
      if (wanted.has(tenant)) metrics.of(tenant).registeredContacts.set({ device: d.username }, d.contacts.length);
    }
  } catch (err) {
    for (const t of tenants) metrics.of(t.name).registeredContacts.reset();
    metrics.redisErrorsTotal.inc();
    deps.logger.warn({ err }, 'metrics: could not read registered contacts from Redis');
  }
}

/** These tenants' gauges as the shared state has them now; numbers and softphones no longer theirs dropped. */
async function refreshTenants(deps: HttpDeps, tenants: readonly TenantView[]): Promise<void> {
  await Promise.all(tenants.map((t) => deps.metrics.tenants.keepOnly(t.name, new Set(t.numbers.map((n) => n.number)), new Set(t.devices.map((d) => d.username)))));
  await Promise.all([refreshNumberGauges(deps, tenants), refreshDeviceGauges(deps, tenants)]);
}

export function metricsRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/metrics', { schema: { summary: 'Prometheus text exposition (SPEC §5): everything, each tenant\'s series with its `tenant` label', security: [] } }, async (_req, reply) => {
      deps.metrics.drachtioConnected.set(deps.drachtioConnected() ? 1 : 0);
      await refreshTenants(deps, [...fleetOf(deps.config()).tenants.values()]);
      const { registry } = deps.metrics;
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  };
}

/** Under /v1 (bearer token; a tenant's token naming another tenant gets 404 from the scope guard). */
export function tenantMetricsRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/tenants/:tenant/metrics',
      {
        schema: {
          summary:
            "One tenant's metrics, Prometheus text: its calls, refusals, setup times, permission events and requests, Meta's refusals, and the gauges of its own numbers and softphones; nothing of another tenant nor of the platform (process, Redis, drachtio, rtpengine)",
          tags: ['tenants'],
          params: z.object({ tenant: tenantName }),
        },
      },
      async (req, reply) => {
        const view = fleetOf(deps.config()).tenants.get(req.params.tenant);
        if (!view) throw new HttpError('unknown_tenant');
        await refreshTenants(deps, [view]);
        const registry = deps.metrics.of(view.name).registry;
        return reply.type(registry.contentType).send(await registry.metrics());
      },
    );
  };
}
