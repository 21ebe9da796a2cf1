// Several edges, one service (issue 26, docs/scaling.md §1): digest authentication works whichever
// instance issued the challenge. Real drachtio-servers, real Redis, SIPp as the softphone, the PBX
// trunk with `auth` and Telnyx; a hand-driven UDP client for what SIPp cannot do (replays).
//
// * Two edges connected to ONE drachtio-server: drachtio-server hands each new request to its
//   connected applications in turn, so a challenge and its answer usually reach different edges.
// * Two drachtio-servers (127.0.0.3 and 127.0.0.8), an edge on each, one Redis: the answer to a
//   challenge from one host is sent to the other (SIPp `setdest`).
// * Two edges on one drachtio-server with no sip.digestSecret at all: they share the key the first
//   of them created in Redis (issue 34).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithDrachtio, addrs, freeSipPort } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { describeSipp, messagesOf, scenarioPath, sipp, type SippResult } from '../helpers/sipp.js';
import { challengeOf, digestAuthorization, rawClient, type Target } from '../helpers/digestClient.js';
import { describeWithBaresip, startBaresip, type Baresip } from '../helpers/baresip.js';
import { until } from '../helpers/until.js';
import { DIGEST_KEY } from '../../src/state/digestKey.js';

const SECRET = 'several-edges-share-this-digest-secret';
const REALM = 'edge.wa-test';
const ALICE = { user: 'alice', password: 'alice-secret-1' };
const TRUNK = { username: 'pbx', password: 'pbx-trunk-secret-1' };
/** A second host's SIP address (the first edge's is addrs.edge, 127.0.0.3). */
const SECOND_HOST = '127.0.0.8';
/** A user nobody granted a permission: an authenticated trunk INVITE to it gets 480 no_permission, not a challenge. */
const NO_PERMISSION_USER = '+447911000999';
/** How many of each SIPp exchange the tests run (the figures). */
const N = { registers: 50, softphoneCalls: 20, trunkCalls: 20 };

/** With `digestSecret` null, nothing configured: the edges share the key they keep in Redis (issue 34). */
const overrides = (digestSecret: string | null = SECRET) => ({
  // One softphone address sends every REGISTER and call here: above the scanner guard's default 50 requests per 10 s.
  sip: { realm: REALM, ...(digestSecret ? { digestSecret } : {}), registration: { minExpires: 60, maxExpires: 3600 }, scannerBan: { requestsPer10s: 10_000, authFailuresPer10m: 100, banSeconds: 600 } },
  devices: [{ username: ALICE.user, password: ALICE.password, numbers: [BUSINESS], defaultRegion: 'GB' }],
  trunks: [{ name: 'acme', sources: [`${addrs.pbx}/32`], auth: TRUNK, numbers: [BUSINESS], defaultRegion: 'GB' }],
  numbers: [{ number: BUSINESS, calling: true, inbound: ['device:alice'] }],
});

interface Hosts {
  redis: RedisServer;
  edges: EdgeFixture[];
  telnyxPort: number;
}

function allLogs(h: Hosts) {
  return h.edges.map((e, i) => `--- edge ${i} log (tail)\n${e.logs().split('\n').slice(-40).join('\n')}`).join('\n');
}

/** SIPp exits 0 only when each of its `-m` calls went through the whole scenario; the 200s to the authenticated requests are counted too. */
function expectAll(r: SippResult, h: Hosts, calls: number, method: 'REGISTER' | 'INVITE') {
  if (r.code !== 0) console.error(describeSipp(r), '\n', allLogs(h));
  expect(r.code, describeSipp(r)).toBe(0);
  const ok = messagesOf(r).filter((m) => /message received/.test(m) && /^SIP\/2\.0 200/m.test(m) && new RegExp(`^CSeq:\\s*2 ${method}`, 'im').test(m));
  expect(ok.length, `200 answers to authenticated ${method}s`).toBe(calls);
}

/** Answers from every edge, summed: how many digest answers each instance verified as what. */
async function nonceCounts(h: Hosts): Promise<{ perEdge: Record<string, number>[] }> {
  const perEdge = await Promise.all(
    h.edges.map(async (e) => {
      const m = await e.edge.metrics.digestNoncesTotal.get();
      return Object.fromEntries(m.values.map((v) => [String(v.labels.result), v.value]));
    }),
  );
  return { perEdge };
}

