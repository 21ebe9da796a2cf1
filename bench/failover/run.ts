// Redis failover under load: `kill -9` of the master of a real Sentinel (master, replica, three
// sentinels) and of a real Cluster (3 masters with replicas, cluster-node-timeout 1000) while
// outbound admissions run at a steady rate; prints refused calls, the added setup time of the
// calls that waited, what Redis holds afterwards (phantoms) and what the crash lost.
//   npx tsx bench/failover/run.ts [--rate 50] [--seconds 10] [--kill-after 3] [--wait-ms 5000]
//                                  [--only sentinel|cluster] [--wait-replicas 0,1] [--grant-writers N]
// --grant-writers N: besides the calls, N loops granting permissions back to back until the kill:
// the acknowledged grants the crash lost are the `lost.grants` figure.
import { parseArgs } from 'node:util';
import { runFailoverLoad } from '../../test/helpers/failoverLoad.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    'kill-after': { type: 'string', default: '3' },
    'wait-ms': { type: 'string', default: '5000' },
    only: { type: 'string' },
    'wait-replicas': { type: 'string', default: '0' },
    'grant-writers': { type: 'string', default: '0' },
  },
});

const topologies = values.only ? [values.only as 'sentinel' | 'cluster'] : (['sentinel', 'cluster'] as const);
for (const topology of topologies) {
  for (const waitReplicas of values['wait-replicas'].split(',').map(Number)) {
    const r = await runFailoverLoad({
      topology,
      rate: Number(values.rate),
      killAfterMs: Number(values['kill-after']) * 1000,
      totalMs: Number(values.seconds) * 1000,
      ringMs: 200,
      holdMs: 500,
      failoverWaitMs: Number(values['wait-ms']),
      waitReplicas,
      grantWriters: Number(values['grant-writers']),
    });
    console.log(JSON.stringify({ waitReplicas, ...r }));
  }
}
