// Business-initiated calls: PBX (or softphone) → policy → state → B2BUA to Telnyx → outcome.
import { randomUUID } from 'node:crypto';
import { planOutbound, isRefusal, softphoneCallingNumber, type OutboundCaller, type OutboundPlan } from '../domain/policy.js';
import { refusal, refusalHeaders, type Refusal } from '../domain/reasons.js';
import { userPart } from '../domain/numbers.js';
import { EDGE_FAILURE, classifyUnconnected } from '../domain/outcome.js';
import { answererFor, offerToTelnyx, type TelnyxOffer } from './sdp.js';
import { headerMatcher, pickHeaders } from './headers.js';
import { headerUri } from '../domain/sipUri.js';
import { cancellationOf, openSession, reject, type RequestLogFields, type SipDeps } from './context.js';
import { anchorOutbound, type OutboundSdp } from './anchoring.js';
import type { SipError, SipRequest, SipResponse } from './srf.js';
import { requestTransport } from './webrtc.js';
import { isWebrtcTransport } from '../domain/sipContact.js';
import type { CallSession } from './callSession.js';
import { ringWithTimeout } from './ringingLeg.js';
import { TenantGate, type TenantAnswer, type TenantHold } from '../tenants/gate.js';
import { perConfig } from '../config/derived.js';
import { compileUpstreamPatterns, readUpstreamRefusal, type UpstreamRefusal, type UpstreamRefusalPatterns } from '../domain/upstreamRefusals.js';

/** The caller's business number as the request states it: a trunk's From user; a softphone's per SPEC §1. */
function callingNumberOf(req: SipRequest, caller: OutboundCaller): string {
  const fromUser = userPart(headerUri(req.get('From')));
  if (!caller.softphone) return fromUser;
  const identity = (name: string) => (req.has(name) ? userPart(headerUri(req.get(name))) : undefined);
  return softphoneCallingNumber([identity('P-Preferred-Identity'), identity('P-Asserted-Identity'), fromUser], caller);
}

/** What the request asks for, once policy allows it: the plan, the SDP offer, whether a browser asks. */
interface OutboundRequest {
  plan: OutboundPlan;
  offer: TelnyxOffer;
  browser: boolean;
  log: RequestLogFields;
  /** The tenant of the trunk or softphone that called: its metrics count a refusal (src/tenantMetrics.ts). */
  callerTenant: string;
}

export async function handleOutbound(deps: SipDeps, req: SipRequest, res: SipResponse, caller: OutboundCaller, callerTenant: string): Promise<void> {
  const startedAt = deps.clock();
  const request = checkRequest(deps, req, res, caller, callerTenant);
  if (!request) return;
  const callId = randomUUID();
  // The tenant's limits are asked at once, beside the number's checks (one round trip's wait, not
  // two); the number's answer still comes first (SPEC §3 order), and whichever refuses, the other
  // is given back (src/tenants/gate.ts).
  const tenant = deps.tenantGate?.ask(request.plan.business.e164, callId);
  if (!(await admit(deps, req, res, request, callId))) return TenantGate.giveBack(tenant);
  const hold = tenant ? await admitTenant(deps, res, request, callId, await tenant) : undefined;
  if (hold === false) return;
  const session = openSession(deps, 'outbound', request.plan.business.e164, request.plan.user.e164, callId, req, startedAt);
  if (hold) session.onClose(() => hold.release(false));
  if (endIfCanceled(req, res, session)) return;
  const sdp = await anchorOutbound(deps, session, { toTelnyx: request.offer.telnyxSdp, answerToCaller: answererFor(request.offer) }, request.browser);
  if (!sdp) {
    reject(deps, res, refusal('media_unavailable', deps.config().media.anchor?.pingSeconds), 'outbound', callerTenant, request.log);
    return session.close('failed', 503, 'media_unavailable');
  }
  if (endIfCanceled(req, res, session)) return;
  const sentAt = deps.clock();
  const leg = await ringTelnyx(deps, req, res, request.plan, sdp);
  if ('answered' in leg) {
    session.connected();
    session.bridge(leg.answered.uas, leg.answered.uac);
  } else endUnconnected(deps, req, res, session, leg.error, leg.timedOut, sentAt);
}

