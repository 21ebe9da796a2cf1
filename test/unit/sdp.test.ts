import { describe, expect, it } from 'vitest';
import { parse } from 'sdp-transform';
import { answererFor, offerToTelnyx } from '../../src/sip/sdp.js';

const CODECS = ['opus', 'PCMU', 'PCMA', 'telephone-event'];

const pbxOffer = [
  'v=0',
  'o=pbx 1 1 IN IP4 10.0.0.5',
  's=call',
  'c=IN IP4 10.0.0.5',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 4000 RTP/AVP 18 0 8 9 101',
  'a=mid:0',
  'a=rtpmap:18 G729/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=fmtp:18 annexb=no',
  'a=sendrecv',
  'm=video 4002 RTP/AVP 96',
  'a=mid:1',
  'a=rtpmap:96 H264/90000',
  '',
].join('\r\n');

const telnyxAnswer = ['v=0', 'o=telnyx 2 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 30000 RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');

describe('SDP towards Telnyx (SPEC §3)', () => {
  it('keeps audio only, allowed codecs in allow-list order, telephone-event kept', () => {
    const out = offerToTelnyx(pbxOffer, CODECS)!;
    expect(out.keptIndex).toBe(0);
    const s = parse(out.telnyxSdp);
    expect(s.media).toHaveLength(1);
    expect(s.media[0]!.type).toBe('audio');
    expect(String(s.media[0]!.payloads)).toBe('0 8 101'); // G729 and G722 are not in the allow-list
    expect(s.media[0]!.fmtp.map((f) => f.payload)).toEqual([101]);
    expect(s.groups).toBeUndefined();
  });

  it('is the offer line for line, less what must go: other streams, dropped payloads, mid, ssrc, bundle', () => {
    const webrtc = [
      'v=0',
      'o=- 7 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0',
      'a=msid-semantic: WMS',
      'm=audio 9 UDP/TLS/RTP/SAVPF 0 111 9 13 101',
      'c=IN IP4 203.0.113.9',
      'a=rtcp:9 IN IP4 0.0.0.0',
      'a=ice-ufrag:abcd',
      'a=mid:0',
      'a=rtpmap:111 opus/48000/2',
      'a=rtcp-fb:111 transport-cc',
      'a=rtcp-fb:* nack',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=rtpmap:9 G722/8000',
      'a=rtpmap:13 CN/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=ssrc:1234 cname:sip:alice@edge.example',
      'a=ssrc-group:FID 1234 5678',
      'a=x-unknown-to-any-grammar:kept',
      'a=sendrecv',
      '',
    ].join('\n'); // LF only, as some softphones write it
    const out = offerToTelnyx(webrtc, CODECS)!;
    expect(out.telnyxSdp).toBe(
      [
        'v=0',
        'o=- 7 2 IN IP4 127.0.0.1',
        's=-',
        't=0 0',
        'a=msid-semantic: WMS',
        'm=audio 9 UDP/TLS/RTP/SAVPF 111 0 101', // allow-list order; G722 and CN are not in it
        'c=IN IP4 203.0.113.9',
        'a=rtcp:9 IN IP4 0.0.0.0',
        'a=ice-ufrag:abcd',
        'a=rtpmap:111 opus/48000/2',
        'a=rtcp-fb:111 transport-cc',
        'a=rtcp-fb:* nack',
        'a=fmtp:111 minptime=10;useinbandfec=1',
        'a=rtpmap:101 telephone-event/8000',
        'a=x-unknown-to-any-grammar:kept',
        'a=sendrecv',
        '',
      ].join('\r\n'),
    );
    expect(out.singleStream).toBe(false); // it had a mid: the answer gets it back
  });

  it('skips a refused (port 0) or codec-less audio stream and sends the next one', () => {
    const offer = ['v=0', 'o=p 1 1 IN IP4 10.0.0.5', 's=-', 'c=IN IP4 10.0.0.5', 't=0 0', 'm=audio 0 RTP/AVP 0', 'm=audio 4000 RTP/AVP 18', 'm=audio 4002 RTP/AVP 8', ''].join('\r\n');
    const out = offerToTelnyx(offer, CODECS)!;
    expect(out.keptIndex).toBe(2);
    expect(parse(out.telnyxSdp).media.map((m) => [m.port, String(m.payloads)])).toEqual([[4002, '8']]);
  });

  it('no acceptable codec (or only telephone-event) → undefined, i.e. 488', () => {
    expect(offerToTelnyx(pbxOffer, ['opus', 'telephone-event'])).toBeUndefined();
    expect(offerToTelnyx('garbage', CODECS)).toBeUndefined();
    expect(offerToTelnyx('', CODECS)).toBeUndefined();
  });
});

describe('answer back to the PBX', () => {
  it('to an offer of one audio stream is Telnyx\'s answer unchanged', () => {
    const audioOnly = pbxOffer.split(/\r\nm=video/)[0]!.replace(/a=(group|mid):[^\r]*\r\n/g, '') + '\r\n';
    expect(parse(audioOnly).media).toHaveLength(1);
    const out = offerToTelnyx(audioOnly, CODECS)!;
    expect(answererFor(out)(telnyxAnswer)).toBe(telnyxAnswer);
  });

  it('has as many m-lines as the offer, refused ones at port 0 (RFC 3264)', () => {
    const out = offerToTelnyx(pbxOffer, CODECS)!;
    const a = parse(answererFor(out)(telnyxAnswer));
    expect(a.media.map((m) => [m.type, m.port])).toEqual([
      ['audio', 30000],
      ['video', 0],
    ]);
    expect(a.media.map((m) => String(m.mid))).toEqual(['0', '1']);
    expect(String(a.media[1]!.payloads)).toBe('96');
    expect(a.groups).toBeUndefined();
  });
});
