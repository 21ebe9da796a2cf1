// Builds the running edge from a configuration: Redis state, drachtio connection, SIP routing,
// lease renewal, and (in main.ts) the HTTP surface. Also used by the end-to-end tests.
import type { Config, EngineSpawnConfig } from './config/schema.js';
import { systemClock, type Clock } from './domain/clock.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { CallState } from './state/calls.js';
import { PermissionState } from './state/permissions.js';
import { PermissionLookup } from './permissionLookup.js';
import { TelnyxCallingSwitch } from './telnyxCalling.js';
import { DeviceRegistry } from './state/devices.js';
import { createRedis, redisReady, type RedisClient } from './state/redis.js';
import { connectDrachtio, type DrachtioLink, type DrachtioTarget } from './sip/connection.js';
import { startLocalEngine, type LocalEngine } from './sip/localEngine.js';
import { TelnyxTls, telnyxTlsState } from './sip/telnyxTls.js';
import { LeaseKeeper } from './sip/leases.js';
import { OutboundAdmissions } from './sip/admission.js';
import { SipRouter } from './sip/router.js';
import { createSrf, type Srf } from './sip/srf.js';
import { TelnyxRegistration } from './sip/telnyxRegistration.js';
import type { CallSession } from './sip/callSession.js';
import type { SipDeps } from './sip/context.js';
import { MediaRelays } from './media/anchor.js';
import { engineContacts, type WebrtcConfig } from './sip/webrtc.js';
import { StateStore } from './state/store.js';
import { TenantStore } from './tenants/store.js';
import { TenantDirectory } from './tenants/directory.js';
import { TenantGate } from './tenants/gate.js';
import { fleetOf } from './tenants/fleet.js';

export interface Edge {
  /** The file's configuration merged with the tenants stored through the API (src/tenants/fleet.ts). */
  config: { current: Readonly<Config> };
  /** The stored tenants and their tokens, polled for changes (src/tenants/directory.ts). */
  tenants: TenantDirectory;
  tenantStore: TenantStore;
  logger: Logger;
  metrics: Metrics;
  redis: RedisClient;
  calls: CallState;
  permissions: PermissionState;
  /** Meta's call_permissions after a local no_permission (whatsapp.cloudApi.permissionLookup). */
  permissionLookup: PermissionLookup;
  /** Telnyx's calling switch of each number (telnyx.api), polled into Redis. */
  telnyxCalling: TelnyxCallingSwitch;
  devices: DeviceRegistry;
  srf: Srf;
  drachtio: DrachtioLink;
  /** Whether TLS to Telnyx is verified (/readyz telnyxTls); undefined until an external engine connects. */
  telnyxTls: TelnyxTls;
  /** The registration with Telnyx (`telnyx.register`); its state is undefined without one. */
  registration: TelnyxRegistration;
  router: SipRouter;
  leases: LeaseKeeper;
  sessions: Set<CallSession>;
  draining: { on: boolean };
  clock: Clock;
  /** With media.anchor: the rtpengines (set at start; a reload does not change them). */
  media?: MediaRelays;
  /** Swaps in a new configuration (SIGHUP); calls in progress keep going. */
  reload(next: Readonly<Config>): void;
  /** Stops admitting, waits up to `deadlineMs` for calls to end, unregisters from Telnyx, then closes everything. */
  shutdown(deadlineMs: number): Promise<void>;
}

export interface EdgeOptions {
  logger?: Logger;
  clock?: Clock;
  /** The local drachtio-server of `drachtio.spawn` (startEngine): the edge connects to it and stops it last. */
  engine?: LocalEngine;
  /** The Cloud API client's fetch (tests point it at a local stand-in by baseUrl; this replaces it). */
  fetch?: typeof fetch;
}

