// Ask Meta before refusing for lack of permission, end to end (SPEC §2 permissionLookup, §3
// no_permission): SIPp as the PBX and Telnyx, a real drachtio-server and Redis, and a local
// stand-in for Meta's call_permissions. A tenant's number asks with the tenant's own Meta app
// (SPEC §2a). Also measures what a lookup adds to a refused call.
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { operatorApi, startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { startFakeMeta, type FakeMeta } from '../http/fakeMeta.js';
import { expectOk, expectRefused, outboundCall } from './call.js';

const PHONE_NUMBER_ID = '1234567890';
const metaSays = (status: string, canCall: boolean, limits: unknown[] = []) => ({
  status: 200,
  body: { messaging_product: 'whatsapp', permission: { status }, actions: [{ action_name: 'start_call', can_perform_action: canCall, limits }] },
});

/** One INVITE over UDP; resolves with the final status and the ms from send to that response. */
async function timedInvite(edge: { host: string; port: number }, n: number): Promise<{ status: number; ms: number }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind({ address: addrs.pbx, port: 0 }, r));
  const { port } = sock.address();
  const sdp = ['v=0', `o=x 1 1 IN IP4 ${addrs.pbx}`, 's=-', `c=IN IP4 ${addrs.pbx}`, 't=0 0', 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
  const callId = `lookup-cost-${n}-${Date.now()}`;
  const msg = [
    `INVITE sip:${USER}@${edge.host} SIP/2.0`,
    `Via: SIP/2.0/UDP ${addrs.pbx}:${port};branch=z9hG4bK-cost-${n}-${Date.now()}`,
    'Max-Forwards: 70',
    `From: <sip:${BUSINESS}@${addrs.pbx}>;tag=c${n}`,
    `To: <sip:${USER}@${edge.host}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:pbx@${addrs.pbx}:${port}>`,
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    '',
    sdp,
  ].join('\r\n');
  const t0 = performance.now();
  const result = new Promise<{ status: number; ms: number }>((resolve) =>
    sock.on('message', (m) => {
      const status = Number(/^SIP\/2\.0 (\d{3})/.exec(m.toString('latin1'))?.[1]);
      if (status >= 200) resolve({ status, ms: performance.now() - t0 });
    }),
  );
  sock.send(msg, edge.port, edge.host);
  const r = await result;
  // ACK the final response so drachtio-server stops retransmitting it.
  const ack = msg.replace(/^INVITE /, 'ACK ').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace(/Content-Type[\s\S]*$/, 'Content-Length: 0\r\n\r\n');
  sock.send(ack, edge.port, edge.host);
  await new Promise((r2) => setTimeout(r2, 5));
  sock.close();
  return r;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

describeWithDrachtio('permission lookup: a call the edge would refuse no_permission asks Meta first', () => {
  let fx: EdgeFixture;
  let meta: FakeMeta;
  const lookupOn = (permissionLookup: unknown = { timeoutMs: 800, negativeCacheSeconds: 60 }) => ({
    whatsapp: { cloudApi: { baseUrl: meta.baseUrl, token: 'tok-123', permissionLookup } },
    numbers: [{ number: BUSINESS, calling: true, phoneNumberId: PHONE_NUMBER_ID, inbound: [] }],
  });

  beforeAll(async () => {
    meta = await startFakeMeta();
    fx = await startEdgeFixture(() => ({
      trunks: [{ name: 'acme', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }],
      ...lookupOn(),
    }));
  }, 60_000);
  afterAll(async () => {
    await fx?.stop();
    await meta?.close();
  });
  beforeEach(async () => {
    fx.reconfigure({ trunks: [{ name: 'acme', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }], ...lookupOn() });
    await fx.edge.redis.flushall();
    meta.requests.length = 0;
  });

  it('Meta holds a permanent permission: the call connects, and the edge keeps it (source meta_lookup)', async () => {
    meta.answer = metaSays('permanent', true, [{ time_period: 'PT24H', max_allowed: 100, current_usage: 0 }]);
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', service: USER.slice(1), vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    await fx.expectIdle();
    expect(meta.requests.map((r) => r.url)).toEqual([`/v23.0/${PHONE_NUMBER_ID}/call_permissions?user_wa_id=${USER.slice(1)}`]);
    expect(await fx.edge.permissions.read(BUSINESS, USER)).toEqual({ kind: 'permanent', source: 'meta_lookup' });
  });

  it("Meta says no: 480 no_permission; Meta's start_call limit: 480 daily_limit with Retry-After; Meta silent: 480 no_permission within the deadline", async () => {
    meta.answer = metaSays('no_permission', false);
    await expectRefused(fx, 480, 'no_permission');
    fx.reconfigure({ trunks: [{ name: 'acme', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }], ...lookupOn({ timeoutMs: 800, negativeCacheSeconds: 0 }) });
    meta.answer = metaSays('temporary', false, [{ time_period: 'PT24H', max_allowed: 10, current_usage: 10, limit_expiration_time: Math.floor(Date.now() / 1000) + 600 }]);
    await expectRefused(fx, 480, 'daily_limit', { retryAfter: true });
    meta.answer = 'hang';
    const t = performance.now();
    await expectRefused(fx, 480, 'no_permission');
    expect(performance.now() - t).toBeLessThan(5000);
    await fx.expectIdle();
  });

  it('measures: the added cost of a lookup on a refused call (Meta answering at once on loopback, no cache)', async () => {
    const edge = { host: fx.drachtio.sipAddress, port: fx.drachtio.sipPort };
    const N = Number(process.env.LOOKUP_COST_CALLS ?? 40); // LOOKUP_COST_CALLS=200 for steadier figures
    const run = async () => {
      const ms: number[] = [];
      for (let i = 0; i < N; i++) {
        const r = await timedInvite(edge, i);
        expect(r.status).toBe(480);
        ms.push(r.ms);
      }
      return ms;
    };
    const trunks = [{ name: 'acme', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }];
    fx.reconfigure({ trunks, ...lookupOn(false) });
    await run(); // warm-up
    const off = await run();
    fx.reconfigure({ trunks, ...lookupOn({ timeoutMs: 800, negativeCacheSeconds: 0 }) });
    meta.answer = metaSays('no_permission', false);
    const on = await run();
    fx.reconfigure({ trunks, ...lookupOn({ timeoutMs: 800, negativeCacheSeconds: 60 }) });
    const cached = await run();
    // Each call of the uncached run asked Meta; the cached run asked at most once (an earlier test's "no" may still stand).
    expect(meta.requests.length).toBeGreaterThanOrEqual(N);
    expect(meta.requests.length).toBeLessThanOrEqual(N + 1);
    const fmt = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(2)} ms, p90 ${quantile(xs, 0.9).toFixed(2)} ms`;
    console.log(`INVITE → 480 no_permission over ${N} calls: lookup off ${fmt(off)}; lookup on, Meta asked each time ${fmt(on)}; lookup on, Meta's "no" reused ${fmt(cached)}`);
    expect(quantile(on, 0.5)).toBeLessThan(quantile(off, 0.5) + 200);
  }, 60_000);
});

