// REGISTER from softphones (SPEC §1, §2 devices): digest-authenticated bindings in Redis, expiry
// chosen by src/domain/registration.ts (clamped to sip.registration, its default when the REGISTER
// states none), reached later at the address the REGISTER came from.
import type { DeviceConfig } from '../config/schema.js';
import { refusal, refusalHeaders } from '../domain/reasons.js';
import { planRegistration, type RegisterAsk } from '../domain/registration.js';
import type { DeviceRegistry, RegisteredBinding } from '../state/devices.js';
import type { SipDeps } from './context.js';
import type { SipRequest, SipResponse } from './srf.js';
import { requestTransport } from './webrtc.js';

function contactList(bindings: RegisteredBinding[], now: number): string {
  return bindings.map((b) => `<${b.uri}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`).join(', ');
}

/**
 * The REGISTER's Contacts and Expires as written. Read here rather than by
 * drachtio-mw-registration-parser, which answers 400 to a REGISTER that states no expiry (RFC 3261
 * §10.2.1.1 lets the registrar choose), reads only the first Contact's `expires`, and 400s a query
 * (no Contact); what is left is a header split drachtio-srf's parser already does.
 */
function registerAsk(req: SipRequest): RegisterAsk | undefined {
  const expiresHeader = req.has('Expires') ? req.get('Expires') : undefined;
  if (!req.has('Contact')) return { contacts: [], expiresHeader };
  try {
    const parsed = req.getParsedHeader('Contact') as { uri?: string; params?: Record<string, string | undefined> }[] | string;
    if (parsed === '*') return { contacts: [{ uri: '*' }], expiresHeader };
    if (!Array.isArray(parsed) || parsed.some((c) => !c.uri)) return undefined;
    return { contacts: parsed.map((c) => ({ uri: c.uri!, ...(c.params && 'expires' in c.params ? { expires: c.params.expires ?? '' } : {}) })), expiresHeader };
  } catch {
    return undefined; // drachtio-srf's parser throws on a Contact it cannot read
  }
}

export async function handleRegister(deps: SipDeps, registry: DeviceRegistry, req: SipRequest, res: SipResponse, device: DeviceConfig): Promise<void> {
  const log = deps.logger.child({ device: device.username, source: `${req.source_address}:${req.source_port}` });
  const ask = registerAsk(req);
  const plan = ask ? planRegistration(ask, deps.config().sip.registration) : ({ kind: 'invalid', why: 'Contact cannot be read' } as const);
  if (plan.kind === 'invalid') return void res.send(400, plan.why);
  if (plan.kind === 'too_brief') {
    const r = refusal('interval_too_brief');
    return void res.send(r.code, { headers: { ...refusalHeaders(r), 'Min-Expires': String(plan.minExpires) } });
  }
  const now = deps.clock();
  let bindings: RegisteredBinding[];
  try {
    if (plan.kind === 'query') bindings = await registry.list(device.username);
    else if (plan.kind === 'clear') bindings = await registry.clear(device.username);
    else {
      const source = { address: req.source_address, port: Number(req.source_port), transport: requestTransport(req.protocol, req.get('Via')) };
      const userAgent = req.has('User-Agent') ? req.get('User-Agent').slice(0, 200) : undefined;
      // One script: a Contact with expiry 0 is removed, the others set (src/state/lua/register_contacts.lua).
      bindings = await registry.set(
        device.username,
        plan.contacts.map((c) => ({ binding: { uri: c.uri, source, userAgent, callId: req.get('Call-ID') }, expiresSeconds: c.expiresSeconds })),
      );
    }
  } catch (err) {
    deps.metrics.redisErrorsTotal.inc();
    log.warn({ err }, 'registration not stored: Redis unavailable');
    const r = refusal('state_unavailable', 5);
    return void res.send(r.code, { headers: refusalHeaders(r) });
  }
  if (req.canceled) return;
  deps.metrics.ofDevice(deps.config(), device.username).registeredContacts.set({ device: device.username }, bindings.length);
  const op = plan.kind === 'update' ? (plan.contacts.every((c) => c.expiresSeconds === 0) ? 'unregister' : 'register') : plan.kind;
  log.info({ contacts: bindings.length, op }, 'registration');
  res.send(200, { headers: bindings.length > 0 ? { Contact: contactList(bindings, now), Date: new Date(now).toUTCString() } : {} });
}
