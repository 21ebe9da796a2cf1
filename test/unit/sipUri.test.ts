// The one SIP URI parser (src/domain/sipUri.ts) and the typed inbound targets the schema makes.
import { describe, expect, it } from 'vitest';
import { headerUri, parseSipUri, uriTransports } from '../../src/domain/sipUri.js';
import { inboundTargetText, parseInboundTarget } from '../../src/domain/inboundTargets.js';
import { testConfig } from '../helpers/config.js';

describe('parseSipUri', () => {
  it.each([
    ['sip:sip.telnyx.com;transport=tls', { scheme: 'sip', host: 'sip.telnyx.com', params: { transport: 'tls' } }],
    ['sips:u1@edge.example.com:5061;lr;Transport=TLS', { scheme: 'sips', user: 'u1', host: 'edge.example.com', port: 5061, params: { lr: '', transport: 'TLS' } }],
    ['  SIP:100@[2001:db8::1]:5070  ', { scheme: 'sip', user: '100', host: '[2001:db8::1]', port: 5070, params: {} }],
    ['sip:*:5080;transport=udp,tcp', { scheme: 'sip', host: '*', port: 5080, params: { transport: 'udp,tcp' } }],
    ['sip:%2B447911123456@127.0.0.1?Subject=hi', { scheme: 'sip', user: '%2B447911123456', host: '127.0.0.1', params: {}, headers: 'Subject=hi' }],
  ])('%s', (text, uri) => expect(parseSipUri(text)).toEqual(uri));

  it.each(['127.0.0.1:5060', 'tel:+447911123456', 'sip:', 'sip:host name', 'sip:host:port', 'http://x', 'sip:host;;lr', '<sip:a@b>'])('refuses %j', (text) => {
    expect(parseSipUri(text)).toBeUndefined();
  });

  it('names the transports: the parameter, else TLS for sips:, else UDP', () => {
    expect(uriTransports(parseSipUri('sip:h;transport=UDP,tcp')!)).toEqual(['udp', 'tcp']);
    expect(uriTransports(parseSipUri('sips:h')!)).toEqual(['tls']);
    expect(uriTransports(parseSipUri('sip:h;transport=')!)).toEqual(['udp']);
  });
});

describe('headerUri', () => {
  it.each([
    ['"Bob" <sip:+447911123456@host>;tag=1', 'sip:+447911123456@host'],
    ['sip:+447911123456@host;tag=1', 'sip:+447911123456@host'],
    ['<tel:+447911123456;phone-context=x>', 'tel:+447911123456;phone-context=x'],
  ])('%s → %s', (header, uri) => expect(headerUri(header)).toBe(uri));
});

describe('inbound targets', () => {
  it.each([
    ['sip:100@pbx.example.com:5060', { kind: 'sip', uri: 'sip:100@pbx.example.com:5060' }],
    ['sips:100@pbx.example.com', { kind: 'sip', uri: 'sips:100@pbx.example.com' }],
    ['device:agent.1', { kind: 'device', name: 'agent.1' }],
  ] as const)('%s', (text, target) => {
    expect(parseInboundTarget(text)).toEqual(target);
    expect(inboundTargetText(target)).toBe(text);
  });

  it.each(['http://x', 'device:', 'device:bad name', 'sip:'])('refuses %j', (text) => expect(parseInboundTarget(text)).toBeUndefined());

  it('are typed by the configuration schema', () => {
    const cfg = testConfig({
      devices: [{ username: 'alice', password: 'alice-secret-1', numbers: ['+447418613982'] }],
      numbers: [{ number: '+447418613982', inbound: ['device:alice', 'sip:100@127.0.0.1:5070'] }],
    });
    expect(cfg.numbers[0]?.inbound).toEqual([
      { kind: 'device', name: 'alice' },
      { kind: 'sip', uri: 'sip:100@127.0.0.1:5070' },
    ]);
  });
});
