// The local engine's generated drachtio-server config and the sockets a contact asks for.
import { describe, expect, it } from 'vitest';
import { engineConfigXml } from '../../src/sip/engineConfig.js';
import { contactListeners } from '../../src/domain/sipContact.js';
import { engineLogLevel } from '../../src/sip/engineOutput.js';

describe('contactListeners', () => {
  it.each([
    ['sip:127.0.0.1:5060;transport=udp,tcp', [{ proto: 'udp', address: '127.0.0.1', port: 5060, transport: 'udp' }, { proto: 'tcp', address: '127.0.0.1', port: 5060, transport: 'tcp' }]],
    ['sip:*:5080', [{ proto: 'udp', address: '*', port: 5080, transport: 'udp' }]],
    ['sips:10.0.0.1;transport=tls', [{ proto: 'tcp', address: '10.0.0.1', port: 5061, transport: 'tls' }]],
    ['sips:127.0.0.3:5062;transport=tls', [{ proto: 'tcp', address: '127.0.0.3', port: 5062, transport: 'tls' }]],
  ])('%s', (contact, listeners) => {
    expect(contactListeners(contact)).toEqual(listeners);
  });

  it.each([
    ['127.0.0.1:5060', /not a SIP contact/],
    ['sip:127.0.0.1:5060;transport=sctp', /unknown transport sctp/],
    ['sip:127.0.0.1:70000', /out of range/],
    ['sip:127.0.0.3:5062;transport=tls', /needs a sips: contact/],
  ])('refuses %s', (contact, message) => {
    expect(contactListeners(contact)).toMatch(message);
  });
});

describe('engineConfigXml', () => {
  const xml = engineConfigXml({ adminPort: 9123, secret: 's<e>"c&', contacts: ['sip:127.0.0.1:5060;transport=udp,tcp'], logLevel: 'info', sofiaLogLevel: 3, externalIp: '203.0.113.7' });

  it('puts the control port on 127.0.0.1 with the secret escaped', () => {
    expect(xml).toContain('<admin port="9123" secret="s&#60;e&#62;&#34;c&#38;">127.0.0.1</admin>');
  });
  it('lists every contact with the external address', () => {
    expect(xml).toContain('<contact external-ip="203.0.113.7">sip:127.0.0.1:5060;transport=udp,tcp</contact>');
  });
  it('logs to the console, where the edge reads it', () => {
    expect(xml).toContain('<console/>');
    expect(xml).toContain('<loglevel>info</loglevel>');
  });
});

describe('engineLogLevel', () => {
  it.each([
    ['nta: bind(...;transport=tls): Input/output error', 'error'],
    ['Error adding additional transport', 'error'],
    ['tls_init_context: error loading CA list: cafile.pem', 'error'],
    ['Starting drachtio version v0.9.10-1-g9c2dd4cb6a', 'info'],
    ['SipTransport::addTransports - creating transport: 0x5648: udp/127.0.0.9:15060', 'info'],
    ['recv 412 bytes from udp/[127.0.0.1]:5070 at 04:20:52.716282:', 'debug'],
  ])('%s → %s', (line, level) => {
    expect(engineLogLevel(line)).toBe(level);
  });
});
