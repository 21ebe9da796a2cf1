// The SIP listeners a drachtio contact URI asks for (`sip:127.0.0.1:5060;transport=udp,tcp`), and
// which of them are the console phone's WebSocket. Pure: the configuration schema checks contacts
// with it, the local engine binds by it.
import { parseSipUri, uriTransports } from './sipUri.js';

export interface Listener {
  proto: 'udp' | 'tcp';
  /** `*` for every address. */
  address: string;
  port: number;
  /** As the contact names it: udp, tcp, tls, ws or wss. */
  transport: string;
}

/** The sockets a contact makes drachtio-server bind, or an error message for a contact it cannot read. */
export function contactListeners(contact: string): Listener[] | string {
  const uri = parseSipUri(contact);
  if (!uri || uri.user !== undefined) return 'not a SIP contact (sip:ADDRESS:PORT;transport=udp,tcp)';
  const secure = uri.scheme === 'sips';
  const transports = uriTransports(uri);
  for (const t of transports) if (!['udp', 'tcp', 'tls', 'ws', 'wss'].includes(t)) return `unknown transport ${t}`;
  // drachtio-server v0.9.10 answers `sip:…;transport=tls` with "nta: bind(…): Protocol not supported" and exits.
  if (!secure && transports.includes('tls')) return 'transport=tls needs a sips: contact (sips:ADDRESS:PORT;transport=tls)';
  const port = uri.port ?? (secure || transports.includes('tls') ? 5061 : 5060);
  if (!(port > 0 && port < 65536)) return `port ${uri.port} out of range`;
  return transports.map((transport) => ({ proto: transport === 'udp' ? 'udp' : 'tcp', address: uri.host, port, transport }));
}

/** A request or a registration that came over a WebSocket: a browser. */
export const isWebrtcTransport = (transport: string | undefined): boolean => /^wss?$/i.test(transport ?? '');

/** An error message when `contact` is not a ws or wss contact (SPEC §2 `sip.webrtc.contact`), else undefined. */
export function webrtcContactProblem(contact: string): string | undefined {
  const listeners = contactListeners(contact);
  if (typeof listeners === 'string') return listeners;
  if (listeners.length !== 1 || !isWebrtcTransport(listeners[0]?.transport)) return 'needs exactly one transport, ws or wss (sips:ADDRESS:PORT;transport=wss)';
  return undefined;
}
