// Prometheus metrics of SPEC §5 (prefix wa_edge_). Label values come from config and fixed
// enumerations only, never from request input, so cardinality stays bounded.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { UNKEYED_REASONS } from './domain/identity.js';
import { UNREADABLE_ACCOUNT_UPDATE } from './domain/accountUpdates.js';
import { TenantMetrics } from './tenantMetrics.js';
import type { Config } from './config/schema.js';
import { fleetOf } from './tenants/fleet.js';

/** Why a webhook's permission reply could not be applied (the `reason` of wa_edge_webhook_replies_unusable_total). */
export const UNUSABLE_REPLY_REASONS = ['unknown_business_number', 'no_user_identity', 'malformed_reply', 'already_expired'] as const;

export { PERMISSION_REQUEST_CHANNELS, PERMISSION_REQUEST_RESULTS, type TenantSeries } from './tenantMetrics.js';

/** The `event` of wa_edge_telnyx_webhooks_total: the messaging event types Telnyx documents, a permission reply, or other. */
export const TELNYX_EVENTS = ['message.received', 'message.sent', 'message.finalized', 'permission_reply', 'whatsapp.account.restricted', 'whatsapp.account.violation', 'other'] as const;

/** What became of an account update (Meta's account_update, Telnyx's whatsapp.account.*), per number notice or per unreadable event. */
export const ACCOUNT_UPDATE_RESULTS = ['restricted', 'warned', ...UNREADABLE_ACCOUNT_UPDATE] as const;

