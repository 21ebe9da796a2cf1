// SPEC §2 redis.failoverWaitMs, §3 state_unavailable, §5 admission_waits_total: an outbound
// admission waits for an unreachable Redis up to the bound, a CANCEL ends the wait, and an
// admission whose answer never came is released by its id (issue #26). Real redis-server.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { NEVER_CANCELED, stateFixture, newCallId, type StateFixture } from '../helpers/state.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { EventEmitter } from 'node:events';
import { OutboundAdmissions } from '../../src/sip/admission.js';
import { cancellationOf, trackCancel } from '../../src/sip/context.js';
import type { SipRequest } from '../../src/sip/srf.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createLogger } from '../../src/log.js';
import { numberKeys } from '../../src/state/keys.js';
import { redisReady } from '../../src/state/redis.js';

/** A caller whose CANCEL arrives on `cancel()`, heard as the edge hears one (trackCancel, cancellationOf). */
function callerCancel() {
  const req = new EventEmitter();
  trackCancel(req as unknown as SipRequest);
  return { cancellation: cancellationOf(req as unknown as SipRequest), cancel: () => req.emit('cancel', {}) };
}

let server: RedisServer;
let f: StateFixture;
let metrics: Metrics;
let lines: Record<string, unknown>[];
let admissions: OutboundAdmissions;

beforeAll(async () => {
  server = await startRedis({ appendOnly: true }); // a restart keeps the permission
});
afterAll(async () => {
  await f?.close();
  await server.stop();
});

async function setup(failoverWaitMs: number) {
  await f?.close();
  f = await stateFixture(server.url, { redis: { url: server.url, failoverWaitMs } });
  f.clock.now = Date.now();
  metrics = createMetrics();
  lines = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  admissions = new OutboundAdmissions({ calls: f.calls, failoverWaitMs: () => failoverWaitMs, metrics, logger: createLogger('info', sink) });
  await f.redis.flushall();
  await f.permissions.grant(BUSINESS, USER, 'permanent', 'test');
}

const waits = async (result: string) =>
  (await metrics.admissionWaitsTotal.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

async function leftover() {
  const k = numberKeys(BUSINESS);
  return { active: await f.redis.zcard(k.active), busy: await f.redis.hlen(k.activeUser), attempts: await f.redis.zcard(k.attempts) };
}

const call = () => ({ business: BUSINESS, user: USER, callId: newCallId(), regionBlocked: false });

describe('Redis unreachable for less than redis.failoverWaitMs', () => {
  beforeEach(() => setup(5000));

  it('the admission waits, goes on once Redis answers, and counts admission_waits_total{result="admitted"}', async () => {
    await server.kill();
    const started = Date.now();
    const pending = admissions.admit(call(), NEVER_CANCELED);
    await new Promise((r) => setTimeout(r, 800));
    await server.start();
    const a = await pending;
    expect(a.admitted).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(await waits('admitted')).toBe(1);
    expect(await leftover()).toMatchObject({ active: 1, attempts: 1 });
  });
});

describe('Redis unreachable for longer than redis.failoverWaitMs', () => {
  beforeEach(() => setup(400));

  it('503 state_unavailable with Retry-After once the bound is spent, not before; nothing reserved', async () => {
    await server.kill();
    try {
      const started = Date.now();
      const a = await admissions.admit(call(), NEVER_CANCELED);
      const took = Date.now() - started;
      expect(a).toEqual({ admitted: false, refusal: { reason: 'state_unavailable', code: 503, retryAfter: 5 } });
      expect(took).toBeGreaterThanOrEqual(400);
      expect(took).toBeLessThan(1500);
      expect(await waits('refused')).toBe(1);
    } finally {
      await server.start();
      await redisReady(f.redis, 10_000);
    }
    await expect.poll(leftover, { timeout: 10_000 }).toEqual({ active: 0, busy: 0, attempts: 0 });
  });

  it('an admission Redis applied but whose answer came too late is released by its id: no phantom lease or user_busy lock', async () => {
    // CLIENT PAUSE WRITE holds the admission script: it runs after the edge has given up.
    await f.redis.call('CLIENT', 'PAUSE', '1200', 'WRITE');
    const a = await admissions.admit(call(), NEVER_CANCELED);
    expect(a.admitted).toBe(false);
    await expect.poll(leftover, { timeout: 10_000 }).toEqual({ active: 0, busy: 0, attempts: 0 });
    await expect.poll(() => lines.some((l) => l.msg === 'released an admission whose answer never reached the edge'), { timeout: 5000 }).toBe(true);
    expect((await admissions.admit(call(), NEVER_CANCELED)).admitted).toBe(true);
  });
});

describe('CANCEL during the wait', () => {
  beforeEach(() => setup(5000));

  it('ends the wait at once: canceled, nothing admitted once Redis is back', async () => {
    await server.kill();
    const cancel = callerCancel();
    const started = Date.now();
    const pending = admissions.admit(call(), cancel.cancellation);
    setTimeout(() => cancel.cancel(), 300);
    try {
      expect(await pending).toEqual({ admitted: false, canceled: true });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await waits('canceled')).toBe(1);
    } finally {
      await server.start();
      await redisReady(f.redis, 10_000);
    }
    await expect.poll(leftover, { timeout: 10_000 }).toEqual({ active: 0, busy: 0, attempts: 0 });
  });

  it('a CANCEL while the try is in flight releases whatever Redis applies after it', async () => {
    await f.redis.call('CLIENT', 'PAUSE', '800', 'WRITE');
    const cancel = callerCancel();
    setTimeout(() => cancel.cancel(), 100);
    expect(await admissions.admit(call(), cancel.cancellation)).toEqual({ admitted: false, canceled: true });
    await expect.poll(leftover, { timeout: 10_000 }).toEqual({ active: 0, busy: 0, attempts: 0 });
  });
});

describe('redis.failoverWaitMs 0', () => {
  beforeEach(() => setup(0));

  it('a healthy Redis still admits; an unreachable one refuses at once', async () => {
    expect((await admissions.admit(call(), NEVER_CANCELED)).admitted).toBe(true);
    await server.kill();
    try {
      const started = Date.now();
      const a = await admissions.admit({ ...call(), user: '+447911000777' }, NEVER_CANCELED);
      expect(a).toMatchObject({ admitted: false, refusal: { reason: 'state_unavailable' } });
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      await server.start();
      await redisReady(f.redis, 10_000);
    }
  });
});
