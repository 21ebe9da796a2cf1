// A call's state operations (src/sip/durable.ts): a connection error is retried until Redis
// answers; Redis's own refusal (a script error) is logged with its stack, counted, not retried,
// and the call's lease and user_busy lock are released anyway (issue #26); a call's record follows its
// settle, also across an outage. Real redis-server.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { stateFixture, newCallId, type StateFixture } from '../helpers/state.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { DurableQueue } from '../../src/sip/durable.js';
import { CallSession } from '../../src/sip/callSession.js';
import { LeaseKeeper } from '../../src/sip/leases.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createLogger, type Logger } from '../../src/log.js';
import { numberKeys } from '../../src/state/keys.js';

let server: RedisServer;
let f: StateFixture;
let metrics: Metrics;
let lines: Record<string, unknown>[];
let logger: Logger;

beforeAll(async () => {
  server = await startRedis({ appendOnly: true });
});
afterAll(async () => {
  await f?.close();
  await server.stop();
});
beforeEach(async () => {
  await f?.close();
  f = await stateFixture(server.url);
  f.clock.now = Date.now();
  await f.redis.flushall();
  metrics = createMetrics();
  lines = [];
  logger = createLogger(
    'info',
    new Writable({
      write(chunk, _e, cb) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    }),
  );
});

const errors = async () => (await metrics.redisErrorsTotal.get()).values[0]?.value ?? 0;

describe('DurableQueue', () => {
  it('a connection error is retried (back-off) until Redis answers', async () => {
    const queue = new DurableQueue(logger, () => metrics.redisErrorsTotal.inc(), { retryMinMs: 50, retryMaxMs: 200 });
    await server.kill();
    const pending = queue.run('ping', () => f.redis.ping());
    await new Promise((r) => setTimeout(r, 500));
    await server.start();
    expect(await pending).toBe('PONG');
    expect(await errors()).toBeGreaterThan(1);
  });

  it('a script error is not retried: logged with its stack, counted once, given up at once', async () => {
    const queue = new DurableQueue(logger, () => metrics.redisErrorsTotal.inc());
    const k = numberKeys(BUSINESS);
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const callId = newCallId();
    await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId, regionBlocked: false });
    await f.redis.set(k.unanswered, 'not a hash'); // settle unanswered now fails: WRONGTYPE in HINCRBY
    const started = Date.now();
    const failed = await queue.run('settle unanswered', () => f.calls.settle(BUSINESS, USER, callId, 'unanswered'));
    expect(failed).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await errors()).toBe(1);
    const line = lines.find((l) => l.msg === 'state operation failed: Redis refused it, not retried');
    expect(line).toBeDefined();
    expect((line!.err as { stack: string }).stack).toMatch(/WRONGTYPE/);
  });
});

describe('a call whose settle Redis refuses (a script error)', () => {
  it('is still released: no lease, no user_busy lock, the user can be called again', async () => {
    const k = numberKeys(BUSINESS);
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const callId = newCallId();
    expect((await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId, regionBlocked: false })).admitted).toBe(true);
    await f.redis.set(k.unanswered, 'not a hash'); // settle unanswered now fails: WRONGTYPE in HINCRBY
    const closed: CallSession[] = [];
    const leases = new LeaseKeeper(f.calls, () => 90, logger, metrics);
    const session = new CallSession('outbound', BUSINESS, USER, callId, 'sip-call-id', Date.now(), {
      calls: f.calls, leases, metrics, logger, clock: () => f.clock.now, onClosed: (s) => closed.push(s),
    });
    session.close('unanswered', 480, 'unanswered');
    await expect.poll(() => closed.length, { timeout: 5000 }).toBe(1);
    expect(await f.redis.zcard(k.active)).toBe(0);
    expect(await f.redis.hget(k.activeUser, USER)).toBeNull();
    await f.redis.del(k.unanswered);
    expect((await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId: newCallId(), regionBlocked: false })).admitted).toBe(true);
    expect(lines.some((l) => l.msg === 'state operation failed: Redis refused it, not retried')).toBe(true);
  });
});

describe("a call's record (SPEC §6) beside its settle", () => {
  const openCall = async (closed: CallSession[]) => {
    await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    const callId = newCallId();
    expect((await f.calls.admitOutbound({ business: BUSINESS, user: USER, callId, regionBlocked: false })).admitted).toBe(true);
    const leases = new LeaseKeeper(f.calls, () => 90, logger, metrics);
    return new CallSession('outbound', BUSINESS, USER, callId, `sip-${callId}`, Date.now(), {
      calls: f.calls, leases, metrics, logger, clock: () => f.clock.now, onClosed: (s) => closed.push(s),
    });
  };

  it('an ended call: its record is written after its settle, never before it, and each once', async () => {
    const closed: CallSession[] = [];
    const session = await openCall(closed);
    session.connected();
    await expect.poll(async () => f.redis.hget(numberKeys(BUSINESS).call(session.callId), 'state')).toBe('connected');
    const watcher = new Redis(server.url);
    const monitor = await watcher.monitor(); // a connection of its own that sees every command
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(String(args[0]).toLowerCase()));
    session.close('ended', 200, 'bye_from_caller');
    await expect.poll(() => closed.length, { timeout: 5000 }).toBe(1);
    monitor.disconnect();
    watcher.disconnect();
    const written = commands.filter((c) => c === 'evalsha' || c === 'eval' || c === 'xadd');
    expect(written).toEqual([expect.stringMatching(/^eval/), 'xadd']);
    expect(await f.redis.zcard(numberKeys(BUSINESS).active)).toBe(0);
    const [record] = await f.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
    expect(record?.[1]).toEqual(expect.arrayContaining(['callId', `sip-${session.callId}`, 'outcome', 'connected', 'reason', 'bye_from_caller']));
  });

  it('a call that ends while Redis is down: its settle and its record both land, once, when Redis is back', async () => {
    const closed: CallSession[] = [];
    const session = await openCall(closed);
    await server.kill();
    session.close('failed', 503, 'telnyx_unreachable');
    await new Promise((r) => setTimeout(r, 600)); // a few tries fail meanwhile (the back-off's first pause is 250 ms)
    expect(closed).toHaveLength(0);
    await server.start();
    await expect.poll(() => closed.length, { timeout: 15_000 }).toBe(1);
    expect(await f.redis.zcard(numberKeys(BUSINESS).active)).toBe(0);
    const records = await f.redis.xrange('wa:calls', '-', '+');
    expect(records.filter(([, fields]) => fields.includes(`sip-${session.callId}`))).toHaveLength(1);
    expect(await errors()).toBeGreaterThan(1);
  });
});
