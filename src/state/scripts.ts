// The Lua scripts, one file per atomic operation (the BullMQ way), loaded once and run by SHA.
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis.js';

const SCRIPTS = {
  admitOutbound: 10,
  releaseAdmission: 5,
  admitInbound: 5,
  settle: 9,
  renewLeases: 2,
  grantPermission: 2,
  revokePermission: 2,
  linkUserIdentity: 4,
  reservePermissionRequest: 2,
  registerContacts: 2,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

const fileName = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) + '.lua';

type ScriptFn = (...keysAndArgs: (string | number)[]) => Promise<unknown>;
type PipelineFn = (...keysAndArgs: (string | number)[]) => unknown;

/** Redis `WAIT numreplicas timeout` after a write: how many replicas it waits for, and how long at most. */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
  /** Told when fewer replicas than asked acknowledged the write within the timeout. */
  onShort: (script: ScriptName, acknowledged: number) => void;
}

export type RunScript = (name: ScriptName, keys: string[], args: (string | number)[], wait?: ReplicaWait) => Promise<unknown>;

/**
 * Defines every script as an ioredis command (EVALSHA, falling back to EVAL after a flush).
 * With `wait` (redis.waitReplicas), the script and a `WAIT` go in one pipeline: the same round
 * trip, and on Redis Cluster to the same node (the keyless WAIT follows the script's slot).
 */
export function defineScripts(redis: RedisClient): RunScript {
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS)) {
    const lua = readFileSync(new URL(`./lua/${fileName(name)}`, import.meta.url), 'utf8');
    redis.defineCommand(name, { numberOfKeys, lua });
  }
  const commands = redis as unknown as Record<ScriptName, ScriptFn>;
  return async (name, keys, args, wait) => {
    if (keys.length !== SCRIPTS[name]) throw new Error(`${name} takes ${SCRIPTS[name]} keys, got ${keys.length}`);
    if (!wait || wait.replicas <= 0) return commands[name](...keys, ...args);
    const pipeline = redis.pipeline();
    (pipeline as unknown as Record<ScriptName, PipelineFn>)[name](...keys, ...args);
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
