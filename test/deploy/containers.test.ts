// The shipped containers, built and booted (issue #33): podman (scripts/podman-setup.sh), the
// stand-in base images (scripts/podman-base-images.sh: no registry is reached), the three images
// from the repository, docker-compose.yml with the quick start's .env, then calls through the
// PUBLISHED PORTS ONLY from a "PBX" and a "Telnyx" (SIPp) that live in network namespaces of
// their own (podman containers on a test network, 10.89.250.0/24, whose gateway 10.89.250.1 is
// this host's address there and plays its public IP), and the scale example with two edges.
// Grafana is left out of the boot: Debian has no Grafana and npm no server build of it, so no
// honest stand-in for grafana/grafana can be made here (scripts/podman-base-images.sh).
// With CI set, a missing podman, docker-compose or SIPp fails this file instead of skipping it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeSipPort } from '../helpers/drachtio.js';
import { mediaScenarios } from '../helpers/rtpengine.js';
import { describeSipp, sipp, type SippResult } from '../helpers/sipp.js';
import { until } from '../helpers/until.js';
import { ComposeProject, mustRun, Peers, placeDrachtioSource, runCmd, startHealthcheckTicker, startPodmanService, stopTicker, writeEnvFile } from './podman.js';
import { CI, quickStartEnv, tool } from './tools.js';

const podman = tool('podman', 'podman (scripts/podman-setup.sh)');
const compose = tool('docker-compose', 'docker-compose (scripts/podman-setup.sh)');
const sippTool = tool('sipp', 'sip-tester');
const nsenter = tool('nsenter', 'util-linux');
const missing = [podman, compose, sippTool, nsenter].filter((t) => !t.path);
if (CI && missing.length > 0) {
  describe('the shipped containers', () => {
    it('have their tools (CI installs them: scripts/podman-setup.sh)', () => {
      throw new Error(`missing: ${missing.map((t) => `${t.name} (${t.pkg})`).join(', ')}`);
    });
  });
}
const describeBoot = missing.length > 0 ? describe.skip : describe;

const PROJECT = 'wa-sip-edge-ct';
const NET = 'wa-sip-edge-ct-peers';
const SUBNET = '10.89.250.0/24';
/** This host on the peers' network: the "public IP" SIP is published on and advertised. */
const PUBLIC = '10.89.250.1';
const PBX = '10.89.250.10';
const TELNYX = '10.89.250.20';
const SIP = `${PUBLIC}:5060`;
const BUSINESS = '+447418613982';
const USER = '+447911123456';
const PBX_TRUNK_PASSWORD = 'trunk-password-for-the-container-test';
const ADMIN = 'container-test-admin-token-0123';
const timings: Record<string, number> = {};

/** The quick start's .env: .env.example with its Required values, plus the peers' addresses. */
function stackEnv(httpPort: number, promPort: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...quickStartEnv(),
    WA_EDGE_ADMIN_TOKEN: ADMIN,
    PBX_TRUNK_PASSWORD,
    SIP_PUBLIC_IP: PUBLIC,
    // What the edge sees of the PBX, through podman's published ports: its own address, on UDP
    // and on TCP alike (checked below). Telnyx likewise.
    PBX_SOURCE_CIDR: `${PBX}/32`,
    PBX_INBOUND_URI: `sip:100@${PBX}:5060`,
    TELNYX_SOURCES: `${TELNYX}/32`,
    // The stand-in Telnyx: SIPp on UDP instead of sip.telnyx.com over TLS.
    TELNYX_OUTBOUND_PROXY: `sip:${TELNYX}:5060`,
    // Published on this host's address on the peers' network only, and HTTP on free ports, so
    // nothing else on the machine (other tests' drachtio on 127.0.0.1:5060) is in the way.
    SIP_BIND_ADDRESS: PUBLIC,
    EDGE_HTTP_PUBLISH: `127.0.0.1:${httpPort}`,
    PROMETHEUS_PUBLISH: `127.0.0.1:${promPort}`,
    ...extra,
  };
}

async function http(port: number, path: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text() };
}

