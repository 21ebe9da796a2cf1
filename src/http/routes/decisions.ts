// GET /v1/decisions?from=&to=: what an outbound call would get now, with every check, reserving nothing.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isRegionBlocked, normaliseDialled } from '../../domain/numbers.js';
import { isRefusalReason, refusal as refusalOf, type Refusal } from '../../domain/reasons.js';
import type { Decision } from '../../state/calls.js';
import type { MetaAnswer } from '../../permissionLookup.js';
import { withErrors } from '../errors.js';
import { configuredNumber, e164Param, phoneNumberParam } from '../params.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';
import { explainTenantLimit } from '../../tenants/gate.js';

const dialled = phoneNumberParam((s) => normaliseDialled(s), 'not a valid phone number (E.164, with + or 00, or a sip:/tel: URI)', {
  description: 'The WhatsApp user, as a PBX would dial them internationally',
  example: '+447911123456',
});

export const decision = z.object({
  from: z.string(),
  to: z.string(),
  admitted: z.boolean(),
  reason: z.string().nullable().meta({ description: "SPEC §3 reason of the first failing check (after asking Meta when the edge alone would say no_permission and the lookup is on); null when admitted" }),
  code: z.number().int().nullable().meta({ description: 'SIP status the PBX would get; null when admitted' }),
  retryAfter: z.number().int().optional().meta({ description: 'Seconds, for † reasons' }),
  checks: z.array(z.object({ check: z.string(), result: z.enum(['pass', 'fail']) })).meta({ description: 'Every state check in SPEC §3 order, as the edge holds the state' }),
  meta: z
    .object({
      asked: z.boolean().meta({ description: "false without whatsapp.cloudApi.permissionLookup (the number's tenant's own Cloud API when it has one, else the file's) or a phoneNumberId (why says which)" }),
      why: z.string().optional(),
      result: z.enum(['allowed', 'refused', 'error']).optional().meta({ description: "Meta's answer for a call now: allowed (permission held, start_call possible), refused, or error (the edge's answer stands)" }),
      permission: z.object({ status: z.enum(['no_permission', 'temporary', 'permanent']), expiresAt: z.string().optional() }).optional(),
      startCall: z
        .object({
          canPerform: z.boolean(),
          limits: z.array(z.object({ timePeriod: z.string(), maxAllowed: z.number().int(), currentUsage: z.number().int(), freesAt: z.string().optional() })),
        })
        .optional(),
      reason: z.string().optional().meta({ description: "The SPEC §3 reason Meta's answer maps to when refused" }),
      error: z.string().optional(),
      at: z.string().optional().meta({ description: 'When Meta answered (a recent answer is reused for negativeCacheSeconds)' }),
      differs: z.boolean().meta({ description: "true when Meta's view of the permission differs from the edge's" }),
      note: z.string().optional().meta({ description: 'What the difference means, in words' }),
    })
    .meta({ description: "Meta's view (call_permissions) beside the edge's" }),
});

type MetaView = z.output<typeof decision>['meta'];

const iso = (ms: number | undefined) => (ms === undefined ? {} : { expiresAt: new Date(ms).toISOString() });

/** Meta's answer beside the edge's checks, and whether the two differ on the permission. */
function metaView(a: MetaAnswer, d: Decision): MetaView {
  if (!a.asked) return { asked: false, why: a.why, differs: false };
  const at = new Date(a.at).toISOString();
  if (a.result === 'error') return { asked: true, result: 'error', error: a.error, at, differs: false, note: "Meta did not answer usably: the edge's answer stands" };
  const { view, verdict } = a;
  const edgeHolds = d.checks.find((c) => c.check === 'no_permission')?.result === 'pass';
  const out: MetaView = {
    asked: true,
    result: verdict.verdict,
    permission: { status: view.status, ...iso(view.expiresAt) },
    ...(view.startCall
      ? { startCall: { canPerform: view.startCall.canPerform, limits: view.startCall.limits.map(({ freesAt, ...l }) => ({ ...l, ...(freesAt !== undefined ? { freesAt: new Date(freesAt).toISOString() } : {}) })) } }
      : {}),
    ...(verdict.verdict === 'refused' ? { reason: verdict.refusal.reason } : {}),
    at,
    differs: edgeHolds !== (verdict.verdict === 'allowed'),
  };
  if (!out.differs) return out;
  if (!edgeHolds) return { ...out, note: `Meta holds a ${view.status} permission the edge has not seen: a call asks Meta, keeps it and goes ahead` };
  if (verdict.verdict === 'refused' && verdict.refusal.reason === 'daily_limit') return { ...out, note: `${verdict.why}: the edge would admit the call and Meta would refuse it` };
  const why = verdict.verdict === 'refused' ? verdict.why : '';
  return { ...out, note: `The edge holds a permission Meta does not (${why}): a revocation the edge missed? The call would be refused by Meta` };
}

/** What a call gets now when the lookup runs: Meta's refusal, or the first check that fails besides no_permission. */
function withLookup(local: Refusal | undefined, a: MetaAnswer, d: Decision): Refusal | undefined | 'local' {
  if (local?.reason !== 'no_permission' || !a.asked || a.result === 'error') return 'local';
  if (a.verdict.verdict === 'refused') return a.verdict.refusal;
  const next = d.checks.find((c) => c.result === 'fail' && c.check !== 'no_permission');
  if (!next) return undefined;
  return refusalOf(isRefusalReason(next.check) ? next.check : 'no_permission');
}

export function decisionsRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  const state = stateCall(deps.metrics);
  return async (app) => {
    app.get(
      '/decisions',
      {
        schema: {
          summary: 'Explain the admission of an outbound call from a business number to a user, reserving nothing',
          querystring: z.object({ from: e164Param, to: dialled }),
          response: withErrors({ 200: decision }),
        },
      },
      async (req) => {
        const config = deps.config();
        const { number } = configuredNumber(config, req.query.from);
        const regionBlocked = isRegionBlocked(req.query.from, config.whatsapp.blockedRegions);
        const d = await state(() => deps.calls.explainOutbound({ business: number, user: req.query.to.e164, regionBlocked }));
        // The number's tenant's own limits (SPEC §2a), last as in SPEC §3; absent for a tenant without limits.
        const tenant = await state(() => explainTenantLimit(deps.calls.redis, config, number, deps.clock()));
        if (tenant) d.checks.push({ check: 'tenant_limit', result: tenant.result });
        const meta: MetaAnswer = deps.permissionLookup ? await deps.permissionLookup.ask(number, req.query.to.e164, 'any') : { asked: false, why: 'whatsapp.cloudApi.permissionLookup is off' };
        const local = d.result.admitted ? undefined : d.result.refusal;
        const decided = withLookup(local, meta, d);
        const refusal = (decided === 'local' ? local : decided) ?? (tenant?.result === 'fail' ? refusalOf('tenant_limit', tenant.retryAfter) : undefined);
        return {
          from: number,
          to: req.query.to.e164,
          admitted: refusal === undefined,
          reason: refusal?.reason ?? null,
          code: refusal?.code ?? null,
          ...(refusal?.retryAfter !== undefined ? { retryAfter: refusal.retryAfter } : {}),
          checks: d.checks,
          meta: metaView(meta, d),
        };
      },
    );
  };
}