/** The checks of SPEC §3 that need no state: the number rule, the caller's numbers, codecs, draining, a browser without rtpengine. */
function checkRequest(deps: SipDeps, req: SipRequest, res: SipResponse, caller: OutboundCaller, callerTenant: string): OutboundRequest | undefined {
  const cfg = deps.config();
  const log = { callId: req.get('Call-ID'), direction: 'outbound', caller: caller.name };
  const plan = planOutbound(userPart(req.uri), callingNumberOf(req, caller), caller, {
    blockedRegions: cfg.whatsapp.blockedRegions,
    dialDomain: cfg.telnyx.dialDomain,
  });
  if (isRefusal(plan)) return void reject(deps, res, plan, 'outbound', callerTenant, log);
  const offer = offerToTelnyx(req.body ?? '', cfg.media.codecs);
  if (!offer) return void reject(deps, res, refusal('codec_mismatch'), 'outbound', callerTenant, log);
  if (deps.draining()) return void reject(deps, res, refusal('draining', cfg.sip.drainSeconds), 'outbound', callerTenant, log);
  // The console's phone speaks ICE and DTLS-SRTP only: without rtpengine nothing could reach Telnyx.
  const transport = requestTransport(req.protocol, req.get('Via'));
  const browser = isWebrtcTransport(transport);
  if (browser && !deps.media) {
    deps.logger.warn({ ...log, transport }, 'browser call refused: media.anchor is not configured (a browser needs rtpengine for ICE and DTLS-SRTP)');
    return void reject(deps, res, refusal('media_unavailable', 60), 'outbound', callerTenant, log);
  }
  return { plan, offer, browser, log, callerTenant };
}

/**
 * The state checks and the reservation (waiting out a Redis failover), then Meta's view when the
 * edge knows no permission. False when the call was refused or cancelled (answered here).
 */
async function admit(deps: SipDeps, req: SipRequest, res: SipResponse, { plan, log, callerTenant }: OutboundRequest, callId: string): Promise<boolean> {
  const call = { business: plan.business.e164, user: plan.user.e164, callId, regionBlocked: plan.regionBlocked };
  const refuse = (r: Refusal) => {
    reject(deps, res, r, 'outbound', callerTenant, log);
    return false;
  };
  const timer = deps.metrics.policyDecisionSeconds.startTimer();
  let admission;
  try {
    admission = await deps.admissions.admit(call, cancellationOf(req));
  } catch (err) {
    deps.logger.warn({ ...log, err }, 'Redis refused the admission: outbound fails closed');
    return refuse(refusal('state_unavailable', 5));
  } finally {
    timer();
  }
  if ('canceled' in admission) {
    deps.logger.info(log, 'canceled while the admission waited for Redis: nothing admitted');
    if (!res.finalResponseSent) res.send(487);
    return false;
  }
  if (!admission.admitted && admission.refusal.reason === 'no_permission' && deps.permissionLookup) {
    // Meta may hold a permission the edge has not seen (src/permissionLookup.ts); its errors leave the local answer.
    try {
      admission = (await deps.permissionLookup.admitAfterNoPermission(call, log)) ?? admission;
    } catch (err) {
      deps.metrics.redisErrorsTotal.inc();
      deps.logger.warn({ ...log, err }, 'Redis unavailable after the permission lookup: outbound fails closed');
      return refuse(refusal('state_unavailable', 5));
    }
  }
  return admission.admitted || refuse(admission.refusal);
}

/**
 * The tenant's answer (src/tenants/gate.ts, asked beside the number's), once the number admitted
 * the call: false when the tenant is full or Redis failed (answered here, and the number's
 * admission given back by its id).
 */
async function admitTenant(
  deps: SipDeps,
  res: SipResponse,
  { plan, log, callerTenant }: OutboundRequest,
  callId: string,
  tenant: TenantAnswer,
): Promise<TenantHold | undefined | false> {
  const business = plan.business.e164;
  const giveBack = () => void deps.calls.releaseAdmission(business, callId, true).catch((err: unknown) => deps.logger.warn({ ...log, err }, 'admission not given back: its lease expires by itself'));
  if ('err' in tenant) {
    deps.metrics.redisErrorsTotal.inc();
    deps.logger.warn({ ...log, err: tenant.err }, 'Redis refused the tenant admission: outbound fails closed');
    giveBack();
    reject(deps, res, refusal('state_unavailable', 5), 'outbound', callerTenant, log);
    return false;
  }
  const hold = tenant.answer;
  if (hold && 'reason' in hold) {
    giveBack();
    reject(deps, res, hold, 'outbound', callerTenant, { ...log, number: business });
    return false;
  }
  return hold;
}

/** The PBX cancelled while the edge was busy (admission, rtpengine): 487, and the session closes. */
function endIfCanceled(req: SipRequest, res: SipResponse, session: CallSession): boolean {
  if (!req.canceled) return false;
  res.send(487);
  session.close('failed', 487, 'canceled_during_admission');
  return true;
}

