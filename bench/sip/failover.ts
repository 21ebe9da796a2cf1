// bench/sip/failover: the issue #26 measurement over SIP. A PBX (SIPp) places connected calls at a
// steady rate through the edge (compiled, as in production) while the master of a real Redis
// Sentinel (master, replica, three sentinels) or Cluster (3 masters with replicas,
// cluster-node-timeout 1000) is killed with kill -9. Prints the calls that failed at the PBX, the
// INVITE → 200 time, calls per bucket (SIPp's ResponseTimeRepartition), and what Redis holds afterwards.
//   npx tsx bench/sip/failover.ts [--rate 50] [--seconds 10] [--kill-after 3] [--topology sentinel|cluster]
import {
  addrs, edgeConfig, freeSipPort, grantPermanent, numArg, runSipp, sleep, startApp, startInfra, strArg, users, writeUsersCsv,
} from './lib.js';
import { startCluster, startSentinel } from '../../test/helpers/redisTopology.js';
import { stateFixture } from '../../test/helpers/state.js';
import { BUSINESS } from '../../test/helpers/config.js';
import { numberKeys } from '../../src/state/keys.js';

const rate = numArg('rate', 50);
const seconds = numArg('seconds', 10);
const killAfter = numArg('kill-after', 3);
const topology = strArg('topology', 'sentinel');
const calls = Math.round(rate * seconds);

const infra = await startInfra();
const topo = topology === 'cluster' ? await startCluster() : await startSentinel();
const redis = 'sentinels' in topo ? { sentinels: topo.sentinels, name: topo.name } : { cluster: topo.nodes };
const whatsapp = { maxConcurrentCalls: 100_000, connectedCallsPer24h: { perNumber: null, perUser: null }, callAttemptsPer24h: null };
const state = await stateFixture('redis://unused', { redis, whatsapp });
state.clock.now = Date.now();
let app: Awaited<ReturnType<typeof startApp>> | undefined;
try {
  const telnyxPort = await freeSipPort(addrs.telnyx);
  app = await startApp('edge', { infra, telnyxPort, edge: { ...edgeConfig(infra, telnyxPort, whatsapp), redis: { ...redis, failoverWaitMs: 5000 } } });
  const list = users('447933', calls);
  await grantPermanent(state, list);
  const csv = writeUsersCsv(infra.tmp, 'users.csv', list);
  const uas = runSipp({ scenario: 'uas_answer.xml', local: addrs.telnyx, port: telnyxPort, calls, timeoutSec: seconds + 60 });
  await uas.ready;
  const k = numberKeys(BUSINESS);
  const oldMaster = 'sentinels' in topo ? await topo.masterPort() : await topo.masterFor(k.active);
  const uac = runSipp({
    scenario: 'uac_call.xml', local: addrs.pbx, remote: infra.drachtio.sipHostPort, calls, rate, limit: 20_000, inf: csv,
    vars: { hold: 500 }, recvTimeoutMs: 30_000, timeoutSec: seconds + 60,
  });
  await sleep(killAfter * 1000);
  const killedAt = 'sentinels' in topo ? await topo.killMaster() : await topo.killNode(oldMaster);
  const promotedAt = await ('sentinels' in topo ? topo.promoted(oldMaster) : topo.promoted(k.active, oldMaster));
  const r = await uac.done;
  const t = setTimeout(() => uas.kill(), 5000);
  await uas.done;
  clearTimeout(t);
  const left = await app.idle(10_000);
  await sleep(1000); // releases by id land in the background
  const leftover = { active: await state.redis.zcard(k.active), userLocks: await state.redis.hlen(k.activeUser), inflight: await state.redis.zcard(k.inflight) };
  console.log(`bench/sip/failover  ${topology}  rate=${rate}/s calls=${calls} kill -9 at ${killAfter} s, new master after ${promotedAt - killedAt} ms, redis.failoverWaitMs 5000`);
  console.log(`  PBX: successful ${r.stats?.successful} failed ${r.stats?.failed} (sipp exit ${r.code})${r.errors ? `\n  errors: ${r.errors.slice(0, 600)}` : ''}`);
  console.log(`  INVITE → 200, calls per bucket (ms): ${JSON.stringify(r.stats?.repartition1)}  mean ${r.stats?.responseTime1Ms} ms`);
  console.log(`  edge calls left ${left}; Redis afterwards: ${JSON.stringify(leftover)}`);
} finally {
  await app?.stop();
  await state.close();
  await topo.stop();
  await infra.stop();
}
