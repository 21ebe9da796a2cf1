// SIP URIs as the edge reads them: one parser for every `sip:`/`sips:` URI the configuration names
// (outbound proxy, registrar, contacts, engine listeners) and the edge compares (its Telnyx
// registration's bindings). Pure and in domain/, so the configuration schema checks a URI with the
// very function that later reads it; drachtio-srf's parseUri (which src/sip/srf.ts used to wrap)
// could not be reached from the schema without config/ depending on sip/.
// Hand-written: RFC 3261's grammar (§25.1) is far wider than these URIs, and the npm parsers
// (sip.js's, jssip's) come with a whole user agent.

export interface SipUri {
  scheme: 'sip' | 'sips';
  /** The user part as written (still percent-encoded, `user:password` kept whole); none without `@`. */
  user?: string;
  /** A name, an IPv4 address, `[IPv6]` with brackets, or `*` (a drachtio listener on every address). */
  host: string;
  /** As written, unchecked against 65535 (the caller says what a bad port means to it). */
  port?: number;
  /** URI parameters by lower-case name; `''` for one without a value (`;lr`). */
  params: Readonly<Record<string, string>>;
  /** The `?headers` part as written, if any. */
  headers?: string;
}

const SIP_URI = /^(sips?):(?:([^\s@<>]*)@)?(\[[0-9A-Fa-f:.]+\]|\*|[A-Za-z0-9._-]+)(?::(\d{1,5}))?((?:;[^\s;?<>]+)*)(?:\?([^\s<>]*))?$/i;

/** A `sip:` or `sips:` URI (surrounding space ignored), or undefined when it is not one. */
export function parseSipUri(text: string): SipUri | undefined {
  const m = SIP_URI.exec(text.trim());
  if (!m) return undefined;
  const [, scheme, user, host, port, paramText, headers] = m;
  const params: Record<string, string> = {};
  for (const p of (paramText ?? '').split(';').slice(1)) {
    const eq = p.indexOf('=');
    params[(eq < 0 ? p : p.slice(0, eq)).toLowerCase()] = eq < 0 ? '' : p.slice(eq + 1);
  }
  return {
    scheme: (scheme as string).toLowerCase() as 'sip' | 'sips',
    ...(user !== undefined ? { user } : {}),
    host: host as string,
    ...(port !== undefined ? { port: Number(port) } : {}),
    params,
    ...(headers !== undefined ? { headers } : {}),
  };
}

/**
 * The transports a URI names, lower case: its `transport` parameter (drachtio contacts list
 * several, `transport=udp,tcp`), else TLS for `sips:`, else UDP.
 */
export function uriTransports(uri: SipUri): string[] {
  const named = uri.params.transport?.toLowerCase().split(',').filter(Boolean) ?? [];
  return named.length > 0 ? named : [uri.scheme === 'sips' ? 'tls' : 'udp'];
}

/**
 * The URI of a header value such as `"Bob" <sip:+44...@host>;tag=1` (between the angle brackets,
 * else up to the first `;`), as written. Not parsed: Telnyx and PBXs send `tel:` URIs and user
 * parts `parseSipUri` would refuse, and the number rule (src/domain/numbers.ts) must still read them.
 */
export function headerUri(headerValue: string): string {
  const m = /<([^>]*)>/.exec(headerValue);
  return (m ? m[1] : headerValue.split(';')[0]) ?? '';
}