/** The Telnyx leg, with the ring timer: the dial string, From = the business number, the anchored SDP. */
function ringTelnyx(deps: SipDeps, req: SipRequest, res: SipResponse, plan: OutboundPlan, sdp: OutboundSdp) {
  const cfg = deps.config();
  const business = plan.business.e164;
  return ringWithTimeout(req, cfg.whatsapp.ringTimeoutSeconds * 1000, (onSent) =>
    deps.srf.createB2BUA(
      req,
      res,
      plan.dialString,
      {
        proxy: cfg.telnyx.outboundProxy,
        ...(cfg.telnyx.auth ? { auth: cfg.telnyx.auth } : {}),
        callingNumber: business,
        // From = the business number and nothing else: without an explicit From, drachtio-srf
        // copies the caller's display name (a softphone's "Alice"). drachtio-server puts its own
        // address in place of `localhost`.
        headers: { ...pickHeaders(req.headers, headerMatcher(cfg.sip.forwardHeadersToTelnyx)), From: `<sip:${business}@localhost>` },
        localSdpB: sdp.toTelnyx,
        localSdpA: sdp.answerToCaller,
        passFailure: false,
        passProvisionalResponses: true,
      },
      { cbRequest: onSent },
    ),
  );
}

/** The Telnyx leg ended without an answer: what the PBX hears and how the call counts (SPEC §3 outcome). */
function endUnconnected(deps: SipDeps, req: SipRequest, res: SipResponse, session: CallSession, err: SipError, ringTimedOut: boolean, sentAt: number): void {
  if (!err.status) {
    if (!res.finalResponseSent) res.send(500);
    session.log.error({ err }, 'bridge failed');
    return session.close(EDGE_FAILURE.outcome, EDGE_FAILURE.status, EDGE_FAILURE.reason);
  }
  // drachtio-server reports the remote address of a response; its own (Timer B, a refused
  // connection) come with none.
  const fromTelnyx = !!err.res?.source_address;
  const cfg = deps.config();
  const upstream = fromTelnyx && !ringTimedOut && !req.canceled ? metaRefusalOf(err, cfg.whatsapp.upstreamRefusals) : undefined;
  const verdict = classifyUnconnected({ status: err.status, fromTelnyx, ringTimedOut, canceled: !!req.canceled, metaRefused: !!upstream }, cfg.whatsapp.unanswered.codes);
  if (!res.finalResponseSent) {
    if (verdict.reason === 'ring_timeout' || verdict.reason === 'telnyx_unreachable') {
      res.send(verdict.status, { headers: refusalHeaders({ reason: verdict.reason, code: verdict.status }) });
    } else res.send(err.status >= 300 ? err.status : 500, err.reason, { headers: relayedHeaders(err) });
  }
  if (verdict.reason === 'telnyx_unreachable') session.log.warn({ localStatus: err.status }, 'Telnyx did not answer: the call counts as failed, not unanswered');
  // Learned before the settle frees the pair (one queue): the next call meets the lesson.
  if (upstream) learnUpstreamRefusal(deps, session, upstream, sentAt);
  session.close(verdict.outcome, verdict.status, verdict.reason);
}

/** Telnyx's words that travel back to the PBX with its final answer (RFC 3326 Reason, Warning, Retry-After). */
function relayedHeaders(err: SipError): Record<string, string> {
  const res = err.res;
  if (!res) return {};
  const present = Object.fromEntries(RELAYED_FROM_TELNYX.filter((h) => res.has(h)).map((h) => [h, res.get(h)]));
  return pickHeaders(present, () => true);
}
const RELAYED_FROM_TELNYX = ['Reason', 'Warning', 'Retry-After'];

const compiledPatterns = perConfig(compileUpstreamPatterns);

/** Meta's refusal in Telnyx's final answer (reason phrase, Reason, Warning), if it carries one. */
function metaRefusalOf(err: SipError, patterns: UpstreamRefusalPatterns): UpstreamRefusal | undefined {
  const res = err.res;
  const all = (name: string) => (res?.has(name) ? [res.get(name)] : []);
  return readUpstreamRefusal(
    { status: err.status ?? 0, reasonPhrase: err.reason ?? res?.reason, reason: all('Reason'), warning: all('Warning'), retryAfter: res?.has('Retry-After') ? res.get('Retry-After') : undefined },
    compiledPatterns(patterns),
  );
}

/** The next call is refused locally: the lesson is written to the shared state, counted and logged once. */
function learnUpstreamRefusal(deps: SipDeps, session: CallSession, upstream: UpstreamRefusal, sentAt: number): void {
  const rules = deps.config().whatsapp.upstreamRefusals;
  deps.metrics.ofNumber(deps.config(), session.business).upstreamRefusalsTotal.inc({ reason: upstream.lesson });
  session.annotate({ upstreamRefusal: upstream.lesson, upstreamText: upstream.text });
  const hold = upstream.retryAfterSeconds ?? rules.numberRateHoldSeconds;
  void session.queue
    .run('note upstream refusal', () => deps.calls.noteUpstreamRefusal(session.business, session.user, upstream, sentAt, hold))
    .then((note) => note && session.log.info({ lesson: upstream.lesson, text: upstream.text, ...note }, 'Meta refused the call: the edge refuses the next one itself'));
}
