// GET /v1/phone: what the console's phone (SPEC §4a) needs to sign in: whether there is one, the
// WebSocket URL to reach, and the devices it may sign in as, each with the domain of its address
// (sip:NAME@domain, which names its tenant and is its digest realm: src/tenants/fleet.ts). A tenant's
// token gets its own tenant's devices only (src/http/scope.ts). No password leaves the edge.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Config } from '../../config/schema.js';
import { withErrors } from '../errors.js';
import type { HttpDeps } from '../server.js';
import { phoneUrl } from '../../sip/webrtc.js';
import { fleetOf, plainUsername } from '../../tenants/fleet.js';
import { DEFAULT_TENANT } from '../../tenants/schema.js';
import { mayUseDevice } from '../scope.js';

const phoneDevice = z.object({
  username: z.string().meta({ description: 'What the phone signs in with (the digest username)' }),
  tenant: z.string().meta({ description: "The device's tenant (SPEC §2a); `default` for the file's devices" }),
  domain: z.string().meta({ description: "Host of the device's address (sip:username@domain): its tenant's SIP domain, which is also the digest realm; for tenant default, the host the phone connects to" }),
  numbers: z.array(z.string()),
  callerId: z.string(),
});

const phone = z.object({
  enabled: z.boolean().meta({ description: 'sip.webrtc is set' }),
  url: z.string().optional().meta({ description: 'The WebSocket the phone connects to (ws:// only on loopback tests, wss:// otherwise)' }),
  media: z.boolean().meta({ description: 'media.anchor is set: without it every browser call is refused 503 media_unavailable' }),
  devices: z.array(phoneDevice).meta({ description: "The devices this token may sign the phone in as; a tenant without a SIP domain has none (its softphones cannot name it)" }),
});

type PhoneDevice = z.infer<typeof phoneDevice>;

/**
 * The devices of the merged configuration a phone can sign in as, each under the address that names
 * its tenant. A tenant's device is `alice@acme` in the merged configuration and signs in as `alice`
 * at its tenant's domain; a tenant with no domain cannot be named by a softphone, so it has none here.
 * Tenant default's devices keep the host the phone connects to (as before tenants).
 */
function phoneDevices(config: Readonly<Config>, defaultDomain: string, visible: (name: string) => boolean): PhoneDevice[] {
  const fleet = fleetOf(config);
  const out: PhoneDevice[] = [];
  for (const d of config.devices) {
    if (!visible(d.username)) continue;
    const tenant = fleet.ofDevice(d.username);
    const domain = tenant === DEFAULT_TENANT ? defaultDomain : fleet.tenants.get(tenant)?.domain;
    if (!domain) continue;
    out.push({ username: plainUsername(d.username), tenant, domain, numbers: d.numbers, callerId: d.callerId ?? (d.numbers[0] as string) });
  }
  return out;
}

export function phoneRoutes(deps: HttpDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/phone',
      { schema: { summary: "The console phone's WebSocket URL and the devices it may sign in as", response: withErrors({ 200: phone }) } },
      async (req) => {
        const cfg = deps.config();
        const webrtc = cfg.sip.webrtc;
        const url = webrtc && phoneUrl(webrtc, req.headers.host);
        // Without a URL (no Host header) the page cannot connect; the devices are still listed.
        const defaultDomain = url ? new URL(url).hostname.replace(/^\[|\]$/g, '') : cfg.sip.realm;
        return {
          enabled: !!webrtc,
          ...(url ? { url } : {}),
          media: !!cfg.media.anchor,
          devices: webrtc ? phoneDevices(cfg, defaultDomain, (name) => mayUseDevice(req, cfg, name)) : [],
        };
      },
    );
  };
}
