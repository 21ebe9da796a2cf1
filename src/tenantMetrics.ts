// The metrics of SPEC §5 that belong to a tenant (SPEC §2a, docs/tenants.md "Metrics"): its calls,
// refusals and setup times, its permission events and requests, Meta's refusals it taught, and the
// gauges of its numbers and softphones. Each tenant has its own set of prom-client metrics in its
// own Registry (default label `tenant`), so:
//  * a tenant's view (`GET /v1/tenants/{t}/metrics`) is that registry through prom-client's own
//    formatter: it costs the tenant's series only (1,000 tenants scraping must not each walk every
//    tenant's), and nothing of another tenant is in it to leak;
//  * the operator's `/metrics` shows each of these metrics once, every tenant's series with its
//    `tenant` label, through one family object per metric in the main registry (below).
// Refusals that no tenant can be named for (an unknown source, a failed digest, an unknown called
// number) are the platform's: they are kept in a set of their own whose series carry no `tenant`.
// What stays per process (Node defaults, Redis errors, drachtio, rtpengine, Telnyx registration and
// TLS, webhooks read, digest nonces, bans) is not a tenant's and is in src/metrics.ts only.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REFUSALS } from './domain/reasons.js';
import { UPSTREAM_LESSONS } from './domain/upstreamRefusals.js';
import { DEFAULT_TENANT } from './tenants/schema.js';

/** wa_edge_permission_requests_total: who sent a request, and how it ended (recorded: sent elsewhere, counted). */
export const PERMISSION_REQUEST_CHANNELS = ['cloud_api', 'telnyx', 'elsewhere'] as const;
export const PERMISSION_REQUEST_RESULTS = ['sent', 'recorded', 'limited', 'refused', 'failed'] as const;

const p = 'wa_edge_';

function defineSeries(registry: Registry) {
  const registers = [registry];
  return {
    callsTotal: new Counter({ name: `${p}calls_total`, help: 'Finished calls by direction and outcome', labelNames: ['direction', 'outcome'] as const, registers }),
    rejectionsTotal: new Counter({ name: `${p}rejections_total`, help: 'Refused requests by direction and reason (a refusal made before any tenant could be named carries no tenant label)', labelNames: ['direction', 'reason'] as const, registers }),
    callSetupSeconds: new Histogram({ name: `${p}call_setup_seconds`, help: 'INVITE received to answer', labelNames: ['direction'] as const, buckets: [0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60], registers }),
    permissionEventsTotal: new Counter({ name: `${p}permission_events_total`, help: 'Permission changes by event', labelNames: ['event'] as const, registers }),
    // Meta's refusals relayed by Telnyx, by the refusal they taught (src/domain/upstreamRefusals.ts).
    upstreamRefusalsTotal: new Counter({ name: `${p}upstream_refusals_total`, help: "Meta's refusals relayed by Telnyx that the edge learned from, by the refusal they teach (no_permission, daily_limit, attempt_limit)", labelNames: ['reason'] as const, registers }),
    permissionRequestsTotal: new Counter({ name: `${p}permission_requests_total`, help: 'Permission requests by channel (cloud_api, telnyx, elsewhere) and result (sent, recorded, limited, refused, failed); only sent and recorded spend the allowance', labelNames: ['channel', 'result'] as const, registers }),
    activeCalls: new Gauge({ name: `${p}active_calls`, help: 'Active calls per business number (shared state, all instances)', labelNames: ['number'] as const, registers }),
    connectedCalls24h: new Gauge({ name: `${p}connected_calls_24h`, help: 'Connected business-initiated calls in the rolling 24 h per number', labelNames: ['number'] as const, registers }),
    accountRestricted: new Gauge({ name: `${p}account_restricted`, help: "1 while Meta's restriction of business-initiated calling holds for the number (account_update ACCOUNT_RESTRICTION, Telnyx's whatsapp.account.restricted), 0 otherwise", labelNames: ['number'] as const, registers }),
    telnyxCallingEnabled: new Gauge({ name: `${p}telnyx_calling_enabled`, help: "1 while Telnyx's calling_settings says WhatsApp calling is on for the number (telnyx.api; the last known state)", labelNames: ['number'] as const, registers }),
    metaCallCap: new Gauge({ name: `${p}meta_call_cap_24h`, help: "Meta's connected-calls cap per business+user over 24 h, as the last call_permissions lookup named it", labelNames: ['number'] as const, registers }),
    capAboveMeta: new Gauge({ name: `${p}cap_above_meta`, help: "1 when whatsapp.connectedCallsPer24h.perUser is above (or null, no cap) Meta's cap in force for the number", labelNames: ['number'] as const, registers }),
    registeredContacts: new Gauge({ name: `${p}registered_contacts`, help: 'Registered softphone contacts per device', labelNames: ['device'] as const, registers }),
  };
}

/** One tenant's metrics (or the platform's share of them), in its own registry. */
export type TenantSeries = ReturnType<typeof defineSeries> & { registry: Registry };
type SeriesKey = keyof ReturnType<typeof defineSeries>;

type MetricJson = Awaited<ReturnType<Counter<string>['get']>>;

/** A tenant metric as the operator sees it: every tenant's series, labelled (read-only). */
export interface TenantFamily {
  readonly name: string;
  get(): Promise<MetricJson>;
  reset(): void;
}

