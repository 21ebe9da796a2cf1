// The drachtio-server configuration file the local engine starts from (the listeners a contact
// asks for: src/domain/sipContact.ts). Pure: no process, no file system.

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