export type Direction = 'outbound' | 'inbound';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const p = 'wa_edge_';
  const metrics = {
    registry,
    policyDecisionSeconds: new Histogram({ name: `${p}policy_decision_seconds`, help: 'Time to decide an outbound admission (policy + state)', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] }),
    admissionWaitsTotal: new Counter({ name: `${p}admission_waits_total`, help: 'Outbound admissions that waited for an unreachable Redis, by how the wait ended (admitted, refused, canceled)', labelNames: ['result'] as const, registers: [registry] }),
    redisErrorsTotal: new Counter({ name: `${p}redis_errors_total`, help: 'Redis command or connection errors', registers: [registry] }),
    drachtioConnected: new Gauge({ name: `${p}drachtio_connected`, help: '1 while connected to drachtio-server', registers: [registry] }),
    digestNoncesTotal: new Counter({ name: `${p}digest_nonces_total`, help: 'Digest answers with the right password, by what the nonce was: ok, stale (expired), unknown (not signed with this instance\'s key), replay, unchecked (accepted while Redis did not answer the replay check)', labelNames: ['result'] as const, registers: [registry] }),
    bannedSourcesTotal: new Counter({ name: `${p}banned_sources_total`, help: 'Sources temporarily banned for flooding or failed authentication', labelNames: ['cause'] as const, registers: [registry] }),
    // Only exported with telnyx.register (registered by TelnyxRegistration), so an edge without a
    // registration never shows a 0 that the alert would take for a lost one.
    telnyxRegistered: new Gauge({ name: `${p}telnyx_registered`, help: '1 while this instance holds a registration with Telnyx (telnyx.register)', registers: [] }),
    callbackNotGrantedTotal: new Counter({ name: `${p}callback_not_granted_total`, help: 'Inbound calls routed without a callback permission because the caller identity cannot be keyed (anonymous, not_a_number, no_user)', labelNames: ['reason'] as const, registers: [registry] }),
    webhookRepliesUnusableTotal: new Counter({ name: `${p}webhook_replies_unusable_total`, help: 'call_permission_reply webhooks that could not be applied, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    unrecordedCalls: new Gauge({ name: `${p}unrecorded_calls`, help: 'Inbound calls routed while Redis was unreachable, not yet counted', registers: [registry] }),
    // With media.anchor (SPEC §5): direction is the way the media went (pbx_to_telnyx, telnyx_to_pbx).
    mediaPacketsLostTotal: new Counter({ name: `${p}media_packets_lost_total`, help: 'RTP packets lost as rtpengine reports them, by media direction', labelNames: ['direction'] as const, registers: [registry] }),
    mediaTimeoutsTotal: new Counter({ name: `${p}media_timeouts_total`, help: 'Calls ended because a side sent no RTP for noMediaSeconds', registers: [registry] }),
    mediaUnanchoredTotal: new Counter({ name: `${p}media_unanchored_calls_total`, help: 'Inbound calls routed without rtpengine because none answered', registers: [registry] }),
    // Meta's call_permissions (whatsapp.cloudApi.permissionLookup): allowed / refused / error.
    permissionLookupsTotal: new Counter({ name: `${p}permission_lookups_total`, help: "Lookups of Meta's call_permissions after a local no_permission, by Meta's answer (allowed, refused, error)", labelNames: ['result'] as const, registers: [registry] }),
    accountUpdatesTotal: new Counter({ name: `${p}account_updates_total`, help: "Meta's account updates (account_update, Telnyx's whatsapp.account.*) by result: restricted or warned (per number), or why one applied to no number (unknown_business_number, unknown_account, malformed)", labelNames: ['result'] as const, registers: [registry] }),
    telnyxApiErrorsTotal: new Counter({ name: `${p}telnyx_api_errors_total`, help: "Failed calls to Telnyx's REST API by operation (conversation_window, send, calling_settings)", labelNames: ['operation'] as const, registers: [registry] }),
    telnyxWebhooksTotal: new Counter({ name: `${p}telnyx_webhooks_total`, help: 'Verified Telnyx webhooks by event type (a permission reply is permission_reply; an event type Telnyx has not documented is other)', labelNames: ['event'] as const, registers: [registry] }),
    // Only exported while something goes to Telnyx over TLS (src/sip/telnyxTls.ts).
    telnyxTlsVerified: new Gauge({ name: `${p}telnyx_tls_verified`, help: '1 while outgoing TLS to Telnyx (calls, registration) is verified by the engine (chain and name), 0 when it is not', registers: [] }),
    rtpengineUp: new Gauge({ name: `${p}rtpengine_up`, help: '1 while this rtpengine answers (media.anchor)', labelNames: ['rtpengine'] as const, registers: [registry] }),
  };
  // Counters with bounded label sets start at 0, so a dashboard's rate() sees the first event
  // instead of a series appearing from nowhere (prom-client prints no line for an unseen label set).
  for (const reason of UNKEYED_REASONS) metrics.callbackNotGrantedTotal.inc({ reason }, 0);
  for (const reason of UNUSABLE_REPLY_REASONS) metrics.webhookRepliesUnusableTotal.inc({ reason }, 0);
  for (const direction of ['pbx_to_telnyx', 'telnyx_to_pbx']) metrics.mediaPacketsLostTotal.inc({ direction }, 0);
  for (const result of ['allowed', 'refused', 'error']) metrics.permissionLookupsTotal.inc({ result }, 0);
  for (const event of TELNYX_EVENTS) metrics.telnyxWebhooksTotal.inc({ event }, 0);
  for (const result of ACCOUNT_UPDATE_RESULTS) metrics.accountUpdatesTotal.inc({ result }, 0);
  for (const result of ['ok', 'stale', 'unknown', 'replay', 'unchecked']) metrics.digestNoncesTotal.inc({ result }, 0);
  metrics.drachtioConnected.set(0);
  metrics.redisErrorsTotal.inc(0);
  // The per-tenant metrics (src/tenantMetrics.ts): each tenant's in its own registry, every tenant's
  // in the operator's through one read-only family per metric (the same names, read by the tests
  // and printed at the same place as before tenants, with a `tenant` label on each series).
  const tenants = new TenantMetrics();
  const families = tenants.families();
  for (const family of Object.values(families)) registry.registerMetric(family as unknown as Metric);
  const telnyxRegisteredName = `${p}telnyx_registered`;
  const telnyxTlsName = `${p}telnyx_tls_verified`;
  return {
    ...metrics,
    ...families,
    tenants,
    /** A tenant's own metrics; the platform's share (no tenant label) for undefined. */
    of: (tenant: string | undefined) => tenants.of(tenant),
    /** The metrics of the tenant a business number belongs to. */
    ofNumber: (config: Readonly<Config>, number: string) => tenants.of(fleetOf(config).ofNumber(number)),
    /** The metrics of the tenant a softphone belongs to (by its merged name, `alice@acme`). */
    ofDevice: (config: Readonly<Config>, device: string) => tenants.of(fleetOf(config).ofDevice(device)),
    /** Exports wa_edge_telnyx_registered while telnyx.register is set, withdraws it otherwise. */
    exportTelnyxRegistered(on: boolean): void {
      const exported = registry.getSingleMetric(telnyxRegisteredName) !== undefined;
      if (on && !exported) registry.registerMetric(metrics.telnyxRegistered);
      if (!on && exported) registry.removeSingleMetric(telnyxRegisteredName);
    },
    /** Exports wa_edge_telnyx_tls_verified while something goes to Telnyx over TLS, withdraws it otherwise. */
    exportTelnyxTls(on: boolean): void {
      const exported = registry.getSingleMetric(telnyxTlsName) !== undefined;
      if (on && !exported) registry.registerMetric(metrics.telnyxTlsVerified);
      if (!on && exported) registry.removeSingleMetric(telnyxTlsName);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