/** The gauges labelled by business number (registeredContacts is labelled by softphone). */
export const NUMBER_GAUGES = ['activeCalls', 'connectedCalls24h', 'accountRestricted', 'telnyxCallingEnabled', 'metaCallCap', 'capAboveMeta'] as const satisfies readonly SeriesKey[];

/**
 * Series that start at 0 so a dashboard's rate() sees the first event instead of a series
 * appearing from nowhere (prom-client prints no line for an unseen label set). Tenant `default`
 * (the file's: a single-business deployment) gets every bounded label set, as before tenants; a
 * tenant made through the API gets only what the shipped dashboard and alerts read as rates
 * (calls by outcome, permission events, the daily_limit and tenant_limit refusals): 12 series, not
 * ~80, so 1,000 tenants cost 12,000 idle series, not ~80,000 (the rest appear on first use).
 */
function startAtZero(s: TenantSeries, every: boolean): void {
  for (const direction of ['outbound', 'inbound'] as const) {
    for (const outcome of ['connected', 'unanswered', 'failed']) s.callsTotal.inc({ direction, outcome }, 0);
  }
  for (const event of ['granted', 'revoked', 'nudged', 'expired']) s.permissionEventsTotal.inc({ event }, 0);
  if (!every) {
    for (const reason of ['daily_limit', 'tenant_limit']) s.rejectionsTotal.inc({ direction: 'outbound', reason }, 0);
    return;
  }
  for (const direction of ['outbound', 'inbound'] as const) for (const reason of Object.keys(REFUSALS)) s.rejectionsTotal.inc({ direction, reason }, 0);
  for (const channel of PERMISSION_REQUEST_CHANNELS) for (const result of PERMISSION_REQUEST_RESULTS) s.permissionRequestsTotal.inc({ channel, result }, 0);
  for (const reason of UPSTREAM_LESSONS) s.upstreamRefusalsTotal.inc({ reason }, 0);
}

function newSeries(tenant: string | undefined): TenantSeries {
  const registry = new Registry();
  if (tenant !== undefined) registry.setDefaultLabels({ tenant });
  const s = { ...defineSeries(registry), registry };
  if (tenant !== undefined) startAtZero(s, tenant === DEFAULT_TENANT);
  return s;
}

export class TenantMetrics {
  /** Refusals before any tenant could be named. */
  readonly platform = newSeries(undefined);
  private readonly tenants = new Map<string, TenantSeries>();

  constructor() {
    this.of(DEFAULT_TENANT); // the file's tenant is there from the start, at 0, as before tenants
  }

  /** A tenant's metrics (made on first use); the platform's share for undefined. */
  of(tenant: string | undefined): TenantSeries {
    if (tenant === undefined) return this.platform;
    let s = this.tenants.get(tenant);
    if (!s) this.tenants.set(tenant, (s = newSeries(tenant)));
    return s;
  }

  /** The tenants configured now: a new one starts at 0, a deleted one's series go with it. */
  keep(names: Iterable<string>): void {
    const now = new Set(names);
    for (const name of now) this.of(name);
    for (const name of this.tenants.keys()) if (!now.has(name) && name !== DEFAULT_TENANT) this.tenants.delete(name);
  }

  /**
   * Drops the series of numbers and softphones that are no longer the tenant's (a number given to
   * another tenant must not stay in the first one's view), by prom-client's remove().
   */
  async keepOnly(tenant: string, numbers: ReadonlySet<string>, devices: ReadonlySet<string>): Promise<void> {
    const s = this.of(tenant);
    const drop = async (g: Gauge<'number'> | Gauge<'device'>, label: 'number' | 'device', keep: ReadonlySet<string>) => {
      for (const v of (await g.get()).values) {
        const key = (v.labels as Record<string, string | number | undefined>)[label];
        if (typeof key === 'string' && !keep.has(key)) (g as Gauge<string>).remove({ [label]: key });
      }
    };
    await Promise.all([...NUMBER_GAUGES.map((k) => drop(s[k], 'number', numbers)), drop(s.registeredContacts, 'device', devices)]);
  }

  /**
   * One metric object per tenant metric for the operator's registry: its get() gives every share's
   * series, each tenant's with its `tenant` label. prom-client's registry takes any object with a
   * name and get() (its own AggregatorRegistry.aggregate registers such objects), so the operator's
   * /metrics is still one registry printed by prom-client, each metric once. Read-only: a count
   * goes to a tenant's own metric, through of().
   */
  families(): Record<SeriesKey, TenantFamily> {
    const keys = Object.keys(this.platform).filter((k) => k !== 'registry') as SeriesKey[];
    return Object.fromEntries(
      keys.map((key) => {
        const family: TenantFamily = {
          name: (this.platform[key] as unknown as { name: string }).name,
          get: async () => {
            const shares: [string | undefined, TenantSeries][] = [[undefined, this.platform], ...this.tenants];
            const parts = await Promise.all(shares.map(async ([tenant, s]) => ({ tenant, got: await (s[key] as unknown as TenantFamily).get() })));
            const values = parts.flatMap(({ tenant, got }) => (tenant === undefined ? got.values : got.values.map((v) => ({ ...v, labels: { ...v.labels, tenant } }))));
            return { ...(parts[0] as (typeof parts)[number]).got, values };
          },
          reset: () => {
            for (const s of [this.platform, ...this.tenants.values()]) s[key].reset();
          },
        };
        return [key, family];
      }),
    ) as Record<SeriesKey, TenantFamily>;
  }
}

