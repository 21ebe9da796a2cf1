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
  close(): void;
}

export function connectDrachtio(srf: Srf, cfg: DrachtioTarget, logger: Logger, metrics: Metrics): DrachtioLink {
  const state = { connected: false, closing: false };
  const log = logger.child({ component: 'drachtio', host: cfg.host, port: cfg.port });
  const down = (why: string, err?: Error) => {
    if (state.connected) log.warn({ err }, `drachtio disconnected: ${why}`);
    state.connected = false;
    metrics.drachtioConnected.set(0);
  };
  srf.on('connect', (err: Error | null, hostport: string, serverVersion?: string) => {
    if (err) {
      log.error({ err }, 'drachtio refused the connection (check drachtio.secret)');
      return;
    }
    state.connected = true;
    metrics.drachtioConnected.set(1);
    log.info({ sip: hostport, serverVersion }, 'drachtio connected');
  });
  // Without an 'error' listener an unreachable drachtio-server would crash the process.
  srf.on('error', (err?: Error) => {
    if (state.connected || !state.closing) log.debug({ err: err?.message }, 'drachtio connection error');
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
    close() {
      state.closing = true;
      // drachtio-srf asserts on disconnect() without a socket: only a live connection is closed.
      if (state.connected) srf.disconnect();
      down('closing');
    },
  };
}