describeBoot('the shipped containers under podman (docker-compose.yml as the quick start boots it)', { timeout: 150_000 }, () => {
  let service: Awaited<ReturnType<typeof startPodmanService>>;
  let ticker: ReturnType<typeof startHealthcheckTicker>;
  let peers: Peers;
  let stack: ComposeProject;
  let env: ReturnType<typeof writeEnvFile>;
  let removeSource = () => {};
  let httpPort = 0;
  let promPort = 0;
  let media: ReturnType<typeof mediaScenarios>;

  const peer = (name: 'pbx' | 'telnyx', opts: Omit<Parameters<typeof sipp>[0], 'localAddress' | 'netnsPid'> & { localPort?: number }) =>
    sipp({ localPort: 5060, ...opts, localAddress: name === 'pbx' ? PBX : TELNYX, netnsPid: peers.pid(name) });

  /** A WhatsApp user's call: "Telnyx" calls the business number, the edge rings the PBX. */
  async function userCallsIn(hold = 1000): Promise<{ telnyx: SippResult; pbx: SippResult }> {
    const pbx = peer('pbx', { scenario: 'pbx_uas_answer.xml', vars: { expected_ruri: `sip:100@${PBX}:5060`, expected_from: USER } });
    await pbx.ready;
    const telnyx = await peer('telnyx', { scenario: 'telnyx_call.xml', remote: SIP, localPort: 5070, vars: { business: BUSINESS, user: USER, hold } }).done;
    if (telnyx.code !== 0) pbx.kill();
    return { telnyx, pbx: await pbx.done };
  }

  /** The PBX calls a WhatsApp user (digest-authenticated trunk), "Telnyx" answers. */
  async function pbxCallsOut(transport: 'u1' | 't1' = 'u1', remote = SIP): Promise<{ pbx: SippResult; telnyx: SippResult }> {
    const telnyx = peer('telnyx', { scenario: 'telnyx_uas_answer.xml', vars: { expected_from: BUSINESS } });
    await telnyx.ready;
    const pbx = await peer('pbx', { scenario: 'pbx_call_auth.xml', remote, localPort: 5072, transport, service: USER, extraArgs: ['-au', 'pbx', '-ap', PBX_TRUNK_PASSWORD] }).done;
    if (pbx.code !== 0) telnyx.kill();
    return { pbx, telnyx: await telnyx.done };
  }

  const ok = (r: SippResult, logs = '') => expect(r.code, `${describeSipp(r)}\n--- stack logs\n${logs.slice(-4000)}`).toBe(0);

  beforeAll(async () => {
    const t0 = Date.now();
    await mustRun('bash', ['scripts/podman-base-images.sh'], { timeoutMs: 20 * 60_000 });
    timings.baseImages = Date.now() - t0;
    removeSource = placeDrachtioSource();
    service = await startPodmanService();
    peers = await Peers.start(NET, SUBNET, PUBLIC, { pbx: PBX, telnyx: TELNYX });
    httpPort = await freeSipPort('127.0.0.1'); // free for TCP (and UDP)
    do promPort = await freeSipPort('127.0.0.1');
    while (promPort === httpPort);
    env = writeEnvFile(stackEnv(httpPort, promPort));
    stack = new ComposeProject(PROJECT, env.path, service.dockerHost);
    await stack.run(['down', '-v', '--remove-orphans'], 180_000);
    ticker = startHealthcheckTicker(PROJECT);

    const t1 = Date.now();
    await stack.must(['build', 'drachtio', 'edge'], 45 * 60_000);
    await stack.must(['--profile', 'media', 'build', 'rtpengine'], 15 * 60_000);
    timings.imageBuilds = Date.now() - t1;
    const t2 = Date.now();
    // Everything but Grafana (no stand-in) and the media profile.
    await stack.must(['up', '-d', 'drachtio', 'redis', 'edge', 'prometheus'], 10 * 60_000);
    await until(async () => (await stack.health('edge')) === 'healthy', 120_000, 'the edge healthy', () => '', 1000);
    timings.boot = Date.now() - t2;

    media = mediaScenarios();
  }, 80 * 60_000);

  afterAll(async () => {
    console.log(`containers.test timings (s): ${Object.entries(timings).map(([k, v]) => `${k} ${Math.round(v / 1000)}`).join(', ')}`);
    if (stack) {
      // edge-2 of the scale example goes as an orphan (down with the base file alone).
      await stack.run(['--profile', 'media', 'down', '-v', '--remove-orphans'], 180_000);
    }
    stopTicker(ticker);
    await peers?.stop();
    await service?.stop();
    env?.remove();
    removeSource();
    media?.remove();
  }, 300_000);

  it('edge runs as node (uid 1000) and its HEALTHCHECK passes; drachtio reports +tlsverify; no image was pulled', async () => {
    const edge = await stack.container('edge');
    expect((await mustRun('podman', ['exec', edge, 'id', '-un'])).out.trim()).toBe('node');
    expect((await mustRun('podman', ['exec', edge, 'id', '-u'])).out.trim()).toBe('1000');
    expect((await mustRun('podman', ['image', 'inspect', '--format', '{{.Config.User}}', 'wa-sip-edge:local'])).out.trim()).toBe('node');
    // The Dockerfile's own HEALTHCHECK (not compose's copy): run from the image's config.
    const hc = await mustRun('podman', ['image', 'inspect', '--format', '{{json .Config.Healthcheck.Test}}', 'wa-sip-edge:local']);
    expect(hc.out).toContain('/healthz');
    expect((await runCmd('podman', ['healthcheck', 'run', edge])).code).toBe(0);
    expect(await stack.health('edge')).toBe('healthy');
    expect(await stack.health('drachtio')).toBe('healthy');
    expect(await stack.health('redis')).toBe('healthy');
    const version = await mustRun('podman', ['run', '--rm', '--pull=never', '--entrypoint', 'drachtio', 'wa-sip-edge-drachtio:local', '--version']);
    expect(version.out).toMatch(/v0\.9\.10.*\+tlsverify\.\d+/);
    expect(await stack.logs('edge')).toMatch(/wa-sip-edge started/);
  });

  it('/readyz answers 200 through the published HTTP port', async () => {
    const r = await http(httpPort, '/readyz');
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ drachtio: 'up', redis: 'up' });
  });

  // The edge answers OPTIONS 200 only to a trunk's or Telnyx's source (403 unknown_source to any
  // other, options.xml): with PBX_SOURCE_CIDR the PBX's own address, a 200 on each transport is
  // the edge having seen that address through the published port.
  it('OPTIONS gets 200 on 5060/udp and 5060/tcp from the PBX: the edge sees the PBX by its own address on both', async () => {
    for (const transport of ['u1', 't1'] as const) {
      const r = await peer('pbx', { scenario: 'options.xml', remote: SIP, localPort: 5064, transport }).done;
      ok(r, await stack.logs('edge'));
    }
  });

  it('a WhatsApp user calls in: Telnyx matched by its address, the PBX rings and answers; the call grants the 7-day permission', async () => {
    const { telnyx, pbx } = await userCallsIn();
    ok(telnyx, await stack.logs('edge'));
    ok(pbx);
    const view = await http(httpPort, `/v1/numbers/${encodeURIComponent(BUSINESS)}/users/${encodeURIComponent(USER)}`, ADMIN);
    expect(view.status, view.text).toBe(200);
    expect(JSON.parse(view.text).permission).toMatchObject({ kind: 'temporary' });
  });

  it('the PBX places a business-initiated call through drachtio and the edge to Telnyx, over UDP and over TCP', async () => {
    for (const transport of ['u1', 't1'] as const) {
      const { pbx, telnyx } = await pbxCallsOut(transport);
      ok(pbx, await stack.logs('edge'));
      ok(telnyx);
    }
  });

  it('the console is served over HTTP', async () => {
    const r = await http(httpPort, '/console');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/<html/i);
  });

  it('`docker-compose restart redis` keeps the granted permission (append-only volume)', async () => {
    await stack.must(['restart', 'redis'], 120_000);
    await until(async () => (await http(httpPort, '/readyz')).status === 200, 60_000, 'readyz 200 after the restart', () => '', 500);
    const view = await http(httpPort, `/v1/numbers/${encodeURIComponent(BUSINESS)}/users/${encodeURIComponent(USER)}`, ADMIN);
    expect(JSON.parse(view.text).permission).toMatchObject({ kind: 'temporary' });
    const { pbx, telnyx } = await pbxCallsOut();
    ok(pbx, await stack.logs('edge'));
    ok(telnyx);
  });

  it('`docker-compose stop edge` drains: a new call gets 503 draining, the call in progress ends, the edge exits inside stop_grace_period (45 s)', async () => {
    const pbx = peer('pbx', { scenario: 'pbx_uas_answer.xml', timeoutSec: 60 });
    await pbx.ready;
    const held = peer('telnyx', { scenario: 'telnyx_call.xml', remote: SIP, localPort: 5070, timeoutSec: 60, vars: { business: BUSINESS, user: USER, hold: 12_000 } });
    await new Promise((r) => setTimeout(r, 3000)); // the held call is up (12 s of it left)
    const started = Date.now();
    const stopping = stack.run(['stop', 'edge'], 120_000);
    // docker-compose takes a moment to send SIGTERM: the new call goes once the edge says it drains.
    const edgeId = await stack.container('edge');
    await until(async () => (await runCmd('podman', ['logs', edgeId])).out.includes('draining: refusing new calls'), 20_000, 'the edge draining', () => '', 200);
    const refused = await peer('telnyx', {
      scenario: 'pbx_call_expect_reject.xml',
      remote: SIP,
      localPort: 5074,
      service: BUSINESS,
      vars: { from: USER, code: 503, reason: 'draining', retry_after: 'yes' },
    }).done;
    ok(refused, await stack.logs('edge'));
    const stopped = await stopping;
    const stopMs = Date.now() - started;
    expect(stopped.code, stopped.out).toBe(0);
    ok(await held.done);
    ok(await pbx.done);
    expect(stopMs).toBeGreaterThan(5000); // it waited for the call
    expect(stopMs).toBeLessThan(45_000);
    const state = await mustRun('podman', ['inspect', '--format', '{{.State.ExitCode}}', await stack.container('edge')]);
    expect(state.out.trim()).toBe('0'); // a clean exit, not podman's SIGKILL at the grace period
    await stack.must(['start', 'edge']);
    await until(async () => (await http(httpPort, '/readyz').catch(() => ({ status: 0 }))).status === 200, 120_000, 'readyz after start', () => '', 1000);
  }, 180_000);

  it('the media profile: rtpengine starts on the host network and relays a call\'s RTP both ways', async () => {
    const mediaEnv = writeEnvFile(
      stackEnv(httpPort, promPort, { WA_EDGE_MEDIA: 'true', RTP_INTERFACE: PUBLIC, RTPENGINE_NG_LISTEN: `${PUBLIC}:22222`, HOST_GATEWAY: PUBLIC, RTP_PORT_MIN: '31000', RTP_PORT_MAX: '31999' }),
    );
    const mediaStack = new ComposeProject(PROJECT, mediaEnv.path, service.dockerHost);
    try {
      await mediaStack.must(['--profile', 'media', 'up', '-d', 'rtpengine', 'edge'], 10 * 60_000);
      await until(async () => (await http(httpPort, '/readyz').catch(() => ({ status: 0, text: '' }))).text.includes('"rtpengine":"up"'), 120_000, 'rtpengine up in /readyz', () => '', 1000);
      // A WhatsApp user's call (Telnyx to the PBX: no digest on that side), audio both ways.
      const callee = peer('pbx', { scenario: media.answerer, extraArgs: ['-mi', PBX, '-mp', '40000'] });
      await callee.ready;
      const caller = await peer('telnyx', {
        scenario: media.caller,
        remote: SIP,
        localPort: 5070,
        service: BUSINESS,
        vars: { from: USER, hold: 3000 },
        extraArgs: ['-mi', TELNYX, '-mp', '40000'],
      }).done;
      if (caller.code !== 0) callee.kill();
      ok(caller, (await mediaStack.logs('rtpengine')) + (await mediaStack.logs('edge')));
      ok(await callee.done);
      await until(async () => (await http(httpPort, '/v1/calls?limit=1', ADMIN)).text.includes('"media":"anchored"'), 20_000, 'the anchored record', () => '', 500);
      const [record] = JSON.parse((await http(httpPort, '/v1/calls?limit=1', ADMIN)).text).calls;
      expect(record.rtpPacketsFromPbx).toBeGreaterThan(50);
      expect(record.rtpPacketsFromTelnyx).toBeGreaterThan(50);
    } finally {
      // Back to the quick start's stack (media off) for what follows.
      await mediaStack.run(['--profile', 'media', 'stop', 'rtpengine']);
      await stack.must(['up', '-d', 'edge'], 10 * 60_000);
      mediaEnv.remove();
    }
  }, 15 * 60_000);

  it('docker/examples/docker-compose.scale.yml with nothing added to .env: two edges on one drachtio share the digest key through Redis; a challenge from one is answered to the other', async () => {
    const scaleEnv = writeEnvFile(stackEnv(httpPort, promPort));
    const scaled = new ComposeProject(PROJECT, scaleEnv.path, service.dockerHost, ['docker-compose.yml', 'docker/examples/docker-compose.scale.yml']);
    try {
      await scaled.must(['up', '-d', 'drachtio', 'redis', 'edge', 'edge-2', 'prometheus'], 10 * 60_000);
      await until(async () => (await scaled.health('edge')) === 'healthy' && (await scaled.health('edge-2')) === 'healthy', 180_000, 'both edges healthy', () => '', 1000);
      expect((await http(8081, '/readyz')).status).toBe(200);
      for (const s of ['edge', 'edge-2']) expect(await scaled.logs(s), s).toMatch(/"digestKey":"shared"/);
      const calls = 6;
      for (let i = 0; i < calls; i++) {
        const { pbx, telnyx } = await pbxCallsOut();
        ok(pbx, (await scaled.logs('edge')) + (await scaled.logs('edge-2')));
        ok(telnyx);
      }
      // drachtio-server hands new INVITEs to the two edges strictly in turn, so each call's first
      // INVITE (challenged) and its retry (verified, bridged) reach different edges: every call
      // crossed edges with its digest. The calls connected, counted over both edges, are all of them.
      const connected = async (port: number) => {
        const m = /^wa_edge_calls_total\{direction="outbound",outcome="connected",tenant="default"\} (\d+)/m.exec((await http(port, '/metrics')).text);
        return Number(m?.[1] ?? 0);
      };
      await until(async () => (await connected(httpPort)) + (await connected(8081)) === calls, 10_000, `${calls} connected calls counted over both edges`, () => '', 500);
      expect((await connected(httpPort)) + (await connected(8081))).toBe(calls);
    } finally {
      scaleEnv.remove();
    }
  }, 15 * 60_000);
});