/** Starts the local drachtio-server of `drachtio.spawn`, supervised, its output in the edge's log. */
export async function startEngine(spawn: EngineSpawnConfig, logger: Logger, telnyxTls?: Config['telnyx']['tls'], webrtc?: WebrtcConfig): Promise<LocalEngine> {
  const log = logger.child({ component: 'drachtio-server' });
  // onEvent runs only after start-up, once `engine` is assigned.
  const engine: LocalEngine = await startLocalEngine({
    bin: spawn.bin,
    // The console's phone listens on the same engine (sip.webrtc).
    contacts: engineContacts(spawn.contacts, webrtc),
    adminPort: spawn.adminPort,
    externalIp: spawn.externalIp,
    tls: spawn.tls,
    // telnyx.tls: the engine verifies every outgoing TLS connection (Telnyx is the only TLS peer it dials).
    ...(telnyxTls?.verify ? { verifyOutgoing: { wildcard: telnyxTls.wildcard, ...(telnyxTls.caFile ? { caFile: telnyxTls.caFile } : {}) } } : {}),
    logLevel: spawn.logLevel,
    sofiaLogLevel: spawn.sofiaLogLevel,
    onLog: (level, text) => log[level](text),
    onEvent: (e) => {
      if (e.kind === 'exited') log.error({ code: e.code, signal: e.signal }, 'drachtio-server exited; restarting it');
      else if (e.kind === 'restarting') log.info({ inMs: e.inMs, attempt: e.attempt }, 'drachtio-server restart scheduled');
      else if (e.kind === 'restarted') log.info({ attempt: e.attempt, pid: engine.pid }, 'drachtio-server restarted');
      else log.error({ attempt: e.attempt, error: e.error }, 'drachtio-server restart failed');
    },
  });
  return engine;
}

function drachtioTarget(cfg: Config['drachtio'], engine: LocalEngine | undefined): DrachtioTarget {
  if (engine) return { host: engine.adminHost, port: engine.adminPort, secret: engine.secret };
  if ('spawn' in cfg) throw new Error('drachtio.spawn is set but no local engine was started (startEngine)');
  return cfg;
}

