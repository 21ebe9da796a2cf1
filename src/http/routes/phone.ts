// GET /v1/phone: what the console's phone (SPEC §4a) needs to sign in: whether there is one, the
// WebSocket URL to reach, the digest realm, and the devices it may sign in as. No password leaves the edge.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { withErrors } from '../errors.js';
import type { HttpDeps } from '../server.js';
import { phoneUrl } from '../../sip/webrtc.js';
import { mayUseDevice } from '../scope.js';

const phone = z.object({
  enabled: z.boolean().meta({ description: 'sip.webrtc is set' }),
  url: z.string().optional().meta({ description: 'The WebSocket the phone connects to (ws:// only on loopback tests, wss:// otherwise)' }),
  domain: z.string().optional().meta({ description: 'Host part of the device address (sip:NAME@domain)' }),
  media: z.boolean().meta({ description: 'media.anchor is set: without it every browser call is refused 503 media_unavailable' }),
  devices: z.array(z.object({ username: z.string(), numbers: z.array(z.string()), callerId: z.string() })),
});

export function phoneRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/phone',
      { schema: { summary: "The console phone's WebSocket URL and the devices it may sign in as", response: withErrors({ 200: phone }) } },
      async (req) => {
        const cfg = deps.config();
        const webrtc = cfg.sip.webrtc;
        const url = webrtc && phoneUrl(webrtc, req.headers.host);
        return {
          enabled: !!webrtc,
          ...(url ? { url, domain: new URL(url).hostname.replace(/^\[|\]$/g, '') } : {}),
          media: !!cfg.media.anchor,
          devices: webrtc ? cfg.devices.filter((d) => mayUseDevice(req, cfg, d.username)).map((d) => ({ username: d.username, numbers: d.numbers, callerId: d.callerId ?? (d.numbers[0] as string) })) : [],
        };
      },
    );
  };
}
