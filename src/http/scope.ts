// What an API request may see (SPEC §2a): the operator everything; a tenant's token only that
// tenant. Anything of another tenant answers 404, exactly as something that does not exist, so a
// token cannot even learn what other tenants have.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import type { PhoneNumber } from '../domain/numbers.js';
import { fleetOf } from '../tenants/fleet.js';
import type { Principal } from '../tenants/tokens.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the bearer check of /v1 (src/http/server.ts). */
    principal?: Principal;
  }
}

const OPERATOR: Principal = { kind: 'operator' };

export function principalOf(req: FastifyRequest): Principal {
  return req.principal ?? OPERATOR;
}

/** The tenant a request is confined to; undefined for the operator. */
export function tenantScope(req: FastifyRequest): string | undefined {
  const p = principalOf(req);
  return p.kind === 'tenant' ? p.tenant : undefined;
}

/** Whether the request may see this business number. */
export function mayUseNumber(req: FastifyRequest, config: Readonly<Config>, e164: string): boolean {
  const tenant = tenantScope(req);
  return tenant === undefined || fleetOf(config).ofNumber(e164) === tenant;
}

/** The numbers a tenant's request may see; undefined: all (the operator). */
export function visibleNumbers(req: FastifyRequest, config: Readonly<Config>): ReadonlySet<string> | undefined {
  const tenant = tenantScope(req);
  if (tenant === undefined) return undefined;
  return new Set(fleetOf(config).tenants.get(tenant)?.numbers.map((n) => n.number) ?? []);
}

/** Whether the request may see this softphone (by its merged name, `alice@acme`). */
export function mayUseDevice(req: FastifyRequest, config: Readonly<Config>, name: string): boolean {
  const tenant = tenantScope(req);
  return tenant === undefined || fleetOf(config).ofDevice(name) === tenant;
}

const isPhoneNumber = (v: unknown): v is PhoneNumber => v !== null && typeof v === 'object' && typeof (v as PhoneNumber).e164 === 'string';

/**
 * After validation, before any handler: a tenant's request naming a number (`{number}`, `?from=`,
 * `?number=`) of another tenant, or another tenant (`{tenant}`), is answered 404 here, so no route
 * can forget it.
 */
export function scopeGuard(config: () => Readonly<Config>) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const tenant = tenantScope(req);
    if (tenant === undefined) return;
    const params = (req.params ?? {}) as Record<string, unknown>;
    const query = (req.query ?? {}) as Record<string, unknown>;
    if (typeof params.tenant === 'string' && params.tenant !== tenant) throw new HttpError('unknown_tenant');
    for (const v of [params.number, query.from, query.number]) {
      if (isPhoneNumber(v) && !mayUseNumber(req, config(), v.e164)) throw new HttpError('unknown_number', `${v.e164} is not a configured business number`);
    }
  };
}
