// /v1/tenants and, under a tenant, its numbers, trunks, devices, limits and tokens (SPEC §2a, §4).
// Every write validates the whole tenant as the configuration file is validated (same schema
// pieces, same key paths: `trunks[1].sources[0]: not a CIDR`), against every other tenant, and is
// stored only if nothing changed meanwhile (src/tenants/store.ts); this instance applies it before
// answering, every other within its next poll. A refused write changes nothing anywhere.
//
// Who may do what (choices an operator of a shared platform expects): the operator everything; a
// tenant's token its own tenant's trunks, devices, tokens and its numbers' settings, but it cannot
// take a number (that would let it call from any number the platform's Telnyx account has), give
// one up, nor change its limits or domain. Another tenant's anything: 404.
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceSchema, numberSchema, trunkSchema } from '../../config/schema.js';
import { fleetOf } from '../../tenants/fleet.js';
import { DEFAULT_TENANT, tenantCredentialsSchema, tenantLimitsSchema, tenantName, tenantSchema, type StoredTenant, type TenantCredentials } from '../../tenants/schema.js';
import { ENTRY_KEY, fileEntry, isEntry, redacted, storedOrEmpty, tenantExists, validateTenant, type Collection } from '../../tenants/changes.js';
import type { Snapshot, TenantStore, Write } from '../../tenants/store.js';
import type { TenantDirectory } from '../../tenants/directory.js';
import { mintToken } from '../../tenants/tokens.js';
import { HttpError, withErrors } from '../errors.js';
import { principalOf, tenantScope } from '../scope.js';
import type { HttpDeps } from '../server.js';

type Entry = Record<string, unknown>;

const ENTRY_SCHEMA = { numbers: numberSchema, trunks: trunkSchema, devices: deviceSchema } as const;
const SINGULAR = { numbers: 'number', trunks: 'trunk', devices: 'device' } as const;

/**
 * The body is documented by the configuration's own schema but read as it comes: the whole tenant
 * is validated after the change, so a problem is reported with its path in the tenant
 * (`devices[2].numbers[0]: ...`), as the file reports it, not as fastify would (`body.numbers.0`).
 */
// Typed loosely: fastify types a route's compiler by that route's own schema object.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const acceptAsIs: any = (route: Parameters<typeof validatorCompiler>[0]) => (route.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(route));

const tenantParams = z.object({ tenant: tenantName });
const entryParams = (collection: Collection) => z.object({ tenant: tenantName, key: z.string().min(1).meta({ description: `The ${SINGULAR[collection]}'s ${ENTRY_KEY[collection]}` }) });

export const tenantSummary = z.object({
  name: z.string(),
  domain: z.string().optional().meta({ description: "The SIP domain its softphones register to and call from (their digest realm); none: tenant default's" }),
  source: z.enum(['file', 'api']).meta({ description: 'file: tenant default, whose trunks, devices and numbers the configuration file holds' }),
  limits: tenantLimitsSchema,
  numbers: z.array(z.string()),
  trunks: z.array(z.string()),
  devices: z.array(z.string()),
});
export const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
});
const looseEntry = z.record(z.string(), z.unknown());

const SET = z.literal('set').meta({ description: 'Configured; secrets are written, never read back' });
export const credentialsView = z.object({
  whatsapp: z.object({
    webhook: z.object({ appSecret: SET, verifyToken: SET }).nullable(),
    cloudApi: z
      .object({
        baseUrl: z.string(),
        token: SET,
        timeoutMs: z.number(),
        permissionLookup: z
          .union([z.literal(false), z.object({ timeoutMs: z.number(), negativeCacheSeconds: z.number() })])
          .meta({ description: "Meta's call_permissions lookup for the tenant's numbers, with this token (false: off)" }),
      })
      .nullable(),
  }),
  telnyx: z.object({
    webhook: z.object({ publicKey: z.string().meta({ description: 'Not a secret: shown as stored' }) }).nullable(),
    api: z.object({ baseUrl: z.string(), key: SET, timeoutMs: z.number(), callingPollSeconds: z.number() }).nullable(),
  }),
});