/** SIPp's runs for the figures: REGISTERs, softphone calls (407), trunk calls with auth (401). */
function digestSuite(name: string, setup: () => Promise<Hosts>, answerTo: (h: Hosts) => { challenger: Target; answerer: Target }, more?: (h: () => Hosts) => void) {
  describe(name, () => {
    let h: Hosts;
    beforeAll(async () => {
      h = await setup();
      await h.edges[0]!.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    }, 60_000);
    afterAll(async () => {
      // The edge that shares another's drachtio-server first: the first one stops that server.
      for (const e of [...(h?.edges ?? [])].reverse()) await e.stop();
      await h?.redis.stop();
    });

    const across = (): { remote: string; answer: Record<string, string | number> } => {
      const { challenger, answerer } = answerTo(h);
      const same = challenger.host === answerer.host && challenger.port === answerer.port;
      return { remote: `${challenger.host}:${challenger.port}`, answer: same ? {} : { answer_host: answerer.host, answer_port: answerer.port } };
    };

    it(`${N.registers} of ${N.registers} softphone REGISTERs answered 200`, async () => {
      const { remote, answer } = across();
      const port = await freeSipPort(addrs.softphone);
      const r = await sipp({ scenario: 'phone_register.xml', localAddress: addrs.softphone, localPort: port, remote, calls: N.registers, rate: 20, limit: 1, vars: { ...ALICE, realm: REALM, ...answer }, timeoutSec: 60 }).done;
      expectAll(r, h, N.registers, 'REGISTER');
      const counts = await nonceCounts(h);
      console.log(`[${name}] REGISTER: ${N.registers}/${N.registers} got 200; digest verdicts per edge ${JSON.stringify(counts.perEdge)}`);
      // Every answer verified (on one drachtio-server, the edge that did not challenge verifies: it alternates), none unknown or stale.
      expect(counts.perEdge.reduce((s, e) => s + (e.ok ?? 0), 0)).toBe(N.registers);
      expect(counts.perEdge.reduce((s, e) => s + (e.unknown ?? 0) + (e.stale ?? 0), 0)).toBe(0);
    }, 90_000);

    it(`${N.softphoneCalls} of ${N.softphoneCalls} softphone calls (407 challenge) connected`, async () => {
      const { remote, answer } = across();
      const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: h.telnyxPort, calls: N.softphoneCalls, timeoutSec: 90 });
      await telnyx.ready;
      const r = await sipp({ scenario: 'phone_call.xml', localAddress: addrs.softphone, remote, service: USER, calls: N.softphoneCalls, rate: 5, limit: 1, vars: { ...ALICE, realm: REALM, hold: 100, ...answer }, timeoutSec: 60 }).done;
      if (r.code !== 0) telnyx.kill();
      const t = await telnyx.done;
      expectAll(r, h, N.softphoneCalls, 'INVITE');
      expect(t.code, describeSipp(t)).toBe(0);
      console.log(`[${name}] softphone INVITE: ${N.softphoneCalls}/${N.softphoneCalls} connected`);
    }, 90_000);

    it(`${N.trunkCalls} of ${N.trunkCalls} PBX trunk calls with auth (401 challenge) connected`, async () => {
      const { remote, answer } = across();
      const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: h.telnyxPort, calls: N.trunkCalls, timeoutSec: 90 });
      await telnyx.ready;
      const r = await sipp({
        scenario: 'pbx_call_auth.xml', localAddress: addrs.pbx, remote, service: USER, calls: N.trunkCalls, rate: 5, limit: 1,
        vars: { hold: 100, ...answer }, extraArgs: ['-au', TRUNK.username, '-ap', TRUNK.password], timeoutSec: 60,
      }).done;
      if (r.code !== 0) telnyx.kill();
      const t = await telnyx.done;
      expectAll(r, h, N.trunkCalls, 'INVITE');
      expect(t.code, describeSipp(t)).toBe(0);
      console.log(`[${name}] trunk INVITE with auth: ${N.trunkCalls}/${N.trunkCalls} connected`);
      for (const e of h.edges) await e.expectIdle(10_000);
    }, 90_000);

    it('a replayed nonce-count is refused on every instance, a wrong password still is', async () => {
      const { challenger, answerer } = answerTo(h);
      const targets = [challenger, answerer];
      // Softphone REGISTER: challenged by one, answered to the other, then the same Authorization again to each.
      const phone = await rawClient(addrs.softphone);
      try {
        const c = challengeOf(await phone.request(challenger, 'REGISTER', { user: ALICE.user }));
        const auth = digestAuthorization(c, 'REGISTER', `sip:${challenger.host}:${challenger.port}`, ALICE.user, ALICE.password);
        expect((await phone.request(answerer, 'REGISTER', { user: ALICE.user, auth })).status).toBe(200);
        for (const t of targets) {
          const replay = await phone.request(t, 'REGISTER', { user: ALICE.user, auth });
          expect(replay.status, `replayed REGISTER to ${t.host}:${t.port}`).toBe(401);
          expect(challengeOf(replay).stale, 'a replay is not stale').toBe(false);
        }
        const c2 = challengeOf(await phone.request(challenger, 'REGISTER', { user: ALICE.user }));
        const wrong = digestAuthorization(c2, 'REGISTER', `sip:${challenger.host}:${challenger.port}`, ALICE.user, 'not-the-password');
        expect((await phone.request(answerer, 'REGISTER', { user: ALICE.user, auth: wrong })).status).toBe(403);
      } finally {
        phone.close();
      }
      // Trunk INVITE: authenticated, it reaches the state checks (480 no_permission); replayed, it is challenged again.
      const pbx = await rawClient(addrs.pbx);
      try {
        const c = challengeOf(await pbx.request(challenger, 'INVITE', { user: BUSINESS, ruriUser: NO_PERMISSION_USER }));
        const auth = digestAuthorization(c, 'INVITE', `sip:${NO_PERMISSION_USER}@${challenger.host}:${challenger.port}`, TRUNK.username, TRUNK.password);
        expect((await pbx.request(answerer, 'INVITE', { user: BUSINESS, ruriUser: NO_PERMISSION_USER, auth })).status).toBe(480);
        for (const t of targets) expect((await pbx.request(t, 'INVITE', { user: BUSINESS, ruriUser: NO_PERMISSION_USER, auth })).status, `replayed INVITE to ${t.host}:${t.port}`).toBe(401);
        const c2 = challengeOf(await pbx.request(challenger, 'INVITE', { user: BUSINESS, ruriUser: NO_PERMISSION_USER }));
        const wrong = digestAuthorization(c2, 'INVITE', `sip:${NO_PERMISSION_USER}@${challenger.host}:${challenger.port}`, TRUNK.username, 'not-the-password');
        expect((await pbx.request(answerer, 'INVITE', { user: BUSINESS, ruriUser: NO_PERMISSION_USER, auth: wrong })).status).toBe(403);
      } finally {
        pbx.close();
      }
      const replays = (await nonceCounts(h)).perEdge.reduce((s, e) => s + (e.replay ?? 0), 0);
      console.log(`[${name}] replays refused: ${replays} (2 REGISTER + 2 INVITE sent); wrong password: 403 for both`);
      expect(replays).toBe(4);
    }, 60_000);

    more?.(() => h);
  });
}

