// SPEC §2 redis.waitReplicas: the writes a master crash must not lose (a permission granted or
// revoked, a connected count, an unanswered streak) return only once a replica has them, within
// redis.waitReplicasTimeoutMs; with no replica to wait for, the write still stands and it is told.
// Real Redis: a master with one replica, a lone master, and a Cluster (WAIT on the slot's node).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startReplicated, startCluster, type ReplicatedRedis, type ClusterTopology } from '../helpers/redisTopology.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { BUSINESS, USER, testConfig } from '../helpers/config.js';
import { newCallId } from '../helpers/state.js';
import { CallState } from '../../src/state/calls.js';
import { PermissionState } from '../../src/state/permissions.js';
import { createRedis, redisReady } from '../../src/state/redis.js';
import { numberKeys } from '../../src/state/keys.js';
import { StateStore } from '../../src/state/store.js';

async function stateOn(redisCfg: Record<string, unknown>) {
  const config = testConfig({ redis: redisCfg });
  const redis = createRedis(config.redis);
  redis.on('error', () => {});
  await redisReady(redis, 10_000);
  const short: { writes: number; acknowledged: number }[] = [];
  // The report is rate-limited to one every 10 s: the first short write reports at once.
  const store = new StateStore(redis, () => config, Date.now, () => {}, (writes, _script, acknowledged) => short.push({ writes, acknowledged }));
  const calls = new CallState(store);
  const permissions = new PermissionState(store);
  return { redis, store, calls, permissions, short };
}

describe('a master with one replica, waitReplicas 1', () => {
  let topo: ReplicatedRedis;
  beforeAll(async () => {
    topo = await startReplicated();
  }, 30_000);
  afterAll(async () => topo?.stop());

  it('a grant, a revoke and a connected settle are on the replica when they return', async () => {
    const s = await stateOn({ url: topo.url, waitReplicas: 1, waitReplicasTimeoutMs: 2000 });
    const replica = new Redis({ port: topo.replicaPort, host: '127.0.0.1' });
    try {
      const k = numberKeys(BUSINESS);
      // Replication is asynchronous: without WAIT a read of the replica right after could miss it.
      await s.permissions.grant(BUSINESS, USER, 'permanent', 'test');
      expect(await replica.hget(k.perm(USER), 'kind')).toBe('permanent');
      const callId = newCallId();
      expect((await s.calls.admitOutbound({ business: BUSINESS, user: USER, callId, regionBlocked: false })).admitted).toBe(true);
      await s.calls.settle(BUSINESS, USER, callId, 'connected');
      expect(await replica.zscore(k.connected, callId)).not.toBeNull();
      await s.permissions.revoke(BUSINESS, USER, 'test');
      expect(await replica.hget(k.perm(USER), 'kind')).toBe('none');
      expect(s.short).toEqual([]);
    } finally {
      replica.disconnect();
      s.store.disconnect();
      s.redis.disconnect();
    }
  });
});

describe('a lone master, waitReplicas 1', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => server?.stop());

  it('the write stands after waitReplicasTimeoutMs, and the edge is told no replica has it', async () => {
    const s = await stateOn({ url: server.url, waitReplicas: 1, waitReplicasTimeoutMs: 150 });
    try {
      const started = Date.now();
      await s.permissions.grant(BUSINESS, USER, 'permanent', 'test');
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(await s.redis.hget(numberKeys(BUSINESS).perm(USER), 'kind')).toBe('permanent');
      expect(s.short).toEqual([{ writes: 1, acknowledged: 0 }]);
    } finally {
      s.store.disconnect();
      s.redis.disconnect();
    }
  });
});

describe('Redis Cluster, waitReplicas 1', () => {
  let topo: ClusterTopology;
  beforeAll(async () => {
    topo = await startCluster();
  }, 60_000);
  afterAll(async () => topo?.stop());

  it('the WAIT goes to the node of the number\'s slot: acknowledged by its replica', async () => {
    const s = await stateOn({ cluster: topo.nodes, waitReplicas: 1, waitReplicasTimeoutMs: 2000 });
    try {
      await s.permissions.grant(BUSINESS, USER, 'permanent', 'test');
      const callId = newCallId();
      expect((await s.calls.admitOutbound({ business: BUSINESS, user: USER, callId, regionBlocked: false })).admitted).toBe(true);
      expect((await s.calls.settle(BUSINESS, USER, callId, 'connected')).status).toBe('applied');
      expect(s.short).toEqual([]);
    } finally {
      s.store.disconnect();
      s.redis.disconnect();
    }
  }, 30_000);
});
