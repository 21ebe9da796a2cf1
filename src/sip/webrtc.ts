// The console's phone (SPEC §2 `sip.webrtc`, §4a Phone): the WebSocket listener the local engine
// opens for it, how a browser's transport is recognised, and where the page connects. Pure.
import { contactListeners } from '../domain/sipContact.js';

export interface WebrtcConfig {
  /** drachtio contact of the WebSocket listener, e.g. `sips:0.0.0.0:8443;transport=wss`. */
  contact: string;
  /** What the browser connects to when it is not `<scheme>://<the console's host>:<port>` (a proxy in front). */
  url?: string;
}

/**
 * The transport a request came over, lower case. drachtio-server v0.9.10 reports a WebSocket as
 * `tcp` (req.protocol); the sender's own Via says `SIP/2.0/WS` or `WSS`, which is what tells a browser.
 */
export function requestTransport(protocol: string | undefined, topVia: string | undefined): string {
  const via = /^\s*SIP\s*\/\s*2\.0\s*\/\s*(wss?)\b/i.exec(topVia ?? '')?.[1];
  return (via ?? String(protocol ?? '')).toLowerCase();
}

/** The engine's contacts plus the phone's WebSocket contact (once). */
export function engineContacts(contacts: readonly string[], webrtc: WebrtcConfig | undefined): string[] {
  if (!webrtc || contacts.includes(webrtc.contact)) return [...contacts];
  return [...contacts, webrtc.contact];
}

export interface PhoneEndpoint {
  scheme: 'ws' | 'wss';
  port: number;
}

export function phoneEndpoint(webrtc: WebrtcConfig): PhoneEndpoint {
  const listeners = contactListeners(webrtc.contact);
  if (typeof listeners === 'string' || !listeners[0]) throw new Error(`sip.webrtc.contact: ${String(listeners)}`);
  return { scheme: listeners[0].transport === 'wss' ? 'wss' : 'ws', port: listeners[0].port };
}

/**
 * The WebSocket URL a console page served under `host` (the Host header, with or without its port)
 * connects its phone to: `sip.webrtc.url`, else the same host name on the listener's port.
 */
export function phoneUrl(webrtc: WebrtcConfig, host: string | undefined): string | undefined {
  if (webrtc.url) return webrtc.url;
  const name = hostName(host);
  if (!name) return undefined;
  const { scheme, port } = phoneEndpoint(webrtc);
  return `${scheme}://${name}:${port}`;
}

/** `example.com:8080` → `example.com`, `[::1]:8080` → `[::1]`; undefined for anything that is not a plain host. */
export function hostName(host: string | undefined): string | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(host?.trim() ?? '');
  return m?.[1];
}

/** The `connect-src` source for the page's CSP: the phone's own WebSocket origin only. */
export function phoneConnectSource(webrtc: WebrtcConfig, host: string | undefined): string | undefined {
  const url = phoneUrl(webrtc, host);
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return undefined;
  }
}
