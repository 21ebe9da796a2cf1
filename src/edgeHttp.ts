// The operator HTTP API of a running edge: what it reads of the edge, wired in one place for
// main.ts and the tests that serve an edge's API.
import type { FastifyInstance } from 'fastify';
import type { Edge } from './app.js';
import { buildHttpServer, type HttpDeps } from './http/server.js';
import { listDevices } from './state/devices.js';

export function edgeHttpServer(edge: Edge, extra: Partial<HttpDeps> = {}): Promise<FastifyInstance> {
  return buildHttpServer({
    config: () => edge.config.current,
    calls: edge.calls,
    permissions: edge.permissions,
    permissionLookup: edge.permissionLookup,
    telnyxCalling: edge.telnyxCalling,
    metrics: edge.metrics,
    logger: edge.logger,
    clock: edge.clock,
    drachtioConnected: () => edge.drachtio.connected,
    telnyxRegistration: () => edge.registration.state,
    telnyxTls: () => edge.telnyxTls.state,
    ...(edge.media ? { rtpengines: () => edge.media!.state() } : {}),
    devices: (only) => listDevices(only ?? edge.config.current.devices, edge.devices),
    tenants: { directory: edge.tenants, store: edge.tenantStore },
    ...extra,
  });
}
