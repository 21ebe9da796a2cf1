// The operator HTTP surface of SPEC §4: wiring, bearer auth, and the one error handler.
// Not listening: main.ts calls listen() with config().http.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config, DeviceConfig } from '../config/schema.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CallState } from '../state/calls.js';
import type { PermissionState } from '../state/permissions.js';
import type { PermissionLookup } from '../permissionLookup.js';
import type { TelnyxCallingSwitch } from '../telnyxCalling.js';
import type { RegistrationState } from '../sip/telnyxRegistration.js';
import type { TelnyxTlsState } from '../sip/telnyxTls.js';
import type { DeviceContacts } from '../state/devices.js';
import { HTTP_ERRORS, HttpError, type HttpErrorCode } from './errors.js';
import { sameSecret } from './secrets.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes, tenantMetricsRoutes } from './routes/metrics.js';
import { numbersRoutes } from './routes/numbers.js';
import { usersRoutes } from './routes/users.js';
import { permissionsRoutes } from './routes/permissions.js';
import { decisionsRoutes } from './routes/decisions.js';
import { callsRoutes } from './routes/calls.js';
import { devicesRoutes } from './routes/devices.js';
import { webhookRoutes } from './routes/webhooks.js';
import { consoleRoutes } from './console.js';
import { phoneConnectSource } from '../sip/webrtc.js';
import { phoneRoutes } from './routes/phone.js';
import { tenantsRoutes } from './routes/tenants.js';
import { scopeGuard } from './scope.js';
import type { TenantDirectory } from '../tenants/directory.js';
import type { TenantStore } from '../tenants/store.js';

export interface HttpDeps {
  config: () => Readonly<Config>;
  calls: CallState;
  permissions: PermissionState;
  /** Meta's view beside the edge's (GET /v1/decisions, /v1/numbers); none without the lookup. */
  permissionLookup?: PermissionLookup;
  metrics: Metrics;
  /** Passed to fastify as its loggerInstance. */
  logger: Logger;
  clock: Clock;
  drachtioConnected: () => boolean;
  /** Telnyx's calling switch (telnyx.api): PUT /v1/numbers/{n}/calling changes it at Telnyx; /readyz names its state. */
  telnyxCalling?: TelnyxCallingSwitch;
  /** State of the Telnyx registration; undefined (and absent from /readyz) without `telnyx.register`. */
  telnyxRegistration?: () => RegistrationState | undefined;
  /** Whether TLS to Telnyx is verified (GET /readyz `telnyxTls`); undefined until known. */
  telnyxTls?: () => TelnyxTlsState | undefined;
  /** With media.anchor: each rtpengine and whether it answers (GET /readyz). */
  rtpengines?: () => { rtpengine: string; state: 'up' | 'down' }[];
  /** Registered softphone contacts (GET /v1/devices), of these softphones or all; none when absent. */
  devices?: (only?: readonly DeviceConfig[]) => Promise<DeviceContacts[]>;
  /** The Cloud API sender's fetch; globalThis.fetch when absent. */
  fetch?: typeof fetch;
  /** The built operator console (GET /console); dist/console when absent. */
  consoleDir?: string;
  /** Tenants through the API and their tokens (SPEC §2a); without them only the operator token signs in. */
  tenants?: { directory: TenantDirectory; store: TenantStore };
}

/** Meta puts the webhook verify token in the query string: it must not reach a log line (SPEC §6). */
function requestSummary(req: FastifyRequest) {
  return {
    method: req.method,
    url: req.url.replace(/(hub\.verify_token=)[^&]*/gi, '$1[redacted]'),
    remoteAddress: req.ip,
  };
}

/** The operator's `http.adminToken`, or a tenant's token (src/tenants/tokens.ts): who the request is. */
function requireToken(deps: HttpDeps) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const m = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
    const secret = m?.[1];
    if (secret !== undefined && sameSecret(secret, deps.config().http.adminToken)) {
      req.principal = { kind: 'operator' };
      return;
    }
    const tenant = secret !== undefined ? deps.tenants?.directory.tokens.principal(secret, deps.clock()) : undefined;
    if (!tenant) {
      reply.header('WWW-Authenticate', 'Bearer');
      throw new HttpError('unauthorized');
    }
    req.principal = tenant;
  };
}

const FASTIFY_4XX: Partial<Record<number, HttpErrorCode>> = { 404: 'not_found', 413: 'payload_too_large', 415: 'unsupported_media_type' };

function validationMessage(err: FastifyError): string {
  const where = err.validationContext ?? 'request';
  return (err.validation ?? [])
    .map((v) => [where, ...v.instancePath.split('/').filter(Boolean)].join('.') + `: ${v.message ?? 'invalid'}`)
    .join('; ');
}

/** Every failure answers `{"error","message"}`; bad input is a 4xx, never a 500. */
function toHttpError(err: FastifyError | HttpError): HttpError {
  if (err instanceof HttpError) return err;
  if (err.validation) return new HttpError('invalid_request', validationMessage(err));
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new HttpError(FASTIFY_4XX[status] ?? 'invalid_request', err.message);
  return new HttpError('internal_error', undefined, {}, { cause: err });
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.logger.child({}, { serializers: { req: requestSummary } });
  // close() ends every connection: a keep-alive client with a request in flight (an open console
  // tab polls every 5 s) would otherwise hold the close for keepAliveTimeout (72 s) after the drain.
  const app = Fastify({ loggerInstance: logger, forceCloseConnections: true });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    const e = toHttpError(err);
    if (e.status >= 500) req.log.error({ err: e.cause ?? e }, e.message);
    return reply.code(e.status).headers(e.headers).send({ error: e.code, message: e.message, ...(e.upstream ? { upstream: e.upstream } : {}) });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `${HTTP_ERRORS.not_found.message}: ${req.method} ${req.url.split('?')[0]}` }),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'wa-sip-edge operator API',
        version: '1.0.0',
        description:
          'SPEC §4. /v1/* needs `Authorization: Bearer <token>`: the operator\'s http.adminToken (everything), or a tenant\'s token (that tenant only; anything else answers 404). The webhook routes are signed instead (Meta, Telnyx).',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  await app.register(healthRoutes(deps));
  await app.register(metricsRoutes(deps));
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', requireToken(deps));
      v1.addHook('preHandler', scopeGuard(deps.config));
      await v1.register(numbersRoutes(deps));
      await v1.register(usersRoutes(deps));
      await v1.register(permissionsRoutes(deps));
      await v1.register(decisionsRoutes(deps));
      await v1.register(callsRoutes(deps));
      await v1.register(devicesRoutes(deps));
      await v1.register(phoneRoutes(deps));
      if (deps.tenants) {
        await v1.register(tenantsRoutes(deps, deps.tenants));
        await v1.register(tenantMetricsRoutes(deps));
      }
    },
    { prefix: '/v1' },
  );
  // Outside the bearer scope: Meta and Telnyx cannot send our token; they sign (POST) or echo a verify token (GET).
  await app.register(webhookRoutes(deps), { prefix: '/v1' });
  // Static files for the browser; the page itself needs no token, every figure on it comes from /v1.
  await app.register(
    consoleRoutes(deps.consoleDir, (host) => {
      const webrtc = deps.config().sip.webrtc;
      return webrtc && phoneConnectSource(webrtc, host);
    }),
  );
  return app;
}
