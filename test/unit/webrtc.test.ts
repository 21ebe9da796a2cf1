// The console's phone, pure parts (SPEC §2 `sip.webrtc`, §4a Phone): the engine's extra contact,
// the WebSocket URL and CSP source a page gets, and what rtpengine is told for a browser leg.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { answerParams, offerParams } from '../../src/media/anchor.js';
import { received } from '../../src/media/figures.js';
import { engineContacts, hostName, phoneConnectSource, phoneUrl, requestTransport } from '../../src/sip/webrtc.js';
import { isWebrtcTransport } from '../../src/domain/sipContact.js';
import { baseConfigObject, configProblems } from '../helpers/config.js';

const parse = (sip: unknown) => parseConfig(stringify(baseConfigObject({ sip })), 'x.yaml', {});

describe('sip.webrtc configuration', () => {
  it("is off unless set; SPEC's wss contact is accepted", () => {
    expect(parse({}).sip.webrtc).toBeUndefined();
    expect(parse({ webrtc: { contact: 'sips:0.0.0.0:8443;transport=wss' } }).sip.webrtc).toEqual({ contact: 'sips:0.0.0.0:8443;transport=wss' });
  });

  it('refuses a contact that is not one ws or wss listener, and a url that is not ws(s)://', () => {
    const problems = (webrtc: unknown) => configProblems(() => parse({ webrtc }));
    expect(problems({ contact: 'sip:0.0.0.0:5060;transport=udp' })).toEqual(['sip.webrtc.contact: needs exactly one transport, ws or wss (sips:ADDRESS:PORT;transport=wss)']);
    expect(problems({ contact: 'sip:0.0.0.0:8080;transport=ws,wss' })).toHaveLength(1);
    expect(problems({ contact: 'sips:0.0.0.0:8443;transport=wss', url: 'https://edge' })).toEqual(['sip.webrtc.url: not a ws:// or wss:// URL']);
  });
});

describe('the phone listener and URL', () => {
  const wss = { contact: 'sips:0.0.0.0:8443;transport=wss' };

  it('the local engine gets the phone contact once, after its own', () => {
    expect(engineContacts(['sip:127.0.0.1:5060;transport=udp,tcp'], wss)).toEqual(['sip:127.0.0.1:5060;transport=udp,tcp', wss.contact]);
    expect(engineContacts([wss.contact], wss)).toEqual([wss.contact]);
    expect(engineContacts(['sip:127.0.0.1'], undefined)).toEqual(['sip:127.0.0.1']);
  });

  it('a browser is whoever came over ws or wss', () => {
    expect(['ws', 'WSS', 'wss'].every(isWebrtcTransport)).toBe(true);
    expect(['udp', 'tcp', 'tls', undefined].some(isWebrtcTransport)).toBe(false);
  });

  it("the page connects to its own host on the listener's port, or to sip.webrtc.url", () => {
    expect(phoneUrl(wss, 'edge.example.com:8080')).toBe('wss://edge.example.com:8443');
    expect(phoneUrl(wss, '[2001:db8::1]:8080')).toBe('wss://[2001:db8::1]:8443');
    expect(phoneUrl({ contact: 'sip:127.0.0.3:9000;transport=ws' }, '127.0.0.1:8080')).toBe('ws://127.0.0.1:9000');
    expect(phoneUrl({ ...wss, url: 'wss://phone.example.com/ws' }, 'edge.example.com')).toBe('wss://phone.example.com/ws');
    expect(phoneConnectSource({ ...wss, url: 'wss://phone.example.com/ws' }, 'x')).toBe('wss://phone.example.com');
  });

  it('a Host header that is not a plain host name gives no URL (and no CSP source)', () => {
    expect(hostName('evil.example.com/ x')).toBeUndefined();
    expect(hostName("a.com; script-src 'unsafe-inline'")).toBeUndefined();
    expect(phoneConnectSource(wss, undefined)).toBeUndefined();
  });
});

