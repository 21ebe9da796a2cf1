// GET /console (SPEC §4a) as static files: the page, its bundle and stylesheet, with a
// Content-Security-Policy that allows no inline script or style; no token needed for the files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildConsole } from '../../scripts/build-console.js';
import { CONSOLE_CSP } from '../../src/http/console.js';
import { useRedisServer } from '../helpers/redis.js';
import { useHttpFixtures, type HttpFixture } from './fixture.js';

const redis = useRedisServer();
const openFixture = useHttpFixtures(redis);
let consoleDir: string;
let f: HttpFixture;

beforeAll(async () => {
  consoleDir = mkdtempSync(join(tmpdir(), 'wa-edge-console-'));
  await buildConsole(consoleDir);
});
afterAll(() => rmSync(consoleDir, { recursive: true, force: true }));
beforeEach(async () => {
  f = await openFixture({}, { consoleDir });
});

const get = (url: string) => f.app.inject({ method: 'GET', url });

describe('GET /console', () => {
  it('the page, without a token, with the CSP and no inline script or style', async () => {
    const res = await get('/console');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(CONSOLE_CSP).toContain("require-trusted-types-for 'script'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map(([, attrs, body]) => ({ attrs: attrs?.trim(), body }))).toEqual([{ attrs: 'type="module" src="/console/console.js"', body: '' }]);
    expect(res.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it.each([
    ['/console/', /^text\/html/],
    ['/console/console.js', /javascript/],
    ['/console/console.css', /^text\/css/],
    ['/console/icon.svg', /^image\/svg\+xml/],
  ])('%s is served with the same headers', async (url, type) => {
    const res = await get(url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(type);
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it('an unknown file → 404 in the API error shape; the files never open /v1 without the token', async () => {
    const res = await get('/console/nope.js');
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe('not_found');
    expect((await get('/v1/numbers')).statusCode).toBe(401);
  });

  it('an edge run from its sources without `npm run build` says so: 503 console_not_built', async () => {
    f = await openFixture({}, { consoleDir: join(consoleDir, 'missing') });
    const res = await get('/console');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: 'console_not_built' });
    expect(res.json().message).toContain('npm run build');
  });
});
