// bench/tenants/metrics: what per-tenant metrics cost at fleet scale (issue #35, SPEC §5), against a
// local redis-server, through the real HTTP routes (fastify inject).
//   npx tsx bench/tenants/metrics.ts [--tenants 1000] [--numbers 10] [--scrapes 10]
// The bench config of bench/tenants/run.ts (1,000 tenants × 10 numbers, a softphone each) merged
// as every instance merges it. Two states:
//  * idle: what every tenant has before any call (its zeroed series, its numbers' gauges);
//  * busy: every tenant has used every bounded label set (every outcome and refusal both ways,
//    setup times both ways, every permission event, request channel/result and upstream lesson,
//    every per-number gauge and its softphone registered): the worst case.
// For each: series in the operator's /metrics, its bytes and time; one tenant's view and its time;
// the heap the metrics hold. First for one tenant of the same shape (the baseline, same run), then
// for the fleet. Prints figures; asserts nothing. `node --expose-gc --import tsx` for steadier heap.
import { performance } from 'node:perf_hooks';
import { startRedis } from '../../test/helpers/redis.js';
import { testConfig } from '../../test/helpers/config.js';
import { tenantFixture } from '../../test/http/tenantFixture.js';
import { TOKEN } from '../../test/http/fixture.js';
import { mergeTenants, fleetOf } from '../../src/tenants/fleet.js';
import { tenantSchema } from '../../src/tenants/schema.js';
import { REFUSALS } from '../../src/domain/reasons.js';
import { UPSTREAM_LESSONS } from '../../src/domain/upstreamRefusals.js';
import { PERMISSION_REQUEST_CHANNELS, PERMISSION_REQUEST_RESULTS } from '../../src/metrics.js';
import { numArg, pct } from '../sip/lib.js';
import { tenantDoc } from './fleetConfig.js';

const TENANTS = numArg('tenants', 1000);
const NUMBERS = numArg('numbers', 10);
const SCRAPES = numArg('scrapes', 10);
const server = await startRedis();

async function measure(tenantCount: number): Promise<void> {
  // The HTTP API with tenants as the tests build it; its directory stopped, the merged bench config set by hand.
  const merged = mergeTenants(testConfig({ redis: { url: server.url } }), Array.from({ length: tenantCount }, (_, t) => tenantSchema.parse(tenantDoc(t, NUMBERS)))).config;
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const f = await tenantFixture(server.url, {}, 60_000, { devices: async (only) => (only ?? merged.devices).map((d) => ({ username: d.username, numbers: d.numbers, contacts: [] })) });
  f.directory.stop();
  f.config.current = merged;
  const { metrics, app } = f;
  metrics.tenants.keep(fleetOf(merged).tenants.keys());

  const timed = async (url: string, token?: string) => {
    const times: number[] = [];
    let body = '';
    for (let i = 0; i < SCRAPES; i++) {
      const t0 = performance.now();
      const res = await app.inject({ method: 'GET', url, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
      times.push(performance.now() - t0);
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
      body = res.body;
    }
    times.sort((a, b) => a - b);
    return { body, p50: pct(times, 50), max: times.at(-1) as number };
  };
  const series = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  const ofTenants = (text: string) => text.split('\n').filter((l) => l.includes('tenant="')).length;
  const report = async (state: string) => {
    global.gc?.();
    const heap = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    const op = await timed('/metrics');
    const one = await timed(`/v1/tenants/t${Math.floor(tenantCount / 2)}/metrics`, TOKEN);
    // prom-client's formatting alone, without the Redis reads of the scrape.
    const format = async (print: () => Promise<string>) => {
      const times: number[] = [];
      for (let i = 0; i < SCRAPES; i++) {
        const t0 = performance.now();
        await print();
        times.push(performance.now() - t0);
      }
      return pct(times.sort((a, b) => a - b), 50);
    };
    const opFormat = await format(() => metrics.registry.metrics());
    const oneFormat = await format(() => metrics.of(`t${Math.floor(tenantCount / 2)}`).registry.metrics());
    console.log(
      `${state}: operator /metrics ${series(op.body)} series (${ofTenants(op.body)} with a tenant label, ${(op.body.length / 1e6).toFixed(1)} MB), p50 ${op.p50.toFixed(0)} ms, max ${op.max.toFixed(0)} ms, of which formatting p50 ${opFormat.toFixed(0)} ms | ` +
        `one tenant's view ${series(one.body)} series, p50 ${one.p50.toFixed(1)} ms, max ${one.max.toFixed(1)} ms, formatting p50 ${oneFormat.toFixed(2)} ms | heap held by metrics and config ≈ ${heap.toFixed(0)} MB`,
    );
  };

  console.log(`${tenantCount} tenant(s) × ${NUMBERS} numbers, ${SCRAPES} scrapes each (Redis reads of every scraped number included)`);
  await report('idle');
  for (const name of fleetOf(merged).tenants.keys()) {
    const s = metrics.of(name);
    for (const direction of ['outbound', 'inbound'] as const) {
      for (const outcome of ['connected', 'unanswered', 'failed']) s.callsTotal.inc({ direction, outcome });
      for (const reason of Object.keys(REFUSALS)) s.rejectionsTotal.inc({ direction, reason });
      s.callSetupSeconds.observe({ direction }, 2);
    }
    for (const event of ['granted', 'revoked', 'nudged', 'expired']) s.permissionEventsTotal.inc({ event });
    for (const channel of PERMISSION_REQUEST_CHANNELS) for (const result of PERMISSION_REQUEST_RESULTS) s.permissionRequestsTotal.inc({ channel, result });
    for (const reason of UPSTREAM_LESSONS) s.upstreamRefusalsTotal.inc({ reason });
    for (const n of fleetOf(merged).tenants.get(name)?.numbers ?? []) {
      s.telnyxCallingEnabled.set({ number: n.number }, 1);
      s.metaCallCap.set({ number: n.number }, 100);
      s.capAboveMeta.set({ number: n.number }, 0);
    }
  }
  await report('busy (every label set used)');
  await f.close();
}

try {
  await measure(1);
  await measure(TENANTS);
} finally {
  await server.stop();
}
