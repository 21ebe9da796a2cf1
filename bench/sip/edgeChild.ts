// bench/sip/edgeChild.ts: the edge (src/app.ts startEdge) in a process of its own, forked by the
// SIP benchmarks so its CPU time and memory are its own and can be read (and profiled with
// --cpu-prof). The configuration is test/helpers/config.ts's base with the overrides in the
// JSON of $BENCH_EDGE_CONFIG; the log level is $BENCH_LOG_LEVEL (default warn) to stderr.
import { startEdge } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { redisReady } from '../../src/state/redis.js';
import { testConfig } from '../../test/helpers/config.js';
import { installIpc } from './ipc.js';

const overrides = JSON.parse(process.env.BENCH_EDGE_CONFIG ?? '{}') as Record<string, unknown>;
const config = testConfig(overrides);
const edge = startEdge(config, { logger: createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn', process.stderr) });
// BENCH_EDGE_WITHOUT_STATE=1 (callRate --edge-without-state): a diagnostic, never a verdict. The
// admission admits, the settles apply and the call record goes nowhere, without a Redis round trip,
// so that the edge's CPU per call splits into its state (three round trips and four commands) and
// everything else (policy, numbers, SDP, session, metrics).
if (process.env.BENCH_EDGE_WITHOUT_STATE === '1') {
  edge.calls.admitOutbound = async () => ({ admitted: true });
  edge.calls.settle = async () => ({ status: 'applied', consecutiveUnanswered: 0 });
  (edge.redis as unknown as { xadd: () => Promise<string> }).xadd = async () => '0-0';
}
let redisUp = false;
redisReady(edge.redis, 10_000).then(
  () => (redisUp = true),
  (err: Error) => {
    console.error(`edgeChild: ${err.message}`);
    process.exit(1);
  },
);

/**
 * Diagnostic: sessions still open although one of their dialogs is already gone (drachtio-srf
 * sets dialog.connected = false when a BYE arrives). Reads CallSession's private leg list.
 */
function deadLegSessions(): number {
  let n = 0;
  for (const s of edge.sessions) {
    const legs = (s as unknown as { dialogs: { connected?: boolean }[] }).dialogs;
    if (legs.some((d) => d.connected === false)) n++;
  }
  return n;
}

installIpc({
  ready: () => redisUp && edge.drachtio.connected,
  activeCalls: () => edge.sessions.size,
  extra: () => ({ leases: edge.leases.size, deadLegSessions: deadLegSessions() }),
  stop: () => edge.shutdown(0),
});
