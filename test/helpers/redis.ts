// A real redis-server per test file, on a free port, stopped afterwards. Never a mock.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.js';

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Stops the process but remembers the port, so `start` brings the same server back. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

async function waitForPing(port: number, password?: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(password ? { password } : {}) });
    c.on('error', () => {}); // refused until the server listens; the loop retries
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch {
      c.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * `appendOnly`: every write reaches the append-only file before it is answered, so a server
 * killed and started again has what it had (as production runs it: docker-compose.yml).
 * `requirePass`: clients must AUTH with it (compose's --requirepass, REDIS_PASSWORD).
 */
export async function startRedis(opts: { appendOnly?: boolean; requirePass?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-redis-'));
  const persistence = opts.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  let proc: ChildProcess | undefined;
  const start = async () => {
    const auth = opts.requirePass ? ['--requirepass', opts.requirePass] : [];
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, ...auth, '--dir', dir], { stdio: 'ignore' });
    await waitForPing(port, opts.requirePass);
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    kill,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One redis-server for the test file: started before its tests, stopped after its other afterAll hooks. */
export function useRedisServer(): { readonly url: string; readonly server: RedisServer } {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get url() {
      if (!server) throw new Error('redis-server not started yet (use it inside a test or hook)');
      return server.url;
    },
    get server() {
      if (!server) throw new Error('redis-server not started yet');
      return server;
    },
  };
}