export function startEdge(initial: Readonly<Config>, opts: EdgeOptions = {}): Edge {
  const config = { current: initial };
  const logger = opts.logger ?? createLogger(initial.log.level);
  const clock = opts.clock ?? systemClock;
  if (initial.sip.webrtc && !initial.media.anchor) {
    logger.warn({ webrtc: initial.sip.webrtc.contact }, 'sip.webrtc is set without media.anchor: browser calls are refused 503 media_unavailable (a browser needs ICE and DTLS-SRTP, which only rtpengine provides here)');
  }
  const metrics = createMetrics();
  const telnyxTls = new TelnyxTls(() => config.current.telnyx, initial.telnyx.tls.verify, logger, metrics);
  // A local engine's version is known now; an external one's on connect (below), unless it does not matter.
  if (opts.engine) telnyxTls.update(opts.engine.version);
  else if (telnyxTlsState(initial.telnyx, initial.telnyx.tls.verify, undefined) !== 'not_verified') telnyxTls.update(undefined);
  const redis = createRedis(initial.redis);
  redis.on('error', (err: Error) => {
    metrics.redisErrorsTotal.inc();
    logger.warn({ err }, 'Redis connection error');
  });
  redis.on('ready', () => logger.info('Redis ready'));
  const store = new StateStore(redis, () => config.current, clock, (e) => {
    metrics.ofNumber(config.current, e.number).permissionEventsTotal.inc({ event: e.event });
    logger.info({ permissionEvent: e }, `permission ${e.event}`);
  }, (writes, script, acknowledged) => {
    const { waitReplicas, waitReplicasTimeoutMs } = config.current.redis;
    logger.warn({ writes, script, acknowledged, waitReplicas, waitReplicasTimeoutMs }, 'writes acknowledged by fewer replicas than redis.waitReplicas: a master crash now could lose them');
  });
  const calls = new CallState(store);
  const permissions = new PermissionState(store);
  const devices = new DeviceRegistry(store);
  const leases = new LeaseKeeper(calls, () => config.current.whatsapp.leaseSeconds, logger, metrics);
  leases.start();
  const srf = createSrf();
  const sessions = new Set<CallSession>();
  const draining = { on: false };
  const media = initial.media.anchor ? new MediaRelays(initial.media.anchor, logger, metrics, clock) : undefined;
  void media?.start();
  const permissionLookup = new PermissionLookup({ config: () => config.current, calls, permissions, metrics, logger, clock, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  const telnyxCalling = new TelnyxCallingSwitch({ config: () => config.current, permissions, metrics, logger, clock, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  telnyxCalling.start();
  const admissions = new OutboundAdmissions({ calls, failoverWaitMs: () => config.current.redis.failoverWaitMs, metrics, logger });
  const tenantGate = new TenantGate(store, () => config.current, logger, metrics);
  tenantGate.start();
  const deps: SipDeps = { srf, config: () => config.current, calls, admissions, devices, leases, metrics, logger, clock, sessions, draining: () => draining.on, media, permissionLookup, tenantGate };
  const router = new SipRouter(deps);
  router.attach();
  const tenantStore = new TenantStore(store);
  const tenants = new TenantDirectory(initial, {
    store: tenantStore,
    logger,
    pollMs: () => initial.tenants.pollMs,
    apply: (merged) => {
      config.current = merged;
      metrics.tenants.keep(fleetOf(merged).tenants.keys());
      router.reload();
    },
  });
  // The first read once Redis is up (a read on a connecting client fails at once: no offline queue).
  void redisReady(redis, 10_000)
    .catch(() => undefined)
    .then(() => tenants.start());
  // Every instance reads the deployment's digest key at start (src/state/digestKey.ts); a reconnect
  // after a failed read tries again.
  redis.on('ready', () => {
    void router.digest.prepare().then((source) => logger.info({ digestKey: source }, 'digest nonces: key ready'));
  });
  const drachtio = connectDrachtio(srf, drachtioTarget(initial.drachtio, opts.engine), logger, metrics);
  drachtio.onChange((up) => {
    if (up) telnyxTls.update(drachtio.serverVersion);
  });
  const registration = new TelnyxRegistration({ srf, config: () => config.current, drachtio, logger, metrics });
  registration.start();

  return {
    config,
    tenants,
    tenantStore,
    logger,
    metrics,
    redis,
    calls,
    permissions,
    permissionLookup,
    telnyxCalling,
    devices,
    srf,
    drachtio,
    telnyxTls,
    registration,
    router,
    leases,
    sessions,
    draining,
    clock,
    media,
    reload(next) {
      tenants.setFile(next);
      if (telnyxTls.state !== undefined) telnyxTls.update(drachtio.serverVersion ?? opts.engine?.version);
      void registration.reload();
      void telnyxCalling.poll();
      logger.info({ trunks: next.trunks.length, numbers: next.numbers.length }, 'configuration reloaded');
    },
    async shutdown(deadlineMs) {
      draining.on = true;
      logger.info({ activeCalls: sessions.size, deadlineMs }, 'draining: refusing new calls');
      const deadline = Date.now() + deadlineMs;
      while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (sessions.size > 0) {
        logger.warn({ activeCalls: sessions.size }, 'drain deadline reached: ending remaining calls');
        for (const s of [...sessions]) s.close('ended', 200, 'shutdown');
        const settleDeadline = Date.now() + 5000;
        while (sessions.size > 0 && Date.now() < settleDeadline) await new Promise((r) => setTimeout(r, 100));
      }
      // After the drain: calls still up needed the contact until they ended.
      await registration.stop();
      leases.stop();
      tenantGate.stop();
      tenants.stop();
      telnyxCalling.stop();
      media?.stop();
      drachtio.close();
      await opts.engine?.stop();
      store.disconnect();
      redis.disconnect();
    },
  };
}
