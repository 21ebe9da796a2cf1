// Prometheus metrics of SPEC §5 (prefix wa_edge_). Label values come from config and fixed
// enumerations only, never from request input, so cardinality stays bounded.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REFUSALS } from './domain/reasons.js';
import { UNKEYED_REASONS } from './domain/identity.js';
import { UNREADABLE_ACCOUNT_UPDATE } from './domain/accountUpdates.js';
import { UPSTREAM_LESSONS } from './domain/upstreamRefusals.js';

/** Why a webhook's permission reply could not be applied (the `reason` of wa_edge_webhook_replies_unusable_total). */
export const UNUSABLE_REPLY_REASONS = ['unknown_business_number', 'no_user_identity', 'malformed_reply', 'already_expired'] as const;

/** wa_edge_permission_requests_total: who sent a request, and how it ended (recorded: sent elsewhere, counted). */
export const PERMISSION_REQUEST_CHANNELS = ['cloud_api', 'telnyx', 'elsewhere'] as const;
export const PERMISSION_REQUEST_RESULTS = ['sent', 'recorded', 'limited', 'refused', 'failed'] as const;

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
    callsTotal: new Counter({ name: `${p}calls_total`, help: 'Finished calls by direction and outcome', labelNames: ['direction', 'outcome'] as const, registers: [registry] }),
    rejectionsTotal: new Counter({ name: `${p}rejections_total`, help: 'Refused requests by direction and reason', labelNames: ['direction', 'reason'] as const, registers: [registry] }),
    activeCalls: new Gauge({ name: `${p}active_calls`, help: 'Active calls per business number (shared state, all instances)', labelNames: ['number'] as const, registers: [registry] }),
    connectedCalls24h: new Gauge({ name: `${p}connected_calls_24h`, help: 'Connected business-initiated calls in the rolling 24 h per number', labelNames: ['number'] as const, registers: [registry] }),
    permissionEventsTotal: new Counter({ name: `${p}permission_events_total`, help: 'Permission changes by event', labelNames: ['event'] as const, registers: [registry] }),
    policyDecisionSeconds: new Histogram({ name: `${p}policy_decision_seconds`, help: 'Time to decide an outbound admission (policy + state)', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] }),
    callSetupSeconds: new Histogram({ name: `${p}call_setup_seconds`, help: 'INVITE received to answer', labelNames: ['direction'] as const, buckets: [0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60], registers: [registry] }),
    admissionWaitsTotal: new Counter({ name: `${p}admission_waits_total`, help: 'Outbound admissions that waited for an unreachable Redis, by how the wait ended (admitted, refused, canceled)', labelNames: ['result'] as const, registers: [registry] }),
    redisErrorsTotal: new Counter({ name: `${p}redis_errors_total`, help: 'Redis command or connection errors', registers: [registry] }),
    drachtioConnected: new Gauge({ name: `${p}drachtio_connected`, help: '1 while connected to drachtio-server', registers: [registry] }),
    registeredContacts: new Gauge({ name: `${p}registered_contacts`, help: 'Registered softphone contacts per device', labelNames: ['device'] as const, registers: [registry] }),
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
    metaCallCap: new Gauge({ name: `${p}meta_call_cap_24h`, help: "Meta's connected-calls cap per business+user over 24 h, as the last call_permissions lookup named it", labelNames: ['number'] as const, registers: [registry] }),
    accountRestricted: new Gauge({ name: `${p}account_restricted`, help: "1 while Meta's restriction of business-initiated calling holds for the number (account_update ACCOUNT_RESTRICTION, Telnyx's whatsapp.account.restricted), 0 otherwise", labelNames: ['number'] as const, registers: [registry] }),
    accountUpdatesTotal: new Counter({ name: `${p}account_updates_total`, help: "Meta's account updates (account_update, Telnyx's whatsapp.account.*) by result: restricted or warned (per number), or why one applied to no number (unknown_business_number, unknown_account, malformed)", labelNames: ['result'] as const, registers: [registry] }),
    capAboveMeta: new Gauge({ name: `${p}cap_above_meta`, help: "1 when whatsapp.connectedCallsPer24h.perUser is above (or null, no cap) Meta's cap in force for the number", labelNames: ['number'] as const, registers: [registry] }),
    permissionRequestsTotal: new Counter({ name: `${p}permission_requests_total`, help: 'Permission requests by channel (cloud_api, telnyx, elsewhere) and result (sent, recorded, limited, refused, failed); only sent and recorded spend the allowance', labelNames: ['channel', 'result'] as const, registers: [registry] }),
    telnyxCallingEnabled: new Gauge({ name: `${p}telnyx_calling_enabled`, help: "1 while Telnyx's calling_settings says WhatsApp calling is on for the number (telnyx.api; the last known state)", labelNames: ['number'] as const, registers: [registry] }),
    telnyxApiErrorsTotal: new Counter({ name: `${p}telnyx_api_errors_total`, help: "Failed calls to Telnyx's REST API by operation (conversation_window, send, calling_settings)", labelNames: ['operation'] as const, registers: [registry] }),
    telnyxWebhooksTotal: new Counter({ name: `${p}telnyx_webhooks_total`, help: 'Verified Telnyx webhooks by event type (a permission reply is permission_reply; an event type Telnyx has not documented is other)', labelNames: ['event'] as const, registers: [registry] }),
    // Only exported while something goes to Telnyx over TLS (src/sip/telnyxTls.ts).
    telnyxTlsVerified: new Gauge({ name: `${p}telnyx_tls_verified`, help: '1 while outgoing TLS to Telnyx (calls, registration) is verified by the engine (chain and name), 0 when it is not', registers: [] }),
    // Meta's refusals relayed by Telnyx, by the refusal they taught (src/domain/upstreamRefusals.ts).
    upstreamRefusalsTotal: new Counter({ name: `${p}upstream_refusals_total`, help: "Meta's refusals relayed by Telnyx that the edge learned from, by the refusal they teach (no_permission, daily_limit, attempt_limit)", labelNames: ['reason'] as const, registers: [registry] }),
    rtpengineUp: new Gauge({ name: `${p}rtpengine_up`, help: '1 while this rtpengine answers (media.anchor)', labelNames: ['rtpengine'] as const, registers: [registry] }),
  };
  // Counters with bounded label sets start at 0, so a dashboard's rate() sees the first event
  // instead of a series appearing from nowhere (prom-client prints no line for an unseen label set).
  for (const event of ['granted', 'revoked', 'nudged', 'expired']) metrics.permissionEventsTotal.inc({ event }, 0);
  for (const direction of ['outbound', 'inbound'] as const) {
    for (const outcome of ['connected', 'unanswered', 'failed']) metrics.callsTotal.inc({ direction, outcome }, 0);
    for (const reason of Object.keys(REFUSALS)) metrics.rejectionsTotal.inc({ direction, reason }, 0);
  }
  for (const reason of UNKEYED_REASONS) metrics.callbackNotGrantedTotal.inc({ reason }, 0);
  for (const reason of UNUSABLE_REPLY_REASONS) metrics.webhookRepliesUnusableTotal.inc({ reason }, 0);
  for (const direction of ['pbx_to_telnyx', 'telnyx_to_pbx']) metrics.mediaPacketsLostTotal.inc({ direction }, 0);
  for (const result of ['allowed', 'refused', 'error']) metrics.permissionLookupsTotal.inc({ result }, 0);
  for (const event of TELNYX_EVENTS) metrics.telnyxWebhooksTotal.inc({ event }, 0);
  for (const result of ACCOUNT_UPDATE_RESULTS) metrics.accountUpdatesTotal.inc({ result }, 0);
  for (const channel of PERMISSION_REQUEST_CHANNELS) for (const result of PERMISSION_REQUEST_RESULTS) metrics.permissionRequestsTotal.inc({ channel, result }, 0);
  for (const reason of UPSTREAM_LESSONS) metrics.upstreamRefusalsTotal.inc({ reason }, 0);
  for (const result of ['ok', 'stale', 'unknown', 'replay', 'unchecked']) metrics.digestNoncesTotal.inc({ result }, 0);
  metrics.drachtioConnected.set(0);
  metrics.redisErrorsTotal.inc(0);
  const telnyxRegisteredName = `${p}telnyx_registered`;
  const telnyxTlsName = `${p}telnyx_tls_verified`;
  return {
    ...metrics,
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