describeWithDrachtio('several edges: a digest challenge from one instance verifies on every other (issue 26)', () => {
  digestSuite(
    'two edges on one drachtio-server',
    async () => {
      const redis = await startRedis();
      const first = await startEdgeFixture(() => overrides(), { redis });
      const second = await startEdgeFixture(() => overrides(), { redis, sharedDrachtio: first.drachtio, telnyxPort: first.telnyxPort, pbxPorts: first });
      return { redis, edges: [first, second], telnyxPort: first.telnyxPort };
    },
    // One address: drachtio-server alternates between the edges by itself.
    (h) => {
      const t = { host: h.edges[0]!.drachtio.sipAddress, port: h.edges[0]!.drachtio.sipPort };
      return { challenger: t, answerer: t };
    },
    (hosts) => {
      it('one edge stopped (a deploy): the other takes every new call on the same drachtio-server', async () => {
        const h = hosts();
        await h.edges.pop()!.stop(); // drains and disconnects; the shared drachtio-server stays
        const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: h.telnyxPort, calls: 10, timeoutSec: 60 });
        await telnyx.ready;
        const r = await sipp({
          scenario: 'pbx_call_auth.xml', localAddress: addrs.pbx, remote: h.edges[0]!.sip, service: USER, calls: 10, rate: 5, limit: 1,
          vars: { hold: 100 }, extraArgs: ['-au', TRUNK.username, '-ap', TRUNK.password], timeoutSec: 60,
        }).done;
        if (r.code !== 0) telnyx.kill();
        await telnyx.done;
        expectAll(r, h, 10, 'INVITE');
        console.log('[one drachtio-server] after one edge stopped: 10/10 trunk calls connected through the other');
      }, 60_000);
    },
  );

  digestSuite(
    'two drachtio-servers, an edge on each, one Redis',
    async () => {
      const redis = await startRedis();
      const first = await startEdgeFixture(() => overrides(), { redis });
      const second = await startEdgeFixture(() => overrides(), { redis, drachtio: { sipAddress: SECOND_HOST }, telnyxPort: first.telnyxPort, pbxPorts: first });
      return { redis, edges: [first, second], telnyxPort: first.telnyxPort };
    },
    (h) => ({
      challenger: { host: h.edges[0]!.drachtio.sipAddress, port: h.edges[0]!.drachtio.sipPort },
      answerer: { host: h.edges[1]!.drachtio.sipAddress, port: h.edges[1]!.drachtio.sipPort },
    }),
    (hosts) => {
      it('a softphone registered through host A (UDP) is rung for a WhatsApp call that reaches host B', async () => {
        const h = hosts();
        await h.edges[0]!.edge.devices.clear(ALICE.user); // the REGISTER runs above left their contacts
        const port = await freeSipPort(addrs.softphone);
        const softphone = sipp({
          scenario: 'phone_register_wait.xml', localAddress: addrs.softphone, localPort: port, remote: h.edges[0]!.sip,
          vars: { ...ALICE, realm: REALM, expected_ruri: `sip:alice@${addrs.softphone}:${port};transport=UDP`, expected_from: USER }, timeoutSec: 30,
          extraArgs: ['-oocsf', scenarioPath('phone_ooc_answer.xml')],
        });
        await until(async () => (await h.edges[1]!.edge.devices.list(ALICE.user)).length > 0, 10_000, 'alice registered, as host B sees it', () => allLogs(h));
        const telnyx = await sipp({ scenario: 'telnyx_call.xml', localAddress: addrs.telnyx, remote: h.edges[1]!.sip, service: BUSINESS, vars: { hold: 300 }, timeoutSec: 20 }).done;
        if (telnyx.code !== 0) softphone.kill();
        const phone = await softphone.done;
        if (telnyx.code !== 0 || phone.code !== 0) console.error(describeSipp(telnyx), describeSipp(phone), allLogs(h));
        expect(telnyx.code, describeSipp(telnyx)).toBe(0);
        expect(phone.code, describeSipp(phone)).toBe(0);
        for (const e of h.edges) await e.expectIdle(10_000);
      }, 60_000);
    },
  );
});