describe('rtpengine for a browser leg (ICE + DTLS-SRTP on the browser side only)', () => {
  const cfg = { telnyxSrtp: false };

  it('a browser offers: Telnyx gets plain RTP without ICE, DTLS or rtcp-mux; the answer back keeps ICE and DTLS', () => {
    const offer = offerParams(cfg, 'c1', 'pbx', 'v=0', 'pbx');
    expect(offer).toMatchObject({ ICE: 'remove', DTLS: 'off', 'transport-protocol': 'RTP/AVP', 'rtcp-mux': ['demux'], 'from-tag': 'pbx' });
    const answer = answerParams('c1', 'pbx', 'v=0', 'pbx');
    expect(answer).toMatchObject({ ICE: 'force', 'from-tag': 'pbx', 'to-tag': 'telnyx' });
    expect(answer).not.toHaveProperty('DTLS');
  });

  it('with telnyxSrtp, the Telnyx side of a browser call is SDES-SRTP', () => {
    expect(offerParams({ telnyxSrtp: true }, 'c1', 'pbx', 'v=0', 'pbx')).toMatchObject({ 'transport-protocol': 'RTP/SAVP', 'rtcp-mux': ['demux'] });
  });

  it('Telnyx offers to a browser: UDP/TLS/RTP/SAVPF with ICE, rtcp-mux and a mid, no SDES; the answer to Telnyx drops ICE and DTLS', () => {
    expect(offerParams(cfg, 'c1', 'telnyx', 'v=0', 'pbx')).toMatchObject({
      ICE: 'force',
      'transport-protocol': 'UDP/TLS/RTP/SAVPF',
      SDES: ['off'],
      'rtcp-mux': ['require'],
      flags: ['generate-mid'],
      'from-tag': 'telnyx',
    });
    expect(answerParams('c1', 'telnyx', 'v=0', 'pbx')).toMatchObject({ ICE: 'remove', DTLS: 'off' });
  });

  it('no browser: the SIP-only parameters as before', () => {
    expect(offerParams(cfg, 'c1', 'pbx', 'v=0')).toEqual({ replace: ['origin', 'session-connection'], ICE: 'remove', DTLS: 'off', 'call-id': 'c1', 'from-tag': 'pbx', sdp: 'v=0', 'transport-protocol': 'RTP/AVP' });
  });
});

describe('the transport of a request', () => {
  it("a browser's Via (SIP/2.0/WS, WSS) wins over drachtio-server's `tcp`; anything else is the reported protocol", () => {
    expect(requestTransport('tcp', 'SIP/2.0/WS 521aondve5dh.invalid;branch=z9hG4bK1144380')).toBe('ws');
    expect(requestTransport('tcp', 'SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK1')).toBe('wss');
    expect(requestTransport('udp', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1')).toBe('udp');
    expect(requestTransport('TLS', undefined)).toBe('tls');
  });
});

describe("a browser's media in rtpengine's figures", () => {
  it('one stream carrying RTP and RTCP (rtcp-mux) counts as media; an RTCP-only stream does not', () => {
    const q = {
      result: 'ok',
      tags: {
        pbx: { tag: 'pbx', medias: [{ index: 1, type: 'audio', streams: [{ flags: ['RTP', 'RTCP', 'ICE', 'filled'], stats: { packets: 700, bytes: 120_000, errors: 0 } }] }] },
        telnyx: { tag: 'telnyx', medias: [{ index: 1, type: 'audio', streams: [{ flags: ['RTP'], stats: { packets: 690, bytes: 118_000, errors: 0 } }, { flags: ['RTCP'], stats: { packets: 5, bytes: 400, errors: 0 } }] }] },
      },
    };
    expect(received(q, 'pbx')).toEqual({ packets: 700, bytes: 120_000 });
    expect(received(q, 'telnyx')).toEqual({ packets: 690, bytes: 118_000 });
  });
});

describe('sip.webrtc switched by enabled (as the shipped templates write it)', () => {
  it('enabled: false is as if absent; true keeps the block without the switch', () => {
    const yaml = stringify(baseConfigObject({ sip: { webrtc: { enabled: '${WA_EDGE_PHONE:-false}', contact: 'sips:0.0.0.0:8443;transport=wss' } } }));
    expect(parseConfig(yaml, 'x.yaml', {}).sip.webrtc).toBeUndefined();
    expect(parseConfig(yaml, 'x.yaml', { WA_EDGE_PHONE: 'true' }).sip.webrtc).toEqual({ contact: 'sips:0.0.0.0:8443;transport=wss' });
  });
});
