// An rtpengine's ng control address, as `media.anchor.rtpengine` writes it (no I/O here: the config
// schema uses it).

/** Where one rtpengine listens for ng commands. */
export interface NgAddress {
  host: string;
  port: number;
}

/** `host:port` (IPv4 or a name) as written in `media.anchor.rtpengine`. */
export function parseNgAddress(s: string): NgAddress | undefined {
  const m = /^([^\s:]+):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] as string, port };
}