/** What a tenant's credentials are, without a secret (null: that block is the file's). */
function credentialsOf(c: Partial<TenantCredentials> | undefined): z.output<typeof credentialsView> {
  const hook = c?.whatsapp?.webhook;
  const cloud = c?.whatsapp?.cloudApi;
  const tHook = c?.telnyx?.webhook;
  const api = c?.telnyx?.api;
  return {
    whatsapp: {
      webhook: hook ? { appSecret: 'set', verifyToken: 'set' } : null,
      cloudApi: cloud ? { baseUrl: cloud.baseUrl, token: 'set', timeoutMs: cloud.timeoutMs, permissionLookup: cloud.permissionLookup } : null,
    },
    telnyx: {
      webhook: tHook ? { publicKey: tHook.publicKey } : null,
      api: api ? { baseUrl: api.baseUrl, key: 'set', timeoutMs: api.timeoutMs, callingPollSeconds: api.callingPollSeconds } : null,
    },
  };
}

export function tenantsRoutes(deps: HttpDeps, tenants: { directory: TenantDirectory; store: TenantStore }): FastifyPluginAsyncZod {
  const { directory, store } = tenants;

  const operatorOnly = (req: FastifyRequest) => {
    if (principalOf(req).kind !== 'operator') throw new HttpError('operator_only');
  };
  const mustExist = (snap: Snapshot, name: string) => {
    if (!tenantExists(snap, name)) throw new HttpError('unknown_tenant');
  };
  /** Stores the change, then applies it here before the answer goes out. */
  const change = async <R>(plan: (snap: Snapshot) => { writes: Write[]; result: R }): Promise<R> => {
    let result: R;
    try {
      result = await store.change(plan);
    } catch (err) {
      if (err instanceof HttpError) throw err; // the change itself was refused: nothing written
      deps.metrics.redisErrorsTotal.inc();
      throw new HttpError('state_unavailable', undefined, {}, { cause: err });
    }
    await directory.refresh();
    return result;
  };
  /** `req`: who asks (a refusal names another tenant only to the operator). */
  const putTenant = (req: FastifyRequest, snap: Snapshot, doc: StoredTenant): Write => {
    validateTenant(doc, snap, directory.fileConfig, { revealOthers: principalOf(req).kind === 'operator' });
    return { hash: 'tenants', field: doc.name, value: doc };
  };

  const summary = (name: string) => {
    const view = fleetOf(deps.config()).tenants.get(name);
    if (!view) throw new HttpError('unknown_tenant');
    return {
      name,
      ...(view.domain ? { domain: view.domain } : {}),
      source: view.source,
      limits: view.limits,
      numbers: view.numbers.map((n) => n.number),
      trunks: view.trunks.map((t) => t.name),
      devices: view.devices.map((d) => d.username.split('@')[0] as string),
    };
  };

  return async (app) => {
    app.get(
      '/tenants',
      { schema: { summary: 'Every tenant (a tenant token: its own)', tags: ['tenants'], response: withErrors({ 200: z.object({ tenants: z.array(tenantSummary) }) }) } },
      async (req) => {
        const only = tenantScope(req);
        const names = [...fleetOf(deps.config()).tenants.keys()].filter((n) => only === undefined || n === only);
        return { tenants: names.map(summary) };
      },
    );

    app.post(
      '/tenants',
      {
        schema: { summary: 'Create a tenant (operator)', tags: ['tenants'], body: tenantSchema, response: withErrors({ 201: tenantSummary }) },
        validatorCompiler: acceptAsIs,
      },
      async (req, reply) => {
        operatorOnly(req);
        const doc = req.body as unknown as StoredTenant;
        const name = tenantName.safeParse((doc as { name?: unknown } | null)?.name);
        if (!name.success) throw new HttpError('invalid_config', `name: ${name.error.issues[0]?.message ?? 'required'}`);
        await change((snap) => {
          if (tenantExists(snap, name.data)) throw new HttpError('already_exists', `tenant ${name.data} already exists`);
          return { writes: [putTenant(req, snap, doc)], result: undefined };
        });
        return reply.code(201).send(summary(name.data));
      },
    );

    app.get(
      '/tenants/:tenant',
      { schema: { summary: 'One tenant', tags: ['tenants'], params: tenantParams, response: withErrors({ 200: tenantSummary }) } },
      async (req) => summary(req.params.tenant),
    );

    app.delete(
      '/tenants/:tenant',
      { schema: { summary: 'Remove a tenant, its configuration and its tokens (operator)', tags: ['tenants'], params: tenantParams, response: withErrors({ 204: z.null() }) } },
      async (req, reply) => {
        operatorOnly(req);
        const name = req.params.tenant;
        if (name === DEFAULT_TENANT) throw new HttpError('managed_by_file', 'tenant default is the configuration file\'s: it cannot be removed');
        await change((snap) => {
          mustExist(snap, name);
          const tokens: Write[] = [...snap.tokens.values()].filter((t) => t.tenant === name).map((t) => ({ hash: 'tokens', field: t.id, value: null }));
          return { writes: [{ hash: 'tenants', field: name, value: null }, ...tokens], result: undefined };
        });
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/tenants/:tenant/domain',
      {
        schema: {
          summary: "Set or clear a tenant's SIP domain (operator)",
          tags: ['tenants'],
          params: tenantParams,
          body: z.object({ domain: z.string().nullable() }),
          response: withErrors({ 200: tenantSummary }),
        },
        validatorCompiler: acceptAsIs,
      },
      async (req) => {
        operatorOnly(req);
        const name = req.params.tenant;
        const domain = (req.body as { domain?: unknown } | null)?.domain;
        await change((snap) => {
          const { domain: _old, ...rest } = storedOrEmpty(snap, name);
          return { writes: [putTenant(req, snap, { ...rest, ...(domain === null || domain === undefined ? {} : { domain: domain as string }) })], result: undefined };
        });
        return summary(name);
      },
    );

    app.get(
      '/tenants/:tenant/limits',
      { schema: { summary: "A tenant's limits", tags: ['tenants'], params: tenantParams, response: withErrors({ 200: tenantLimitsSchema }) } },
      async (req) => summary(req.params.tenant).limits,
    );

    app.put(
      '/tenants/:tenant/limits',
      {
        schema: { summary: "Set a tenant's limits (operator); a limit left out or null is off", tags: ['tenants'], params: tenantParams, body: tenantLimitsSchema, response: withErrors({ 200: tenantLimitsSchema }) },
        validatorCompiler: acceptAsIs,
      },
      async (req) => {
        operatorOnly(req);
        const name = req.params.tenant;
        await change((snap) => ({ writes: [putTenant(req, snap, { ...storedOrEmpty(snap, name), limits: req.body as never })], result: undefined }));
        return summary(name).limits;
      },
    );

    app.get(
      '/tenants/:tenant/credentials',
      {
        schema: {
          summary: "A tenant's own Meta / Telnyx credentials: which are set, never a secret (tenant default: the file's)",
          tags: ['tenants'],
          params: tenantParams,
          response: withErrors({ 200: credentialsView }),
        },
      },
      async (req) => {
        const name = req.params.tenant;
        const view = fleetOf(deps.config()).tenants.get(name);
        if (!view) throw new HttpError('unknown_tenant');
        const file = deps.config();
        if (view.source === 'file') return credentialsOf({ whatsapp: { webhook: file.whatsapp.webhook, cloudApi: file.whatsapp.cloudApi }, telnyx: { webhook: file.telnyx.webhook, api: file.telnyx.api } });
        return credentialsOf(view.credentials);
      },
    );

    app.put(
      '/tenants/:tenant/credentials',
      {
        schema: {
          summary: "Set a tenant's own Meta / Telnyx credentials (operator): the whole block replaced; a block left out is the file's",
          description:
            "Webhooks naming the tenant's numbers (or WABA) verify against the file's secret or these (a delivery signed with them that names another tenant's number is refused 401); " +
            "its numbers' permission requests and Telnyx calling switch use these API credentials, else the file's. Stored in Redis with the tenant and applied by every instance within a second.",
          tags: ['tenants'],
          params: tenantParams,
          body: tenantCredentialsSchema,
          response: withErrors({ 200: credentialsView }),
        },
        validatorCompiler: acceptAsIs,
      },
      async (req) => {
        operatorOnly(req);
        const name = req.params.tenant;
        if (name === DEFAULT_TENANT) throw new HttpError('managed_by_file', "tenant default's credentials are the configuration file's (whatsapp.webhook, whatsapp.cloudApi, telnyx.webhook, telnyx.api)");
        await change((snap) => ({ writes: [putTenant(req, snap, { ...storedOrEmpty(snap, name), credentials: req.body as never })], result: undefined }));
        return credentialsOf(fleetOf(deps.config()).tenants.get(name)?.credentials);
      },
    );

    app.delete(
      '/tenants/:tenant/credentials',
      { schema: { summary: "Remove a tenant's own credentials (operator): the file's apply again", tags: ['tenants'], params: tenantParams, response: withErrors({ 204: z.null() }) } },
      async (req, reply) => {
        operatorOnly(req);
        const name = req.params.tenant;
        if (name === DEFAULT_TENANT) throw new HttpError('managed_by_file', "tenant default's credentials are the configuration file's");
        await change((snap) => {
          const { credentials: _old, ...rest } = storedOrEmpty(snap, name);
          return { writes: [putTenant(req, snap, rest)], result: undefined };
        });
        return reply.code(204).send(null);
      },
    );

    registerTokens(app as never, deps, change, mustExist);
    for (const collection of ['numbers', 'trunks', 'devices'] as const) registerCollection(app as never, deps, collection, change, putTenant, operatorOnly);
  };
}

type Change = <R>(plan: (snap: Snapshot) => { writes: Write[]; result: R }) => Promise<R>;

/** numbers, trunks, devices of a tenant: list, create, read, replace, remove. */
function registerCollection(
  app: FastifyInstance,
  deps: HttpDeps,
  collection: Collection,
  change: Change,
  putTenant: (req: FastifyRequest, snap: Snapshot, doc: StoredTenant) => Write,
  operatorOnly: (req: FastifyRequest) => void,
): void {
  // A trunk's sources are checked against every other tenant's trunks (src/tenants/changes.ts).
  const refusals = collection === 'trunks' ? { description: "409 trunk_overlap when a source range overlaps another tenant's trunk (the file's included): a call from there could not be told apart. Nothing is written." } : {};
  const path = `/tenants/:tenant/${collection}`;
  const schema = ENTRY_SCHEMA[collection];
  const keyField = ENTRY_KEY[collection];
  const tags = ['tenants'];
  // Tenant default's entries come from the file: read here, changed there.
  const entries = (tenant: string): Entry[] => {
    const view = fleetOf(deps.config()).tenants.get(tenant);
    if (!view) throw new HttpError('unknown_tenant');
    if (view.source === 'file') return (view[collection] as Parameters<typeof fileEntry>[0][]).map(fileEntry);
    return [];
  };
  const stored = (snap: Snapshot, tenant: string): { doc: StoredTenant; list: Entry[] } => {
    if (tenant === DEFAULT_TENANT) throw new HttpError('managed_by_file');
    const doc = storedOrEmpty(snap, tenant);
    return { doc, list: [...((doc[collection] as Entry[] | undefined) ?? [])] };
  };
  const read = async (tenant: string, snapOf: () => Promise<Snapshot>): Promise<Entry[]> => {
    if (tenant === DEFAULT_TENANT) return entries(tenant);
    const snap = await snapOf();
    return stored(snap, tenant).list;
  };
  const list = z.object({ [collection]: z.array(looseEntry) });
  const snapOf = () => deps.tenants!.store.snapshot();
  // Numbers are handed out by the operator: a tenant may change its numbers' settings only.
  const takesOperator = collection === 'numbers';

  app.get(path, { schema: { summary: `A tenant's ${collection} (secrets left out)`, tags, params: tenantParams, response: withErrors({ 200: list }) } }, async (req: FastifyRequest<{ Params: { tenant: string } }>) => ({
    [collection]: (await read(req.params.tenant, snapOf)).map((e) => redacted(collection, e)),
  }));

  app.post(
    path,
    { schema: { summary: `Add a ${SINGULAR[collection]} to a tenant${takesOperator ? ' (operator)' : ''}`, ...refusals, tags, params: tenantParams, body: schema, response: withErrors({ 201: looseEntry }) }, validatorCompiler: acceptAsIs },
    async (req: FastifyRequest<{ Params: { tenant: string }; Body: unknown }>, reply) => {
      if (takesOperator) operatorOnly(req);
      const entry = req.body as Entry;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new HttpError('invalid_config', `(top level): a ${SINGULAR[collection]} object is expected`);
      await change((snap) => {
        const { doc, list: current } = stored(snap, req.params.tenant);
        if (typeof entry[keyField] === 'string' && current.some((e) => isEntry(collection, e, entry[keyField] as string))) {
          throw new HttpError('already_exists', `${keyField}: ${String(entry[keyField])} already exists in tenant ${req.params.tenant}`);
        }
        return { writes: [putTenant(req, snap, { ...doc, [collection]: [...current, entry] })], result: undefined };
      });
      return reply.code(201).send(redacted(collection, entry));
    },
  );

  const one = `${path}/:key`;
  const params = entryParams(collection);
  app.get(one, { schema: { summary: `One ${SINGULAR[collection]} of a tenant`, tags, params, response: withErrors({ 200: looseEntry }) } }, async (req: FastifyRequest<{ Params: { tenant: string; key: string } }>) => {
    const found = (await read(req.params.tenant, snapOf)).find((e) => isEntry(collection, e, req.params.key));
    if (!found) throw new HttpError('unknown_entry', `no ${SINGULAR[collection]} ${req.params.key} in tenant ${req.params.tenant}`);
    return redacted(collection, found);
  });

  app.put(
    one,
    { schema: { summary: `Replace a ${SINGULAR[collection]} of a tenant (its ${keyField} stays the URL's)`, ...refusals, tags, params, body: schema, response: withErrors({ 200: looseEntry }) }, validatorCompiler: acceptAsIs },
    async (req: FastifyRequest<{ Params: { tenant: string; key: string }; Body: unknown }>) => {
      const body = req.body as Entry;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError('invalid_config', `(top level): a ${SINGULAR[collection]} object is expected`);
      const entry = { ...body, [keyField]: body[keyField] ?? req.params.key };
      if (!isEntry(collection, entry, req.params.key)) throw new HttpError('invalid_config', `${keyField}: must be the URL's (${req.params.key}); remove and add to rename`);
      await change((snap) => {
        const { doc, list: current } = stored(snap, req.params.tenant);
        const at = current.findIndex((e) => isEntry(collection, e, req.params.key));
        if (at < 0) throw new HttpError('unknown_entry', `no ${SINGULAR[collection]} ${req.params.key} in tenant ${req.params.tenant}`);
        current[at] = entry;
        return { writes: [putTenant(req, snap, { ...doc, [collection]: current })], result: undefined };
      });
      return redacted(collection, entry);
    },
  );

  app.delete(one, { schema: { summary: `Remove a ${SINGULAR[collection]} from a tenant${takesOperator ? ' (operator)' : ''}`, tags, params, response: withErrors({ 204: z.null() }) } }, async (req: FastifyRequest<{ Params: { tenant: string; key: string } }>, reply) => {
    if (takesOperator) operatorOnly(req);
    await change((snap) => {
      const { doc, list: current } = stored(snap, req.params.tenant);
      const left = current.filter((e) => !isEntry(collection, e, req.params.key));
      if (left.length === current.length) throw new HttpError('unknown_entry', `no ${SINGULAR[collection]} ${req.params.key} in tenant ${req.params.tenant}`);
      return { writes: [putTenant(req, snap, { ...doc, [collection]: left })], result: undefined };
    });
    return reply.code(204).send(null);
  });
}

/** A tenant's API tokens: listed without their secret, the secret shown once on creation, revocable. */
function registerTokens(app: FastifyInstance, deps: HttpDeps, change: Change, mustExist: (snap: Snapshot, name: string) => void): void {
  const tags = ['tenants'];
  const view = (t: { id: string; name: string; createdAt: number; expiresAt: number | null }) => ({
    id: t.id,
    name: t.name,
    createdAt: new Date(t.createdAt).toISOString(),
    expiresAt: t.expiresAt === null ? null : new Date(t.expiresAt).toISOString(),
  });
  app.get(
    '/tenants/:tenant/tokens',
    { schema: { summary: "A tenant's tokens, without their secrets", tags, params: tenantParams, response: withErrors({ 200: z.object({ tokens: z.array(tokenView) }) }) } },
    async (req: FastifyRequest<{ Params: { tenant: string } }>) => {
      const snap = await deps.tenants!.store.snapshot();
      mustExist(snap, req.params.tenant);
      return { tokens: [...snap.tokens.values()].filter((t) => t.tenant === req.params.tenant).sort((a, b) => a.createdAt - b.createdAt).map(view) };
    },
  );
  app.post(
    '/tenants/:tenant/tokens',
    {
      schema: {
        summary: 'Make a token for a tenant: its secret is in this answer only',
        tags,
        params: tenantParams,
        body: z.object({
          name: z.string().trim().min(1).max(100).meta({ description: 'What it is for' }),
          expiresAt: z.iso.datetime({ offset: true }).optional().meta({ description: 'ISO 8601; none: does not expire' }),
        }).strict(),
        response: withErrors({ 201: tokenView.extend({ token: z.string().meta({ description: 'The bearer secret: shown once, stored only as its SHA-256' }) }) }),
      },
    },
    async (req: FastifyRequest<{ Params: { tenant: string }; Body: { name: string; expiresAt?: string } }>, reply) => {
      const now = deps.clock();
      const expiresAt = req.body.expiresAt === undefined ? null : Date.parse(req.body.expiresAt);
      if (expiresAt !== null && expiresAt <= now) throw new HttpError('invalid_request', 'body.expiresAt: must be in the future');
      const { secret, record } = mintToken(req.params.tenant, req.body.name, now, expiresAt);
      await change((snap) => {
        mustExist(snap, req.params.tenant);
        return { writes: [{ hash: 'tokens', field: record.id, value: record }], result: undefined };
      });
      return reply.code(201).send({ ...view(record), token: secret });
    },
  );
  app.delete(
    '/tenants/:tenant/tokens/:id',
    { schema: { summary: 'Revoke a token (every instance refuses it within a second)', tags, params: z.object({ tenant: tenantName, id: z.string() }), response: withErrors({ 204: z.null() }) } },
    async (req: FastifyRequest<{ Params: { tenant: string; id: string } }>, reply) => {
      await change((snap) => {
        const t = snap.tokens.get(req.params.id);
        if (!t || t.tenant !== req.params.tenant) throw new HttpError('unknown_entry', `no token ${req.params.id} in tenant ${req.params.tenant}`);
        return { writes: [{ hash: 'tokens', field: t.id, value: null }], result: undefined };
      });
      return reply.code(204).send(null);
    },
  );
}
