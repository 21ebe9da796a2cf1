// User-initiated calls: Telnyx → (lease + callback permission + the tenant's place) → the number's PBX targets in order.
// Redis being away does not stop a customer's call: it is routed and counted once Redis is back.
// Nor does the form of the caller's identity (SPEC §3): a number the metadata does not know, a
// BSUID, `anonymous` or no number at all reaches the PBX as Telnyx sent it; only a keyable
// identity earns the callback permission.
import { randomUUID } from 'node:crypto';
import { callerIdentity, type CallerIdentity } from '../domain/identity.js';
import { parseBusinessNumber, rawUserPart, userPart } from '../domain/numbers.js';
import { refusal } from '../domain/reasons.js';
import { headerMatcher, pickHeaders } from './headers.js';
import { headerUri } from '../domain/sipUri.js';
import { openSession, reject, type SipDeps } from './context.js';
import type { CallSession } from './callSession.js';
import { forkToBindings } from './fork.js';
import { ringWithTimeout } from './ringingLeg.js';
import { anchorInbound, type AnchoredSdp } from './anchoring.js';
import type { Dialog, SipRequest, SipResponse } from './srf.js';
import { numberEntry } from '../config/derived.js';
import { fleetOf } from '../tenants/fleet.js';
import { chooseInboundTargets, inboundTargetText } from '../domain/inboundTargets.js';
import { readMetaCallHeaders, type MetaCallInfo } from '../domain/metaCallHeaders.js';
import { admitInboundCall } from './inboundAdmission.js';

/**
 * Business number from the Request-URI, falling back to To (SPEC §1). A call through the Telnyx
 * registration arrives at the registered contact, whose user is the registration's username, not
 * a number: then To alone names the business number.
 */
function businessNumberOf(deps: SipDeps, req: SipRequest): string | undefined {
  const cfg = deps.config();
  const numbers = cfg.numbers;
  const ruriUser = userPart(req.uri);
  const viaRegistration = cfg.telnyx.register !== undefined && ruriUser === cfg.telnyx.auth?.username;
  const to = userPart(headerUri(req.get('To')));
  for (const candidate of viaRegistration ? [to] : [ruriUser, to]) {
    const n = parseBusinessNumber(candidate.replace(/^00/, ''))?.e164;
    if (n && numberEntry(numbers, n)) return n;
  }
  return undefined;
}

export async function handleInbound(deps: SipDeps, req: SipRequest, res: SipResponse): Promise<void> {
  const startedAt = deps.clock();
  const cfg = deps.config();
  const log = { callId: req.get('Call-ID'), direction: 'inbound' };
  const business = businessNumberOf(deps, req);
  if (!business) return reject(deps, res, refusal('unknown_number'), 'inbound', undefined, log);
  const tenant = fleetOf(cfg).ofNumber(business);
  const caller = callerIdentity(rawUserPart(headerUri(req.get('From'))));
  // Only a From user that tries to smuggle in headers (CR/LF, quotes, brackets) is refused.
  if (!caller) return reject(deps, res, refusal('bad_request'), 'inbound', tenant, log);
  if (deps.draining()) return reject(deps, res, refusal('draining', cfg.sip.drainSeconds), 'inbound', tenant, log);
  if (caller.kind === 'unkeyed' && cfg.whatsapp.callbackPermission) {
    deps.metrics.callbackNotGrantedTotal.inc({ reason: caller.reason });
    deps.logger.info({ ...log, caller: caller.key, reason: caller.reason }, 'inbound caller cannot be keyed: routed, no callback permission');
  }

  const callId = randomUUID();
  let user = caller.key;
  let session: CallSession;
  try {
    // The number's lease and callback permission, and the tenant's place (src/sip/inboundAdmission.ts).
    const admission = await admitInboundCall(deps, { business, user: caller.key, kind: caller.kind, callId }, log);
    user = admission.user; // a BSUID known to be a phone number is that number
    if (!admission.admitted) return reject(deps, res, admission.refusal, 'inbound', tenant, { ...log, number: business });
    session = openSession(deps, 'inbound', business, user, callId, req, startedAt);
    const hold = admission.hold;
    if (hold) session.onClose(() => hold.release(false));
  } catch (err) {
    deps.metrics.redisErrorsTotal.inc();
    session = openSession(deps, 'inbound', business, user, callId, req, startedAt);
    session.log.warn({ err }, 'Redis unavailable: inbound call routed unrecorded, counted once Redis is back');
    deps.metrics.unrecordedCalls.inc();
    // Queued ahead of the call's settles, so they apply in order once Redis answers.
    void session.queue
      .run('admit inbound (late)', () => deps.calls.admitInbound(business, caller.key, callId, caller.kind))
      .finally(() => deps.metrics.unrecordedCalls.dec());
  }
  if (req.canceled) {
    res.send(487);
    return session.close('failed', 487, 'canceled');
  }
  const meta = readMetaCallHeaders(req.headers);
  session.annotate(meta);
  await routeToTargets(deps, req, res, session, business, callingNumberFor(caller, user), meta);
}