describeWithDrachtio("permission lookup over SIP: a tenant's number asks Meta with its tenant's own Cloud API (SPEC §2a)", () => {
  // Each tenant's PBX on its own loopback address (its trunk's source), each tenant's Meta app a stand-in of its own.
  const tenants = [
    { name: 'acme', number: '+447418600001', pnid: '5550001', pbx: '127.0.0.7', token: 'acme-graph-token' },
    { name: 'bravo', number: '+447418600101', pnid: '5550101', pbx: '127.0.0.8', token: 'bravo-graph-token' },
    { name: 'charlie', number: '+447418600201', pnid: '5550201', pbx: '127.0.0.11', token: undefined },
  ] as const;
  const [acme, bravo, charlie] = tenants;
  // A generous deadline (a loaded box must not turn the stand-in's answer into a timeout); no cache, each call asks.
  const LOOKUP = { timeoutMs: 10_000, negativeCacheSeconds: 0 };
  const trunks = [{ name: 'main', sources: [`${addrs.pbx}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }];
  let fx: EdgeFixture;
  let api: Awaited<ReturnType<typeof operatorApi>>;
  let metaA: FakeMeta;
  let metaB: FakeMeta;
  let metaFile: FakeMeta;
  const fileWith = (cloudApi?: unknown) => ({ trunks, numbers: [{ number: BUSINESS, calling: true, phoneNumberId: PHONE_NUMBER_ID }], whatsapp: cloudApi ? { cloudApi } : {} });
  const platformApi = () => ({ baseUrl: metaFile.baseUrl, token: 'platform-graph-token', permissionLookup: LOOKUP });
  // Meta's start_call limit used up: 480 daily_limit, which only Meta's answer gives (the edge alone says no_permission).
  const usedUp = () => metaSays('temporary', false, [{ time_period: 'PT24H', max_allowed: 100, current_usage: 100, limit_expiration_time: Math.floor(Date.now() / 1000) + 600 }]);
  const seen = (m: FakeMeta) => m.requests.map((r) => [r.url, r.headers.authorization]);
  const lookupUrl = (pnid: string) => `/v23.0/${pnid}/call_permissions?user_wa_id=${USER.slice(1)}`;

  beforeAll(async () => {
    [metaA, metaB, metaFile] = await Promise.all([startFakeMeta(), startFakeMeta(), startFakeMeta()]);
    fx = await startEdgeFixture(() => fileWith(platformApi()));
    api = await operatorApi(fx);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await fx?.stop();
    await Promise.all([metaA, metaB, metaFile].map((m) => m?.close()));
  });
  beforeEach(async () => {
    fx.reconfigure(fileWith(platformApi()));
    await fx.edge.redis.flushall();
    await fx.edge.tenants.refresh();
    const metas = { acme: metaA, bravo: metaB } as Record<string, FakeMeta>;
    for (const t of tenants) {
      const meta = metas[t.name];
      const res = await api.call('POST', '/v1/tenants', {
        name: t.name,
        numbers: [{ number: t.number, calling: true, phoneNumberId: t.pnid }],
        trunks: [{ name: 'pbx', sources: [`${t.pbx}/32`], numbers: [t.number], defaultRegion: 'GB' }],
        ...(meta && t.token ? { credentials: { whatsapp: { cloudApi: { baseUrl: meta.baseUrl, token: t.token, permissionLookup: LOOKUP } } } } : {}),
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    for (const m of [metaA, metaB, metaFile]) {
      m.requests.length = 0;
      m.answer = usedUp();
    }
  });

  it("A's call asks A's Meta app with A's token and phone-number id, B's asks B's; charlie (no Meta credentials) the file's", async () => {
    await expectRefused(fx, 480, 'daily_limit', { from: acme.number, localAddress: acme.pbx, retryAfter: true });
    expect(seen(metaA)).toEqual([[lookupUrl(acme.pnid), 'Bearer acme-graph-token']]);
    await expectRefused(fx, 480, 'daily_limit', { from: bravo.number, localAddress: bravo.pbx, retryAfter: true });
    expect(seen(metaB)).toEqual([[lookupUrl(bravo.pnid), 'Bearer bravo-graph-token']]);
    await expectRefused(fx, 480, 'daily_limit', { from: charlie.number, localAddress: charlie.pbx, retryAfter: true });
    expect(seen(metaFile)).toEqual([[lookupUrl(charlie.pnid), 'Bearer platform-graph-token']]);
    expect([metaA.requests.length, metaB.requests.length]).toEqual([1, 1]);
    await fx.expectIdle();
  }, 60_000);

  it("without the file's Cloud API, charlie's call is as the file's number's without one: 480 no_permission, Meta not asked; A still asks its own", async () => {
    fx.reconfigure(fileWith(undefined));
    await fx.edge.tenants.refresh();
    await expectRefused(fx, 480, 'no_permission', { from: charlie.number, localAddress: charlie.pbx });
    expect([...metaA.requests, ...metaB.requests, ...metaFile.requests]).toEqual([]);
    await expectRefused(fx, 480, 'daily_limit', { from: acme.number, localAddress: acme.pbx, retryAfter: true });
    expect(seen(metaA)).toEqual([[lookupUrl(acme.pnid), 'Bearer acme-graph-token']]);
    expect(metaFile.requests).toEqual([]);
    await fx.expectIdle();
  }, 60_000);
});
