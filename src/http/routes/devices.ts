// GET /v1/devices: each softphone and its registered contacts, as the SIP registrar reports them.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { withErrors } from '../errors.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';

export function devicesRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  // Registrations live in Redis, shared by every instance.
  const state = stateCall(deps.metrics);
  return async (app) => {
    app.get(
      '/devices',
      {
        schema: {
          summary: 'Each softphone: its registered contacts (address, transport, user agent, expiry)',
          response: withErrors({ 200: z.object({ devices: z.array(z.unknown()) }) }),
        },
      },
      async () => ({ devices: deps.devices ? await state(deps.devices) : [] }),
    );
  };
}
