// A WhatsApp user's call, admitted (SPEC §2a, §3 inbound): the number's lease and the callback
// permission (admit_inbound.lua), and the place in its tenant's limits (tenant_admit.lua), both
// scripts sent at once so a tenant with limits waits one round trip, not two; a tenant without
// limits sends nothing more.
//
// Why an inbound call counts against its tenant: the tenant's limits are the platform's contract
// with that business (how many calls it may have up at once, how fast it may start them), and a
// call it receives takes the same trunk capacity, media and Telnyx channels as one it places. So
// A's outbound calls see A's inbound ones, and a user's call over A's limit is refused `503
// tenant_limit` with Retry-After, counted as rejections_total{direction="inbound",reason="tenant_limit"}.
// The callback permission is still granted: Meta grants it for any user-initiated call, missed or
// connected (SPEC §7), and admit_inbound.lua grants it before it looks at any limit; a refusal by the
// tenant only gives the number's lease back (release_admission.lua), never the permission.
//
// The order of SPEC §3: the number's answer first (486 concurrency_limit), then the tenant's; whichever
// refuses, the other's place is given back. Redis away: the number's admission throws and the caller
// routes the call anyway (src/sip/inbound.ts); a tenant whose script fails is not asked again and
// the call is routed uncounted for the tenant (fails open, like every inbound call; logged, counted
// as a Redis error).
import type { Refusal } from '../domain/reasons.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CallState } from '../state/calls.js';
import { TenantGate, type TenantHold } from '../tenants/gate.js';

export interface InboundAdmissionDeps {
  calls: CallState;
  tenantGate?: TenantGate;
  metrics: Metrics;
  logger: Logger;
}

export interface InboundCall {
  business: string;
  /** The caller's key (E.164, BSUID, or the unkeyed text) and what it is. */
  user: string;
  kind: 'phone' | 'bsuid' | 'unkeyed';
  callId: string;
}

/** `user`: the key the call was admitted under (a BSUID known to be a phone number is that number). */
export type InboundAdmission = { admitted: true; user: string; hold?: TenantHold } | { admitted: false; user: string; refusal: Refusal };

/**
 * The number's admission and the tenant's, asked together. Throws when the number's admission
 * does (Redis away: the caller routes the call and admits it late); a tenant's place taken
 * meanwhile is then given back.
 */
export async function admitInboundCall(deps: InboundAdmissionDeps, call: InboundCall, log: Record<string, unknown>): Promise<InboundAdmission> {
  const tenant = deps.tenantGate?.ask(call.business, call.callId);
  let number;
  try {
    number = await deps.calls.admitInbound(call.business, call.user, call.callId, call.kind);
  } catch (err) {
    TenantGate.giveBack(tenant);
    throw err;
  }
  if (!number.admitted) {
    TenantGate.giveBack(tenant);
    return { admitted: false, user: number.user, refusal: number.refusal };
  }
  const answer = tenant ? await tenant : { answer: undefined };
  if ('err' in answer) {
    deps.metrics.redisErrorsTotal.inc();
    deps.logger.warn({ ...log, err: answer.err }, "Redis refused the tenant admission: inbound call routed, not counted against the tenant's limits");
    return { admitted: true, user: number.user };
  }
  const hold = answer.answer;
  if (hold && 'reason' in hold) {
    // The user's call is refused; the callback permission admit_inbound.lua granted stays.
    void deps.calls
      .releaseAdmission(call.business, call.callId, false)
      .catch((err: unknown) => deps.logger.warn({ ...log, err }, "inbound lease not given back: it expires by itself"));
    return { admitted: false, user: number.user, refusal: hold };
  }
  return hold ? { admitted: true, user: number.user, hold } : { admitted: true, user: number.user };
}
