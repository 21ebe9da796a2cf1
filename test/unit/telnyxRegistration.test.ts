// What the Telnyx registration sends and when (SPEC §1, §2 `telnyx.register`), without a network.
import { describe, expect, it } from 'vitest';
import { aorFor, backoffMs, contactFor, grantedExpires, refreshDelayMs, transportOf } from '../../src/sip/telnyxRegistration.js';

describe('Telnyx registration: contact, expiry, back-off', () => {
  it('reaches the registrar over its transport parameter, TLS for sips:, else UDP', () => {
    expect(transportOf('sip:sip.telnyx.com;transport=tls')).toBe('tls');
    expect(transportOf('sip:sip.telnyx.com;transport=TCP')).toBe('tcp');
    expect(transportOf('sips:sip.telnyx.com')).toBe('tls');
    expect(transportOf('sip:sip.telnyx.com:5060')).toBe('udp');
  });

  it('registers the username at the registrar domain', () => {
    expect(aorFor('wasipedge01', 'sip:sip.telnyx.com;transport=tls')).toBe('sip:wasipedge01@sip.telnyx.com');
    expect(aorFor('wasipedge01', 'sip:127.0.0.2:5080')).toBe('sip:wasipedge01@127.0.0.2');
  });

  it("Contact: drachtio-server's endpoint for the registrar's transport, with the username as user", () => {
    const hp = 'udp/203.0.113.7:5060,tcp/203.0.113.7:5060,tls/203.0.113.7:5061';
    expect(contactFor('u1', 'sip:sip.telnyx.com;transport=tls', undefined, hp)).toBe('sip:u1@203.0.113.7:5061;transport=tls');
    expect(contactFor('u1', 'sip:sip.telnyx.com', undefined, hp)).toBe('sip:u1@203.0.113.7:5060');
    expect(contactFor('u1', 'sip:sip.telnyx.com;transport=tcp', undefined, hp)).toBe('sip:u1@203.0.113.7:5060;transport=tcp');
    // No endpoint of that transport: the first one, with its own transport named.
    expect(contactFor('u1', 'sip:sip.telnyx.com;transport=tls', undefined, 'tcp/10.0.0.5:5060')).toBe('sip:u1@10.0.0.5:5060;transport=tcp');
    expect(contactFor('u1', 'sip:sip.telnyx.com', undefined, 'udp/::1:5060')).toBe('sip:u1@[::1]:5060');
    expect(contactFor('u1', 'sip:sip.telnyx.com', undefined, undefined)).toBeUndefined();
  });

  it('Contact: a configured one wins, the username inserted when it has no user', () => {
    expect(contactFor('u1', 'sip:sip.telnyx.com', 'sip:edge.example.com:5061;transport=tls', 'udp/10.0.0.5:5060')).toBe('sip:u1@edge.example.com:5061;transport=tls');
    expect(contactFor('u1', 'sip:sip.telnyx.com', 'sip:other@edge.example.com', undefined)).toBe('sip:other@edge.example.com');
  });

  it('the granted expiry: our Contact expires param, else Expires, else the shortest contact, else what was asked', () => {
    const ours = 'sip:u1@203.0.113.7:5060';
    const theirs = { uri: 'sip:u1@198.51.100.9:5060', params: { expires: '30' } };
    expect(grantedExpires([theirs, { uri: ours, params: { expires: '3' } }], '600', ours, 600)).toBe(3);
    expect(grantedExpires([{ uri: 'sip:u1@203.0.113.7', params: { expires: '120' } }], undefined, ours, 600)).toBe(120); // default port 5060
    expect(grantedExpires([{ uri: ours }], ' 300', ours, 600)).toBe(300);
    expect(grantedExpires([theirs], undefined, ours, 600)).toBe(30);
    expect(grantedExpires([], undefined, ours, 600)).toBe(600);
    expect(grantedExpires([{ uri: ours, params: { expires: '0' } }], '600', ours, 600)).toBe(0);
  });

  it('refreshes at half the granted expiry; backs off from minSeconds, doubling, capped', () => {
    expect(refreshDelayMs(600)).toBe(300_000);
    expect(refreshDelayMs(3)).toBe(1500);
    expect(refreshDelayMs(0.5)).toBe(500);
    const retry = { minSeconds: 5, maxSeconds: 300 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n, retry) / 1000)).toEqual([5, 10, 20, 40, 80, 160, 300, 300]);
  });
});
