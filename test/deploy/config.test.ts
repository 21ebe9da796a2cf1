// The edge configuration the deployment ships (docker/edge.yaml) and the configuration examples of
// docs/scaling.md and docs/operations.md, all through the real loader (src/config/load.ts).
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { REFUSALS } from '../../src/domain/reasons.js';
import { baseConfigObject, configProblems } from '../helpers/config.js';
import { filledEnv, read, readYaml, referencedVars, requiredVars, ROOT, yamlBlocks } from './tools.js';

const EDGE_YAML = `${ROOT}docker/edge.yaml`;

const problems = configProblems;
/** Variables of the template that compose leaves at their defaults (systemd's edge.env sets the first two). */
const HOST_ONLY = new Set(['DRACHTIO_HOST', 'REDIS_URL', 'DRACHTIO_PORT', 'WA_EDGE_HTTP_PORT']);

describe('docker/edge.yaml', () => {
  it('is valid with the variables of a filled-in .env, and points at the compose services', () => {
    const env = filledEnv();
    delete env.DRACHTIO_HOST;
    delete env.REDIS_URL;
    const c = loadConfig(EDGE_YAML, env);
    expect(c.drachtio).toEqual({ host: 'drachtio', port: 9022, secret: 'test-drachtio-secret' });
    expect(c.redis.url).toBe('redis://redis:6379');
    expect(c.redis.password).toBe('test-redis-password');
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8080 }); // compose sets WA_EDGE_HTTP_HOST=0.0.0.0 in the container
    expect(c.trunks[0]).toMatchObject({ sources: ['203.0.113.10/32'], numbers: ['+447418613982'], defaultRegion: 'GB' });
    expect(c.trunks[0]?.auth?.username).toBe('pbx');
    expect(c.numbers[0]).toMatchObject({ number: '+447418613982', phoneNumberId: '1234567890', inbound: [{ kind: 'sip', uri: 'sip:100@pbx.example.com:5060' }] });
    expect(c.whatsapp.connectedCallsPer24h).toEqual({ perUser: 100, perNumber: null }); // Meta's cap is per customer (SPEC §7)
    // Off by default: a business without a Meta app of its own starts with none of its values.
    expect(c.whatsapp.webhook).toBeUndefined();
    expect(c.whatsapp.cloudApi).toBeUndefined();
    expect(c.telnyx.register).toBeUndefined();
    expect(c.media.anchor).toBeUndefined();
    const on = loadConfig(EDGE_YAML, { ...env, WA_EDGE_META_WEBHOOK: 'true', WA_EDGE_CLOUD_API: 'true', WA_EDGE_TELNYX_REGISTER: 'true', WA_EDGE_MEDIA: 'true' });
    expect(on.whatsapp.webhook).toBeDefined();
    expect(on.whatsapp.cloudApi?.baseUrl).toMatch(/^https:\/\/graph\.facebook\.com\//);
    expect(on.telnyx.register?.registrar).toBe('sip:sip.telnyx.com;transport=tls');
    expect(on.media.anchor?.rtpengine).toEqual(['host.docker.internal:22222']);
    // A business onboarded through Telnyx: the API key and the template's name, nothing of Meta's.
    expect(c.telnyx.api).toBeUndefined();
    expect(loadConfig(EDGE_YAML, { ...env, WA_PERMISSION_TEMPLATE: '' }).numbers[0]?.permissionTemplate).toBeUndefined(); // as .env.example ships it
    const telnyx = loadConfig(EDGE_YAML, { ...env, WA_EDGE_TELNYX_API: 'true', TELNYX_API_KEY: 'KEY-test', WA_PERMISSION_TEMPLATE: 'call_permission_request_v1' });
    expect(telnyx.telnyx.api).toEqual({ key: 'KEY-test', baseUrl: 'https://api.telnyx.com/v2', timeoutMs: 5000, callingPollSeconds: 300 });
    expect(telnyx.numbers[0]?.permissionTemplate).toEqual({ name: 'call_permission_request_v1', language: 'en', bodyParameters: [] });
  });

  it('can be pointed at local services when run by hand', () => {
    const c = loadConfig(EDGE_YAML, { ...filledEnv(), DRACHTIO_HOST: '127.0.0.1', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(c.drachtio).toMatchObject({ host: '127.0.0.1' });
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
  });

  it('names each missing variable; they are exactly those docker-compose.yml requires for the edge', () => {
    const missing = problems(() => loadConfig(EDGE_YAML, {}))
      .map((p) => /environment variable (\w+) is not set/.exec(p)?.[1])
      .filter((v): v is string => v !== undefined);
    const edgeEnv = readYaml<{ services: { edge: { environment: Record<string, string> } } }>('docker-compose.yml').services.edge.environment;
    const requiredForEdge = Object.entries(edgeEnv)
      .filter(([, v]) => requiredVars(v).size > 0)
      .map(([k]) => k);
    expect(new Set(missing)).toEqual(new Set(requiredForEdge));
    // ...and every variable the file uses is given a value or a default by compose.
    for (const v of referencedVars(read('docker/edge.yaml'))) {
      if (HOST_ONLY.has(v)) continue;
      expect(Object.keys(edgeEnv)).toContain(v);
    }
  });
});

/** Edge-config fragments of a doc: YAML blocks whose top-level keys are all config sections. */
const SECTIONS = new Set(['drachtio', 'redis', 'http', 'telnyx', 'whatsapp', 'media', 'sip', 'log', 'trunks', 'devices', 'numbers']);
function configFragments(doc: string): Record<string, unknown>[] {
  return yamlBlocks(read(doc))
    .map((b) => parseYaml(b) as unknown)
    .filter((o): o is Record<string, unknown> => o !== null && typeof o === 'object' && !Array.isArray(o))
    .filter((o) => Object.keys(o).length > 0 && Object.keys(o).every((k) => SECTIONS.has(k)));
}
const ENV = { REDIS_PASSWORD: 'a-redis-password', WA_EDGE_DIGEST_SECRET: 'a-digest-secret-0123456789', DRACHTIO_SECRET: 'a-drachtio-secret', TELNYX_SIP_USERNAME: 'wasipedge01', TELNYX_SIP_PASSWORD: 'a-telnyx-password' };

describe('docs/scaling.md', () => {
  const fragments = configFragments('docs/scaling.md');

  it('has single-node, Sentinel and Cluster examples, and the schema accepts each', () => {
    const redis = fragments.map((f) => f.redis as Record<string, unknown> | undefined).filter((r) => r !== undefined);
    expect(redis.some((r) => 'url' in r)).toBe(true);
    expect(redis.some((r) => 'sentinels' in r && 'name' in r)).toBe(true);
    expect(redis.some((r) => 'cluster' in r)).toBe(true);
    for (const f of fragments) {
      const c = parseConfig(stringify(baseConfigObject(f)), 'docs/scaling.md', ENV);
      const given = f.redis as Record<string, unknown>;
      // Every key given is kept; the others are the schema's defaults (failover wait, replica WAIT).
      const defaulted = ['failoverWaitMs', 'waitReplicas', 'waitReplicasTimeoutMs'].filter((k) => !(k in given));
      expect(Object.keys(c.redis).filter((k) => !defaulted.includes(k)).sort()).toEqual(Object.keys(given).sort());
      if (given.sentinels) expect(c.redis.sentinels).toEqual(given.sentinels);
      if (given.cluster) expect(c.redis.cluster).toEqual(given.cluster);
    }
  });

  it('describes the Redis keys exactly as src/state/keys.ts builds them', () => {
    const doc = read('docs/scaling.md');
    const keysTs = read('src/state/keys.ts');
    for (const suffix of [...keysTs.matchAll(/`\$\{base\}:([a-z_]+)/g)].map((m) => m[1] as string)) {
      expect(doc, suffix).toContain(`wa:{447418613982}:${suffix}`);
    }
    for (const lua of ['admit_outbound', 'admit_inbound', 'settle', 'renew_leases', 'grant_permission', 'revoke_permission', 'reserve_permission_request']) {
      expect(doc).toContain(`${lua}.lua`);
    }
  });
});

describe('docs/operations.md', () => {
  const doc = read('docs/operations.md');

  it('its configuration snippets are accepted by the schema', () => {
    const fragments = configFragments('docs/operations.md');
    expect(fragments.length).toBeGreaterThan(0);
    for (const f of fragments) parseConfig(stringify(baseConfigObject(f)), 'docs/operations.md', ENV);
  });

  it('the troubleshooting table has a row for every refusal reason with its SIP code', () => {
    const table = doc.slice(doc.indexOf('## 6. Troubleshooting'), doc.indexOf('## 7.'));
    const rows = table.split('\n').filter((l) => l.startsWith('|'));
    for (const [reason, { code, retryAfter }] of Object.entries(REFUSALS)) {
      const row = rows.find((r) => r.includes(`\`${reason}\``));
      expect(row, reason).toBeDefined();
      expect(row?.split('|')[1]?.trim(), reason).toBe(`${code}${retryAfter ? ' †' : ''}`);
    }
    expect(rows.some((r) => r.includes('(challenge)'))).toBe(true);
  });

  it('shows every process started by hand (the PBX dial strings are in docs/quickstart.md: test/deploy/docs.test.ts)', () => {
    for (const s of [
      'redis-server --appendonly yes',
      'drachtio -f docker/drachtio.conf.xml',
      'node dist/main.js --config docker/edge.yaml',
      'prometheus --config.file docker/prometheus.yml',
      'Reason: SIP;cause=480;text="daily_limit"',
      'X-Hub-Signature-256',
      'call_permission_reply',
      '/v1/webhooks/whatsapp',
      '/permission-requests',
    ]) {
      expect(doc, s).toContain(s);
    }
  });
});
