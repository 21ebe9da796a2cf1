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

/** Defines every script as an ioredis command (EVALSHA, falling back to EVAL after a flush). */
export function defineScripts(redis: RedisClient): (name: ScriptName, keys: string[], args: (string | number)[]) => Promise<unknown> {
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS)) {
    const lua = readFileSync(new URL(`./lua/${fileName(name)}`, import.meta.url), 'utf8');
    redis.defineCommand(name, { numberOfKeys, lua });
  }
  const commands = redis as unknown as Record<ScriptName, ScriptFn>;
  return (name, keys, args) => {
    if (keys.length !== SCRIPTS[name]) throw new Error(`${name} takes ${SCRIPTS[name]} keys, got ${keys.length}`);
    return commands[name](...keys, ...args);
  };
}
