// REGISTER from softphones (SPEC §1, §2 devices): digest-authenticated bindings in Redis,
// expiry clamped to sip.registration, reached later at the address the REGISTER came from.
import type { DeviceConfig } from '../config/schema.js';
import { refusal, refusalHeaders } from '../domain/reasons.js';
import type { DeviceRegistry, RegisteredBinding } from '../state/devices.js';
import type { SipDeps } from './context.js';
import type { SipRequest, SipResponse } from './srf.js';
import { requestTransport } from './webrtc.js';

function contactList(bindings: RegisteredBinding[], now: number): string {
  return bindings.map((b) => `<${b.uri}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`).join(', ');
}

export async function handleRegister(deps: SipDeps, registry: DeviceRegistry, req: SipRequest, res: SipResponse, device: DeviceConfig): Promise<void> {
  const { minExpires, maxExpires } = deps.config().sip.registration;
  const reg = req.registration;
  const log = deps.logger.child({ device: device.username, source: `${req.source_address}:${req.source_port}` });
  if (!reg) return void res.send(400);
  const now = deps.clock();
  const wildcard = reg.contact.some((c) => c.uri === '*' || (c as { wildcard?: boolean }).wildcard === true) || req.get('Contact').trim() === '*';
  let bindings: RegisteredBinding[];
  try {
    if (wildcard) {
      if (reg.expires !== 0) return void res.send(400, 'Wildcard needs Expires: 0');
      bindings = await registry.clear(device.username);
    } else if (reg.type === 'unregister') {
      bindings = await registry.remove(device.username, reg.contact.map((c) => c.uri));
    } else {
      if (reg.expires < minExpires) {
        const r = refusal('interval_too_brief');
        return void res.send(r.code, { headers: { ...refusalHeaders(r), 'Min-Expires': String(minExpires) } });
      }
      const expiresSeconds = Math.min(reg.expires, maxExpires);
      bindings = await registry.set(
        device.username,
        reg.contact.map((c) => ({
          binding: {
            uri: c.uri,
            source: { address: req.source_address, port: Number(req.source_port), transport: requestTransport(req.protocol, req.get('Via')) },
            userAgent: req.has('User-Agent') ? req.get('User-Agent').slice(0, 200) : undefined,
            callId: req.get('Call-ID'),
          },
          expiresSeconds,
        })),
      );
    }
  } catch (err) {
    deps.metrics.redisErrorsTotal.inc();
    log.warn({ err }, 'registration not stored: Redis unavailable');
    const r = refusal('state_unavailable', 5);
    return void res.send(r.code, { headers: refusalHeaders(r) });
  }
  if (req.canceled) return;
  deps.metrics.registeredContacts.set({ device: device.username }, bindings.length);
  log.info({ contacts: bindings.length, op: wildcard ? 'clear' : reg.type }, 'registration');
  res.send(200, { headers: bindings.length > 0 ? { Contact: contactList(bindings, now), Date: new Date(now).toUTCString() } : {} });
}