describeWithDrachtio('several edges with nothing configured: the digest key they share through Redis (issue 34)', () => {
  // The case issue 34 measured at REGISTER 0/6, softphone INVITE 0/4, trunk INVITE 0/4 with a key per process.
  digestSuite(
    'two edges on one drachtio-server, no sip.digestSecret',
    async () => {
      const redis = await startRedis();
      const first = await startEdgeFixture(() => overrides(null), { redis });
      const second = await startEdgeFixture(() => overrides(null), { redis, sharedDrachtio: first.drachtio, telnyxPort: first.telnyxPort, pbxPorts: first });
      const h = { redis, edges: [first, second], telnyxPort: first.telnyxPort };
      await until(async () => first.edge.router.digest.keySource === 'shared' && second.edge.router.digest.keySource === 'shared', 10_000, 'both edges read the shared key', () => allLogs(h));
      return h;
    },
    (h) => {
      const t = { host: h.edges[0]!.drachtio.sipAddress, port: h.edges[0]!.drachtio.sipPort };
      return { challenger: t, answerer: t };
    },
    (hosts) => {
      it('one key in Redis, created once; no start-up warning about sip.digestSecret', async () => {
        const h = hosts();
        const redis = h.edges[0]!.edge.redis;
        expect(await redis.exists(DIGEST_KEY)).toBe(1);
        expect(await redis.ttl(DIGEST_KEY), 'the key never expires').toBe(-1);
        for (const e of h.edges) expect(e.logs()).not.toMatch(/digestSecret is not set|its own key/);
      });
    },
  );
});