/** What the PBX sees as the caller: the E.164 number, else the user part exactly as Telnyx sent it. */
function callingNumberFor(caller: CallerIdentity, admittedAs: string): string {
  return caller.kind === 'unkeyed' ? caller.key : admittedAs;
}

type Attempt = { answered: { uas: Dialog; uac: Dialog } } | { status: number };

/** A `sip:` target: one B2BUA leg, cancelled when it rings past the per-target timeout. */
async function callSipTarget(deps: SipDeps, req: SipRequest, res: SipResponse, target: string, user: string, headers: Record<string, string>, sdp?: AnchoredSdp): Promise<Attempt> {
  const leg = await ringWithTimeout(req, deps.config().sip.inboundTargetTimeoutSeconds * 1000, (onSent) =>
    deps.srf.createB2BUA(
      req,
      res,
      target,
      { callingNumber: user, headers, passFailure: false, passProvisionalResponses: true, ...(sdp ? { localSdpB: sdp.offer, localSdpA: sdp.answer } : {}) },
      { cbRequest: onSent },
    ),
  );
  if ('answered' in leg) return leg;
  return { status: leg.timedOut ? 408 : (leg.error.status ?? 500) };
}

/**
 * A `device:NAME` target: every registered contact at once; none registered counts as a 480. The
 * legs are addressed To the business number (as a carrier's call to a DID is), not to the contact:
 * the softphone, the console's phone included, shows which number the customer called.
 */
async function callDeviceTarget(deps: SipDeps, req: SipRequest, res: SipResponse, name: string, business: string, user: string, headers: Record<string, string>, sdp?: AnchoredSdp): Promise<Attempt> {
  let bindings;
  try {
    bindings = await deps.devices.list(name);
  } catch {
    deps.metrics.redisErrorsTotal.inc();
    return { status: 503 };
  }
  if (bindings.length === 0) return { status: 480 };
  return forkToBindings(deps, req, res, bindings, { callingNumber: user, headers: { ...headers, To: `<sip:${business}@localhost>` }, timeoutMs: deps.config().sip.inboundTargetTimeoutSeconds * 1000, sdp });
}

async function routeToTargets(deps: SipDeps, req: SipRequest, res: SipResponse, session: CallSession, business: string, user: string, meta: MetaCallInfo): Promise<void> {
  const cfg = deps.config();
  const entry = numberEntry(cfg.numbers, business);
  // Meta's call-button or deep-link payload may choose the targets (numbers[].inboundRoutes).
  const { targets, route } = entry ? chooseInboundTargets(entry, meta) : { targets: [], route: undefined };
  if (route !== undefined) {
    session.annotate({ inboundRoute: route });
    session.log.info({ route }, 'inbound targets chosen by the call payload');
  }
  const headers = pickHeaders(req.headers, headerMatcher(cfg.sip.forwardHeadersToPbx));
  const sdp = await anchorInbound(deps, req, session);
  let last = 480;
  for (const [i, target] of targets.entries()) {
    if (req.canceled) break;
    const attempt =
      target.kind === 'device'
        ? await callDeviceTarget(deps, req, res, target.name, business, user, headers, sdp)
        : await callSipTarget(deps, req, res, target.uri, user, headers, sdp);
    if ('answered' in attempt) {
      session.log.info({ target: inboundTargetText(target), attempt: i + 1 }, 'routed');
      session.connected();
      session.bridge(attempt.answered.uas, attempt.answered.uac);
      return;
    }
    last = attempt.status;
    session.log.info({ target: inboundTargetText(target), status: last }, 'inbound target failed');
    // 408, 480 from an empty device, 5xx or no answer moves on; any other final answer is the PBX's decision.
    if (!(last === 408 || last >= 500 || (last === 480 && target.kind === 'device'))) break;
  }
  if (req.canceled) return session.close('unanswered', 487, 'canceled');
  if (!res.finalResponseSent) res.send(last >= 300 ? last : 500);
  session.close('unanswered', last, 'no_target_answered');
}
