// User-initiated calls: Telnyx → (lease + callback permission) → the number's PBX targets in order.
// Redis being away does not stop a customer's call: it is routed and counted once Redis is back.
import { randomUUID } from 'node:crypto';
import { normaliseDialled, parseBusinessNumber, userPart } from '../domain/numbers.js';
import { refusal } from '../domain/reasons.js';
import { headerMatcher, pickHeaders } from './headers.js';
import { openSession, reject, uriOf, type SipDeps } from './context.js';
import type { CallSession } from './callSession.js';
import type { SipError, SipRequest, SipResponse } from './srf.js';

/** Business number from the Request-URI, falling back to To (SPEC §1). */
function businessNumberOf(deps: SipDeps, req: SipRequest): string | undefined {
  const numbers = deps.config().numbers;
  for (const candidate of [userPart(req.uri), userPart(uriOf(req.get('To')))]) {
    const n = parseBusinessNumber(candidate.replace(/^00/, ''))?.e164;
    if (n && numbers.some((c) => c.number === n)) return n;
  }
  return undefined;
}

export async function handleInbound(deps: SipDeps, req: SipRequest, res: SipResponse): Promise<void> {
  const startedAt = deps.clock();
  const cfg = deps.config();
  const log = deps.logger.child({ callId: req.get('Call-ID'), direction: 'inbound' });
  const business = businessNumberOf(deps, req);
  if (!business) return reject(deps, res, refusal('unknown_number'), 'inbound', log);
  const user = normaliseDialled(userPart(uriOf(req.get('From'))))?.e164;
  if (!user) return reject(deps, res, refusal('bad_request'), 'inbound', log);
  if (deps.draining()) return reject(deps, res, refusal('draining', cfg.sip.drainSeconds), 'inbound', log);

  const callId = randomUUID();
  let session: CallSession;
  try {
    const admission = await deps.calls.admitInbound(business, user, callId);
    if (!admission.admitted) return reject(deps, res, admission.refusal, 'inbound', log);
    session = openSession(deps, 'inbound', business, user, callId, req, startedAt);
  } catch (err) {
    deps.metrics.redisErrorsTotal.inc();
    session = openSession(deps, 'inbound', business, user, callId, req, startedAt);
    session.log.warn({ err: (err as Error).message }, 'Redis unavailable: inbound call routed unrecorded, counted once Redis is back');
    deps.metrics.unrecordedCalls.inc();
    // Queued ahead of the call's settles, so they apply in order once Redis answers.
    void session.queue
      .run('admit inbound (late)', () => deps.calls.admitInbound(business, user, callId))
      .finally(() => deps.metrics.unrecordedCalls.dec());
  }
  if (req.canceled) {
    res.send(487);
    return session.close('failed', 487, 'canceled');
  }
  await routeToTargets(deps, req, res, session, business, user);
}

async function routeToTargets(deps: SipDeps, req: SipRequest, res: SipResponse, session: CallSession, business: string, user: string): Promise<void> {
  const cfg = deps.config();
  const targets = cfg.numbers.find((n) => n.number === business)?.inbound.filter((t) => t.startsWith('sip')) ?? [];
  const headers = pickHeaders(req.headers, headerMatcher(cfg.sip.forwardHeadersToPbx));
  let last = { status: 480, reason: 'no_target' };
  for (const [i, target] of targets.entries()) {
    if (req.canceled) break;
    let uacReq: { cancel(opts?: object): void } | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      uacReq?.cancel();
    }, cfg.sip.inboundTargetTimeoutSeconds * 1000);
    try {
      const { uas, uac } = await deps.srf.createB2BUA(req, res, target, {
        callingNumber: user,
        headers,
        passFailure: false,
        passProvisionalResponses: true,
      }, {
        cbRequest: (err, sent) => {
          if (!err) uacReq = sent;
        },
      });
      clearTimeout(timer);
      session.log.info({ target, attempt: i + 1 }, 'routed to PBX');
      session.connected();
      session.bridge(uas, uac);
      return;
    } catch (e) {
      clearTimeout(timer);
      const err = e as SipError;
      last = { status: timedOut ? 408 : (err.status ?? 500), reason: timedOut ? 'target_timeout' : 'pbx_final' };
      session.log.info({ target, status: last.status }, 'inbound target failed');
      // 408, 5xx or no answer moves on; any other final answer is the PBX's decision.
      if (!(timedOut || last.status === 408 || last.status >= 500)) break;
    }
  }
  if (req.canceled) return session.close('unanswered', 487, 'canceled');
  if (!res.finalResponseSent) res.send(last.status >= 300 ? last.status : 500);
  session.close('unanswered', last.status, last.reason);
}
