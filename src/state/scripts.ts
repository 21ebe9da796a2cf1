// The Lua scripts, one file per atomic operation (the BullMQ way), loaded once and run by SHA.
// Each script's KEYS and ARGV are declared here by name, in the order of the `-- KEYS:` and
// `-- ARGV:` lines at the top of its .lua file (test/unit/luaScripts.test.ts holds the two
// together): callers pass named values, so a Lua/TS mismatch fails a test, not a call.
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis.js';

interface ScriptShape {
  keys: readonly string[];
  args: readonly string[];
  /** The name of a variadic tail after `args` (`3.. callIds`), if the script takes one. */
  rest?: string;
}

export const SCRIPTS = {
  admitOutbound: {
    keys: ['number', 'perm', 'unanswered', 'active', 'activeUser', 'inflight', 'connected', 'userConnected', 'attempts', 'call'],
    args: ['nowMs', 'user', 'callId', 'regionBlocked', 'callingDefault', 'stopAt', 'maxConcurrent', 'perNumberCap', 'perUserCap', 'attemptsCap', 'windowMs', 'leaseMs', 'callTtlMs', 'mode', 'business'],
  },
  releaseAdmission: { keys: ['call', 'active', 'activeUser', 'inflight', 'attempts'], args: ['nowMs', 'callId', 'callTtlMs', 'dropAttempt'] },
  admitInbound: {
    keys: ['active', 'activeUser', 'call', 'perm', 'userIds'],
    args: ['nowMs', 'user', 'callId', 'maxConcurrent', 'leaseMs', 'callTtlMs', 'grantCallback', 'temporaryMs', 'business', 'identity'],
  },
  settle: {
    keys: ['call', 'active', 'activeUser', 'inflight', 'connected', 'userConnected', 'unanswered', 'perm', 'permissionRequests'],
    args: ['nowMs', 'callId', 'outcome', 'nudgeAt', 'revokeAt', 'leaseMs', 'windowMs'],
  },
  renewLeases: { keys: ['active', 'inflight'], args: ['nowMs', 'leaseMs'], rest: 'callIds' },
  grantPermission: { keys: ['perm', 'userIds'], args: ['nowMs', 'kind', 'expiresAtMs', 'source', 'bsuid', 'keepStronger', 'expiryDefaulted'] },
  revokePermission: { keys: ['perm', 'userIds'], args: ['nowMs', 'cause', 'bsuid'] },
  linkUserIdentity: { keys: ['userIds', 'userBsuids', 'bsuidPerm', 'phonePerm'], args: ['bsuid', 'phone'] },
  reservePermissionRequest: { keys: ['permissionRequests', 'perm'], args: ['nowMs', 'per24h', 'per7d', 'requestId'] },
  recordPermissionRequestSent: { keys: ['last', 'delivery'], args: ['nowMs', 'user', 'channel', 'kind', 'messageId', 'ttlMs'] },
  recordRequestDelivery: { keys: ['delivery'], args: ['nowMs', 'status', 'error', 'ttlMs', 'earlyTtlMs'] },
  setTelnyxCalling: { keys: ['number'], args: ['nowMs', 'askedAtMs', 'enabled', 'error'] },
  noteUpstreamRefusal: { keys: ['number', 'perm', 'userConnected'], args: ['nowMs', 'lesson', 'text', 'holdMs', 'windowMs', 'sinceMs'] },
  registerContacts: { keys: ['contacts', 'expiry'], args: ['nowMs', 'op'], rest: 'contacts' },
  restrictNumber: { keys: ['number'], args: ['nowMs', 'kind', 'untilMs', 'detail', 'source'] },
  liftRestriction: { keys: ['number'], args: ['nowMs', 'by'] },
  // Tenants (src/tenants/): their configuration under {tenants}, their limits under wa:t{name}.
  tenantWrite: { keys: ['version', 'tenants', 'tokens'], args: ['expectedVersion'], rest: 'writes' },
  tenantRead: { keys: ['version', 'tenants', 'tokens'], args: [] },
  tenantAdmit: { keys: ['active', 'rate'], args: ['nowMs', 'callId', 'maxConcurrent', 'callsPerSecond', 'leaseMs'] },
  tenantRelease: { keys: ['active', 'rate'], args: ['callId', 'refused'] },
  tenantRenew: { keys: ['active'], args: ['nowMs', 'leaseMs'], rest: 'callIds' },
} as const satisfies Record<string, ScriptShape>;

