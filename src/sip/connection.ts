// The drachtio-server control connection: connect with capped back-off, ping, and a
// `connected` flag that readiness and metrics read. Every connect/disconnect is logged.
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Srf } from './srf.js';

/** Where drachtio-server's control port is: from the config, or from the local engine. */
export interface DrachtioTarget {
  host: string;
  port: number;
  secret: string;
}

export interface DrachtioLink {
  readonly connected: boolean;
  /** The SIP endpoints drachtio-server reported on the last connect (`udp/203.0.113.7:5060,tls/…`, its external-ip when set). */
  readonly hostports: string | undefined;
  /** Called after every (re)connect and every loss of the connection: the Telnyx registration follows them. */
  onChange(fn: (connected: boolean) => void): void;
  close(): void;
}

export function connectDrachtio(srf: Srf, cfg: DrachtioTarget, logger: Logger, metrics: Metrics): DrachtioLink {
  const state = { connected: false, closing: false, hostports: undefined as string | undefined };
  const listeners: ((connected: boolean) => void)[] = [];
  const log = logger.child({ component: 'drachtio', host: cfg.host, port: cfg.port });
  const down = (why: string, err?: Error) => {
    const was = state.connected;
    if (was) log.warn({ err }, `drachtio disconnected: ${why}`);
    state.connected = false;
    metrics.drachtioConnected.set(0);
    if (was) for (const fn of listeners) fn(false);
  };
  srf.on('connect', (err: Error | null, hostport: string, serverVersion?: string) => {
    if (err) {
      log.error({ err }, 'drachtio refused the connection (check drachtio.secret)');
      return;
    }
    state.connected = true;
    state.hostports = hostport;
    metrics.drachtioConnected.set(1);
    log.info({ sip: hostport, serverVersion }, 'drachtio connected');
    for (const fn of listeners) fn(true);
  });
  // Without an 'error' listener an unreachable drachtio-server would crash the process.
  srf.on('error', (err?: Error) => {
    if (state.connected || !state.closing) log.debug({ err }, 'drachtio connection error');
    down('error', err);
  });
  srf.on('close', () => down('closed'));
  srf.on('reconnecting', () => log.debug('drachtio reconnecting'));
  srf.connect({
    host: cfg.host,
    port: cfg.port,
    secret: cfg.secret,
    reconnect: { retryMaxDelay: 5000 },
    enablePing: true,
    pingInterval: 10_000,
  });
  return {
    get connected() {
      return state.connected;
    },
    get hostports() {
      return state.hostports;
    },
    onChange(fn) {
      listeners.push(fn);
    },
    close() {
      state.closing = true;
      // drachtio-srf asserts on disconnect() without a socket: only a live connection is closed.
      if (state.connected) srf.disconnect();
      down('closing');
    },
  };
}
