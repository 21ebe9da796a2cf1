// What the SIP handlers share: built once in app.ts.
import type { Config } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import type { Refusal } from '../domain/reasons.js';
import { refusalHeaders } from '../domain/reasons.js';
import type { Logger } from '../log.js';
import type { Direction, Metrics } from '../metrics.js';
import type { CallState } from '../state/calls.js';
import type { DeviceRegistry } from '../state/devices.js';
import type { MediaRelays } from '../media/anchor.js';
import type { PermissionLookup } from '../permissionLookup.js';
import { CallSession } from './callSession.js';
import type { LeaseKeeper } from './leases.js';
import type { Cancellation, OutboundAdmissions } from './admission.js';
import type { SipRequest, SipResponse, Srf } from './srf.js';
import type { TenantGate } from '../tenants/gate.js';
import { fleetOf } from '../tenants/fleet.js';

export interface SipDeps {
  srf: Srf;
  config: () => Readonly<Config>;
  calls: CallState;
  /** Outbound admission that waits out a Redis failover (src/sip/admission.ts). */
  admissions: OutboundAdmissions;
  devices: DeviceRegistry;
  leases: LeaseKeeper;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  sessions: Set<CallSession>;
  draining: () => boolean;
  /** With media.anchor: the rtpengines every bridged call's media goes through. */
  media?: MediaRelays;
  /** Asks Meta after a local no_permission (whatsapp.cloudApi.permissionLookup; off unless configured). */
  permissionLookup?: PermissionLookup;
  /** Tenants' own limits (src/tenants/gate.ts); none: no tenant limits. */
  tenantGate?: TenantGate;
}

/**
 * The fields every log line about one request carries. A request that is refused logs one line
 * with them; an admitted call keeps them in its CallLogger (src/log.ts). No pino child per INVITE:
 * creating one costs more than the refusal itself.
 */
export type RequestLogFields = Record<string, unknown>;

/**
 * Answers with the refusal's code, its Reason (and Retry-After), and counts it against `tenant`:
 * the tenant whose trunk or softphone called, or whose number was called; undefined when none can
 * be named yet (an unknown source, a failed digest, an unknown number): the platform's.
 */
export function reject(deps: SipDeps, res: SipResponse, r: Refusal, direction: Direction | 'none', tenant: string | undefined, fields: RequestLogFields): void {
  deps.metrics.of(tenant).rejectionsTotal.inc({ direction, reason: r.reason });
  deps.logger.info({ ...fields, reason: r.reason, code: r.code, retryAfter: r.retryAfter }, 'refused');
  if (!res.finalResponseSent) res.send(r.code, { headers: refusalHeaders(r) });
}

export function openSession(deps: SipDeps, direction: Direction, business: string, user: string, callId: string, req: SipRequest, startedAt: number): CallSession {
  const s = new CallSession(direction, business, user, callId, req.get('Call-ID'), startedAt, {
    calls: deps.calls,
    leases: deps.leases,
    metrics: deps.metrics,
    logger: deps.logger,
    clock: deps.clock,
    tenant: fleetOf(deps.config()).ofNumber(business),
    onClosed: (closed) => deps.sessions.delete(closed),
  });
  deps.sessions.add(s);
  return s;
}

/** drachtio-srf flags `req.canceled` only inside createUAS; this sets it from the start. */
export function trackCancel(req: SipRequest): void {
  req.on('cancel', () => {
    req.canceled = true;
  });
}

/** The caller's CANCEL of this request, as an admission watches it (trackCancel sets `req.canceled`). */
export function cancellationOf(req: SipRequest): Cancellation {
  return {
    get canceled() {
      return req.canceled === true;
    },
    onCancel(listener) {
      req.on('cancel', listener);
      return () => void req.off('cancel', listener);
    },
  };
}