export type ScriptName = keyof typeof SCRIPTS;
type Value = string | number;
/** The named KEYS of a script. */
export type ScriptKeys<N extends ScriptName> = Record<(typeof SCRIPTS)[N]['keys'][number], string>;
/** The named ARGV of a script. */
export type ScriptArgs<N extends ScriptName> = Record<(typeof SCRIPTS)[N]['args'][number], Value>;

/** A script call: its named keys and arguments, and the variadic tail of the scripts that take one. */
export interface ScriptCall<N extends ScriptName> {
  keys: ScriptKeys<N>;
  args: ScriptArgs<N>;
  rest?: readonly Value[];
}

export const scriptFileName = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) + '.lua';

/** KEYS and ARGV in the script's order. */
export function positional<N extends ScriptName>(name: N, call: ScriptCall<N>): { keys: string[]; argv: Value[] } {
  const shape: ScriptShape = SCRIPTS[name];
  if (call.rest && !shape.rest) throw new Error(`${name} takes no variadic arguments`);
  const keys = shape.keys.map((k) => (call.keys as Record<string, string>)[k] as string);
  const argv = shape.args.map((a) => (call.args as Record<string, Value>)[a] as Value);
  return { keys, argv: [...argv, ...(call.rest ?? [])] };
}

/** Redis `WAIT numreplicas timeout` after a write: how many replicas it waits for, and how long at most. */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
  /** Told when fewer replicas than asked acknowledged the write within the timeout. */
  onShort: (script: ScriptName, acknowledged: number) => void;
}

export type RunScript = <N extends ScriptName>(name: N, call: ScriptCall<N>, wait?: ReplicaWait) => Promise<unknown>;

type ScriptFn = (...keysAndArgs: Value[]) => Promise<unknown>;
type PipelineFn = (...keysAndArgs: Value[]) => unknown;

/**
 * Defines every script as an ioredis command (EVALSHA, falling back to EVAL after a flush).
 * With `wait` (redis.waitReplicas), the script and a `WAIT` go in one pipeline: the same round
 * trip, and on Redis Cluster to the same node (the keyless WAIT follows the script's slot).
 */
export function defineScripts(redis: RedisClient): RunScript {
  for (const [name, shape] of Object.entries(SCRIPTS)) {
    const lua = readFileSync(new URL(`./lua/${scriptFileName(name)}`, import.meta.url), 'utf8');
    redis.defineCommand(name, { numberOfKeys: shape.keys.length, lua });
  }
  // ioredis adds a method per defineCommand, which its types cannot know.
  const commands = redis as unknown as Record<ScriptName, ScriptFn>;
  return async (name, call, wait) => {
    const { keys, argv } = positional(name, call);
    if (!wait || wait.replicas <= 0) return commands[name](...keys, ...argv);
    const pipeline = redis.pipeline();
    (pipeline as unknown as Record<ScriptName, PipelineFn>)[name](...keys, ...argv);
    pipeline.wait(wait.replicas, wait.timeoutMs);
    const results = await pipeline.exec();
    const [written, waited] = results ?? [];
    if (!written) throw new Error(`${name}: the pipeline returned no result`);
    if (written[0]) throw written[0];
    const acknowledged = waited && !waited[0] ? Number(waited[1]) : 0;
    if (acknowledged < wait.replicas) wait.onShort(name, acknowledged);
    return written[1];
  };
}

type Fields<N extends number, T extends string[] = []> = T['length'] extends N ? T : Fields<N, [...T, string]>;

/**
 * A script's reply as `n` strings (a Lua table of strings and numbers; a missing tail reads as
 * ''). Anything else is a script bug, thrown with the script's name.
 */
export function replyFields<N extends number>(script: ScriptName, reply: unknown, n: N): Fields<N> {
  const list = replyList(script, reply);
  return Array.from({ length: n }, (_, i) => list[i] ?? '') as Fields<N>;
}

/** A script's reply that is one string. */
export function replyString(script: ScriptName, reply: unknown): string {
  if (typeof reply === 'string') return reply;
  throw new Error(`${script} answered ${typeof reply}, not a string`);
}

/** A script's reply as a list of strings, however long. */
export function replyList(script: ScriptName, reply: unknown): string[] {
  if (!Array.isArray(reply)) throw new Error(`${script} answered ${typeof reply}, not a list`);
  return reply.map((v: unknown) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw new Error(`${script} answered a list holding ${typeof v}`);
  });
}
