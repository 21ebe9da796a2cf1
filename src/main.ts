#!/usr/bin/env node
// wa-edge: `wa-edge [--config FILE]` runs the edge; `wa-edge --check-config FILE` validates and exits 0/1.
// SIGTERM/SIGINT drain (503 draining, wait for calls up to sip.drainSeconds); SIGHUP reloads the file.
import './nodeVersion.js'; // first: refuses Node.js < 20 in one line before anything else runs
import { ConfigError, configPath, loadConfig } from './config/load.js';
import { startEdge, startEngine } from './app.js';
import { createLogger } from './log.js';
import { EngineStartError } from './sip/localEngine.js';
import { edgeHttpServer } from './edgeHttp.js';
import { redisReady } from './state/redis.js';

function checkConfig(file: string): never {
  try {
    const c = loadConfig(file);
    process.stdout.write(`${file}: OK (${c.numbers.length} number(s), ${c.trunks.length} trunk(s), ${c.devices.length} device(s))\n`);
    process.exit(0);
  } catch (e) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const check = argv.indexOf('--check-config');
  if (check >= 0) checkConfig(argv[check + 1] ?? configPath([]));

  const file = configPath(argv);
  let config;
  try {
    config = loadConfig(file);
  } catch (e) {
    process.stderr.write(`wa-edge: cannot start: ${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(1);
  }

  const logger = createLogger(config.log.level);
  let engine;
  if ('spawn' in config.drachtio) {
    try {
      engine = await startEngine(config.drachtio.spawn, logger, config.telnyx.tls, config.sip.webrtc);
    } catch (e) {
      process.stderr.write(`wa-edge: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
      if (e instanceof EngineStartError && e.output) logger.error({ output: e.output }, 'drachtio-server output');
      process.exit(1);
    }
    logger.info({ control: `${engine.adminHost}:${engine.adminPort}`, contacts: engine.contacts, pid: engine.pid }, 'local drachtio-server started');
  }
  const edge = startEdge(config, { logger, engine });
  // Tenants stored through the API (SPEC §2a) are served from the first request on, Redis allowing.
  await redisReady(edge.redis, 10_000).catch(() => logger.warn('Redis not ready after 10 s: serving the configuration file\'s tenant until it is'));
  await edge.tenants.refresh();
  const http = await edgeHttpServer(edge);
  await http.listen({ host: config.http.host, port: config.http.port });
  logger.info({ config: file, http: `${config.http.host}:${config.http.port}` }, 'wa-sip-edge started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await edge.shutdown(edge.config.current.sip.drainSeconds * 1000);
    await http.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    try {
      const next = loadConfig(file);
      // Connections and listeners are set up once; only trunks, numbers, devices and limits reload.
      const fixed: string[] = (['drachtio', 'redis', 'http'] as const).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(edge.config.current[k]));
      if (JSON.stringify(next.media.anchor) !== JSON.stringify(edge.config.current.media.anchor)) fixed.push('media.anchor');
      if (JSON.stringify(next.telnyx.tls) !== JSON.stringify(edge.config.current.telnyx.tls)) fixed.push('telnyx.tls');
      if (fixed.length > 0) logger.warn({ sections: fixed }, 'these sections change only with a restart');
      edge.reload(next);
    } catch (e) {
      logger.error({ problems: e instanceof ConfigError ? e.problems : [String(e)] }, 'reload refused: keeping the running configuration');
    }
  });
}

main().catch((err) => {
  process.stderr.write(`wa-edge: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
