// GET /console (SPEC §4a): the operator console's static files, built by `npm run build`
// (scripts/build-console.ts) into dist/console. The page reaches the edge through /v1 only.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { HttpError } from './errors.js';

/** Where `npm run build` puts the console: next to the compiled http/ directory. */
export const BUILT_CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));

/**
 * Scripts and styles from this origin only, never inline; the page talks to this origin only and
 * cannot be framed. Everything the API returns is put into the page as text by Preact, and Trusted
 * Types make any string-to-markup sink (innerHTML and the like) throw in the browsers that have them.
 */
export function consoleCsp(phoneSource?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    // With sip.webrtc, the phone's WebSocket on the edge itself (src/sip/webrtc.ts) and nothing else.
    phoneSource ? `connect-src 'self' ${phoneSource}` : "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
  ].join('; ');
}

export const CONSOLE_CSP = consoleCsp();

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Small files, revalidated by ETag: an upgraded edge never serves an old page with a new API.
  'cache-control': 'no-cache',
};

/** `phoneSource(host)`: the phone's WebSocket origin for a page served under that Host, when there is a phone. */
export function consoleRoutes(dir: string = BUILT_CONSOLE_DIR, phoneSource?: (host: string | undefined) => string | undefined): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onSend', async (req, reply, payload) => {
      reply.headers(SECURITY_HEADERS);
      reply.header('content-security-policy', consoleCsp(phoneSource?.(req.headers.host)));
      return payload;
    });
    if (!existsSync(join(dir, 'index.html'))) {
      // Run from the sources without a build: say so rather than 404.
      app.get('/console', { schema: { hide: true } }, async () => {
        throw new HttpError('console_not_built', `no console in ${dir}: run npm run build`);
      });
      return;
    }
    await app.register(fastifyStatic, { root: dir, prefix: '/console/', index: 'index.html', cacheControl: false });
    app.get('/console', { schema: { hide: true } }, (_req, reply) => reply.sendFile('index.html'));
  };
}
