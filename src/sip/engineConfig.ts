// The drachtio-server configuration file the local engine starts from, and the SIP listeners a
// contact URI asks for. Pure: no process, no file system.

export interface EngineSettings {
  /** Control (admin) port, always on 127.0.0.1. */
  adminPort: number;
  secret: string;
  /** drachtio contact URIs, e.g. `sip:127.0.0.1:5060;transport=udp,tcp`. */
  contacts: readonly string[];
  /** Public address for Via/Contact when behind NAT. */
  externalIp?: string;
  logLevel: 'notice' | 'error' | 'warning' | 'info' | 'debug';
  sofiaLogLevel: number;
  /** For `sips:`/tls contacts (src/sip/engineTls.ts). drachtio opens no TLS transport without a chain file. */
  tls?: { keyFile: string; certFile: string; chainFile: string };
}

export interface Listener {
  proto: 'udp' | 'tcp';
  /** `*` for every address. */
  address: string;
  port: number;
  /** As the contact names it: udp, tcp, tls, ws or wss. */
  transport: string;
}

const CONTACT = /^(sips?):(\*|\[[^\]]+\]|[^:;]+)(?::(\d+))?((?:;[^;]*)*)$/i;

/** The sockets a contact makes drachtio-server bind, or an error message for a contact it cannot read. */
export function contactListeners(contact: string): Listener[] | string {
  const m = CONTACT.exec(contact.trim());
  if (!m) return 'not a SIP contact (sip:ADDRESS:PORT;transport=udp,tcp)';
  const [, scheme, address, portText, params] = m as unknown as [string, string, string, string | undefined, string];
  const secure = scheme!.toLowerCase() === 'sips';
  const transportParam = /;transport=([a-z,]+)/i.exec(params)?.[1]?.toLowerCase();
  const transports = (transportParam ?? (secure ? 'tls' : 'udp')).split(',').filter(Boolean);
  for (const t of transports) if (!['udp', 'tcp', 'tls', 'ws', 'wss'].includes(t)) return `unknown transport ${t}`;
  // drachtio-server v0.9.10 answers `sip:…;transport=tls` with "nta: bind(…): Protocol not supported" and exits.
  if (!secure && transports.includes('tls')) return 'transport=tls needs a sips: contact (sips:ADDRESS:PORT;transport=tls)';
  const port = portText ? Number(portText) : secure || transports.includes('tls') ? 5061 : 5060;
  if (!(port > 0 && port < 65536)) return `port ${portText} out of range`;
  return transports.map((transport) => ({ proto: transport === 'udp' ? 'udp' : 'tcp', address, port, transport }));
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** drachtio.conf.xml for the local engine: control port on 127.0.0.1, the contacts, console logging. */
export function engineConfigXml(s: EngineSettings): string {
  const external = s.externalIp ? ` external-ip="${escapeXml(s.externalIp)}"` : '';
  const contacts = s.contacts.map((c) => `      <contact${external}>${escapeXml(c)}</contact>`).join('\n');
  // Telnyx accepts TLS 1.2 and later only.
  const tls = s.tls
    ? [
        '    <tls>',
        `      <key-file>${escapeXml(s.tls.keyFile)}</key-file>`,
        `      <cert-file>${escapeXml(s.tls.certFile)}</cert-file>`,
        `      <chain-file>${escapeXml(s.tls.chainFile)}</chain-file>`,
        '      <min-tls-version>1.2</min-tls-version>',
        '    </tls>',
      ]
    : [];
  return [
    '<drachtio>',
    `  <admin port="${s.adminPort}" secret="${escapeXml(s.secret)}">127.0.0.1</admin>`,
    '  <sip>',
    '    <contacts>',
    contacts,
    '    </contacts>',
    ...tls,
    '  </sip>',
    '  <cdrs>false</cdrs>',
    '  <logging>',
    '    <console/>',
    `    <loglevel>${s.logLevel}</loglevel>`,
    `    <sofia-loglevel>${s.sofiaLogLevel}</sofia-loglevel>`,
    '  </logging>',
    '</drachtio>',
    '',
  ].join('\n');
}
