// GET /v1/devices: each softphone and its registered contacts, as the SIP registrar reports them.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { withErrors } from '../errors.js';
import { stateCall } from '../state.js';
import type { HttpDeps } from '../server.js';
import { mayUseDevice, tenantScope } from '../scope.js';
import { plainUsername } from '../../tenants/fleet.js';

const contact = z.object({
  uri: z.string().meta({ description: 'The Contact URI the softphone registered' }),
  source: z
    .object({ address: z.string(), port: z.number().int(), transport: z.string() })
    .meta({ description: 'Where the REGISTER came from: calls to the softphone go there (NAT)' }),
  userAgent: z.string().optional(),
  expiresAt: z.number().int().meta({ description: 'When the binding lapses unless refreshed (epoch ms)' }),
});

export const device = z.object({
  username: z.string(),
  numbers: z.array(z.string()).meta({ description: 'Business numbers it may call as' }),
  contacts: z.array(contact),
});

export function devicesRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  // Registrations live in Redis, shared by every instance.
  const state = stateCall(deps.metrics);
  return async (app) => {
    app.get(
      '/devices',
      {
        schema: {
          summary: 'Each softphone: its registered contacts (address, transport, user agent, expiry)',
          response: withErrors({ 200: z.object({ devices: z.array(device) }) }),
        },
      },
      async (req) => {
        const all = deps.devices ? await state(deps.devices) : [];
        // A tenant's token: its own softphones, by the names they sign in with.
        const mine = all.filter((d) => mayUseDevice(req, deps.config(), d.username));
        return { devices: tenantScope(req) === undefined ? mine : mine.map((d) => ({ ...d, username: plainUsername(d.username) })) };
      },
    );
  };
}
