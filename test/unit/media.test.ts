import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { figuresOf, received, recordFields } from '../../src/media/figures.js';
import type { NgQuery } from '../../src/media/rtpengine.js';
import { baseConfigObject, configProblems } from '../helpers/config.js';

function parse(media: unknown) {
  return parseConfig(stringify(baseConfigObject({ media })), 'x.yaml', {});
}

const problems = (media: unknown) => configProblems(() => parse(media));

describe('media.anchor configuration (SPEC §2)', () => {
  it('is off unless set; set, it has the SPEC defaults', () => {
    expect(parse({}).media.anchor).toBeUndefined();
    expect(parse({ anchor: { rtpengine: ['127.0.0.1:22222'] } }).media.anchor).toEqual({
      rtpengine: ['127.0.0.1:22222'],
      noMediaSeconds: 10,
      telnyxSrtp: false,
      requestTimeoutMs: 1000,
      pingSeconds: 5,
    });
  });

  it('enabled: false (as the shipped files write it, from ${WA_EDGE_MEDIA:-false}) switches it off', () => {
    const yaml = stringify(baseConfigObject({ media: { anchor: { enabled: '${WA_EDGE_MEDIA:-false}', rtpengine: ['127.0.0.1:22222'] } } }));
    expect(parseConfig(yaml, 'x.yaml', {}).media.anchor).toBeUndefined();
    expect(parseConfig(yaml, 'x.yaml', { WA_EDGE_MEDIA: 'true' }).media.anchor?.rtpengine).toEqual(['127.0.0.1:22222']);
  });

  it('names each bad value by its key path', () => {
    const p = problems({ anchor: { rtpengine: ['127.0.0.1:22222', 'rtpengine', '10.0.0.1:70000'], noMediaSeconds: 0, telnyxSrtp: 'maybe', other: 1 } });
    expect(p).toContain('media.anchor.rtpengine[1]: not host:port');
    expect(p).toContain('media.anchor.rtpengine[2]: not host:port');
    expect(p.some((x) => x.startsWith('media.anchor.noMediaSeconds:'))).toBe(true);
    expect(p.some((x) => x.startsWith('media.anchor.telnyxSrtp:'))).toBe(true);
    expect(p.some((x) => x.includes('other'))).toBe(true);
    expect(problems({ anchor: { rtpengine: [] } }).some((x) => x.startsWith('media.anchor.rtpengine:'))).toBe(true);
  });
});

// The shape of rtpengine 10.5's `query` answer (tags named by the edge's offer/answer, an SSRC
// section once RTCP reports came in), trimmed to what the figures read.
const query: NgQuery = {
  result: 'ok',
  tags: {
    pbx: {
      tag: 'pbx',
      medias: [
        {
          index: 1,
          type: 'audio',
          streams: [
            { flags: ['RTP', 'filled'], SSRC: 1111, stats: { packets: 90, bytes: 15480, errors: 0 } },
            { flags: ['RTCP', 'filled'], SSRC: 1111, stats: { packets: 3, bytes: 96, errors: 0 } },
          ],
        },
      ],
    },
    telnyx: {
      tag: 'telnyx',
      medias: [{ index: 1, type: 'audio', streams: [{ flags: ['RTP', 'filled'], SSRC: 2222, stats: { packets: 100, bytes: 17200, errors: 0 } }, { flags: ['RTCP'], stats: { packets: 0, bytes: 0, errors: 0 } }] }],
    },
  },
  SSRC: {
    '1111': { 'cumulative loss': 10, 'average MOS': { MOS: 41, jitter: 3, 'packet loss': 1 } },
    '9999': { 'cumulative loss': 500, 'average MOS': { MOS: 10, jitter: 90 } },
  },
};

describe("rtpengine's figures of a call (SPEC §6)", () => {
  it('counts RTP, not RTCP, per side', () => {
    expect(received(query, 'pbx')).toEqual({ packets: 90, bytes: 15480 });
    expect(received(query, 'telnyx')).toEqual({ packets: 100, bytes: 17200 });
  });

  it("puts loss and jitter on the side whose stream names the SSRC, and nothing it cannot place", () => {
    const f = figuresOf(query);
    expect(f.pbx).toEqual({ packets: 90, bytes: 15480, lost: 10, jitterMs: 3 });
    expect(f.telnyx).toEqual({ packets: 100, bytes: 17200 });
    expect(recordFields(f)).toMatchObject({ rtpPacketsFromPbx: 90, rtpBytesFromTelnyx: 17200, packetsLostFromPbx: 10, packetsLostFromTelnyx: undefined });
  });

  it('a side rtpengine never heard of has zero packets', () => {
    expect(figuresOf({ result: 'ok' })).toEqual({ pbx: { packets: 0, bytes: 0 }, telnyx: { packets: 0, bytes: 0 } });
  });
});