describeWithDrachtio('several edges on one drachtio-server with telnyx.register: each keeps its own registration (docs/scaling.md §1)', () => {
  let redis: RedisServer;
  const edges: EdgeFixture[] = [];
  afterAll(async () => {
    for (const e of [...edges].reverse()) await e.stop();
    await redis?.stop();
  });

  it('two registrations with the same contact (the server\'s address), each with its own Call-ID, each edge seeing only its own', async () => {
    redis = await startRedis();
    const registrarPort = await freeSipPort(addrs.telnyx);
    // Two SIPp calls: SIPp tells calls apart by Call-ID, so two means two registrations.
    const registrar = sipp({ scenario: 'telnyx_registrar_accept.xml', localAddress: addrs.telnyx, localPort: registrarPort, calls: 2, vars: { rounds: 1 }, timeoutSec: 30 });
    await registrar.ready;
    const telnyx = ({ telnyxPort }: { telnyxPort: number }) => ({
      telnyx: {
        dialDomain: 'sip.telnyx.com', outboundProxy: `sip:${addrs.telnyx}:${telnyxPort}`, sources: [`${addrs.telnyx}/32`],
        auth: { username: 'wasipedge01', password: 'correct-horse-battery' },
        register: { registrar: `sip:${addrs.telnyx}:${registrarPort}`, expires: 600 },
      },
    });
    edges.push(await startEdgeFixture(telnyx, { redis }));
    edges.push(await startEdgeFixture(telnyx, { redis, sharedDrachtio: edges[0]!.drachtio, telnyxPort: edges[0]!.telnyxPort, pbxPorts: edges[0]! }));
    await until(() => edges.every((e) => e.edge.registration.state === 'registered'), 20_000, 'both edges registered', () => edges.map((e) => e.logs()).join('\n'));
    const r = await registrar.done;
    expect(r.code, describeSipp(r)).toBe(0);
    const registers = messagesOf(r).filter((m) => /message received/.test(m) && /^REGISTER /m.test(m) && /^Authorization:/im.test(m));
    const callIds = new Set(registers.map((m) => /^Call-ID:\s*(.*)$/im.exec(m)?.[1]?.trim()));
    const contacts = new Set(registers.map((m) => /^Contact:\s*<([^>;]+)/im.exec(m)?.[1]?.replace(/^sips?:[^@]*@/, '')));
    console.log(`[telnyx.register on two edges] ${registers.length} registrations, Call-IDs ${callIds.size}, contacts ${[...contacts].join(', ')}`);
    expect(registers).toHaveLength(2);
    expect(callIds.size).toBe(2);
    expect([...contacts]).toEqual([edges[0]!.sip]);
  }, 60_000);
});

describeWithBaresip('several edges: baresip, a real softphone, registers and calls through two edges on one drachtio-server', () => {
  let redis: RedisServer;
  const edges: EdgeFixture[] = [];
  let phone: Baresip | undefined;
  afterAll(async () => {
    await phone?.stop();
    for (const e of [...edges].reverse()) await e.stop();
    await redis?.stop();
  });

  it('registers, then 3 of 3 calls to a WhatsApp user connect, whichever edge challenges and whichever verifies', async () => {
    redis = await startRedis();
    edges.push(await startEdgeFixture(() => overrides(), { redis }));
    edges.push(await startEdgeFixture(() => overrides(), { redis, sharedDrachtio: edges[0]!.drachtio, telnyxPort: edges[0]!.telnyxPort, pbxPorts: edges[0]! }));
    await edges[0]!.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    phone = await startBaresip({ address: addrs.softphone, edge: edges[0]!.sip, username: ALICE.user, password: ALICE.password });
    await phone.waitForRegistration();
    for (let i = 0; i < 3; i++) {
      const telnyx = sipp({ scenario: 'telnyx_uas_answer.xml', localAddress: addrs.telnyx, localPort: edges[0]!.telnyxPort, timeoutSec: 30 });
      await telnyx.ready;
      const before = phone.events.length;
      expect((await phone.command('dial', `sip:${USER}@${edges[0]!.sip}`)).ok).toBe(true);
      try {
        await phone.waitForEvent('CALL_ESTABLISHED', 15_000, (e) => phone!.events.indexOf(e) >= before);
      } catch (e) {
        telnyx.kill();
        throw new Error(`${(e as Error).message}\n${phone.logs().slice(-3000)}\n${allLogs({ redis, edges, telnyxPort: 0 })}`);
      }
      expect((await phone.command('hangup')).ok).toBe(true);
      await phone.waitForEvent('CALL_CLOSED', 15_000, (e) => phone!.events.indexOf(e) >= before);
      const t = await telnyx.done;
      expect(t.code, describeSipp(t)).toBe(0);
    }
    const verdicts = await nonceCounts({ redis, edges, telnyxPort: 0 });
    console.log(`[baresip on two edges] registered; 3/3 calls connected; digest verdicts per edge ${JSON.stringify(verdicts.perEdge)}`);
    for (const e of edges) await e.expectIdle(10_000);
  }, 90_000);
});
