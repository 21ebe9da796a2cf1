// docker-compose.yml, .env.example and docker/examples/docker-compose.scale.yml: the structure the
// issue asks for, and (with Debian's docker-compose installed) `docker-compose config` accepting it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envFile, filledEnv, output, quickStartEnv, read, readYaml, referencedVars, requiredVars, run, tool } from './tools.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
  user?: string;
  stop_grace_period?: string;
  profiles?: string[];
  network_mode?: string;
  extra_hosts?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  version?: string;
}

const compose = readYaml<Compose>('docker-compose.yml');
const svc = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
/** Container ports a service publishes on the host ("[ip:]host:container[/proto]"). */
const published = (s: Service): string[] => (s.ports ?? []).map((p) => p.replace(/\$\{[^}]*\}/g, 'X').split(':').pop() as string);

describe('docker-compose.yml structure', () => {
  it('has the five services, rtpengine only in the media profile, and no version key (Compose v2 and Debian docker-compose 1.29 both read it)', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['drachtio', 'edge', 'grafana', 'prometheus', 'redis', 'rtpengine']);
    expect(Object.entries(compose.services).filter(([, s]) => s.profiles).map(([name]) => name)).toEqual(['rtpengine']);
    expect(compose.version).toBeUndefined();
  });

  it('rtpengine (media.anchor): Debian rtpengine-daemon on the host network, its port range and ng address from .env; the edge reaches it by the host gateway', () => {
    const r = svc('rtpengine');
    expect(r.profiles).toEqual(['media']);
    expect(r.network_mode).toBe('host');
    expect(r.build).toEqual({ context: 'docker', dockerfile: 'Dockerfile.rtpengine' });
    expect(read('docker/Dockerfile.rtpengine')).toMatch(/apt-get install .*rtpengine-daemon/);
    expect(r.volumes).toContain('./docker/rtpengine-start.sh:/usr/local/bin/rtpengine-start.sh:ro');
    expect(Object.keys(r.environment ?? {})).toEqual(expect.arrayContaining(['RTP_INTERFACE', 'RTP_PORT_MIN', 'RTP_PORT_MAX', 'RTPENGINE_NG_LISTEN']));
    const start = read('docker/rtpengine-start.sh');
    expect(start).toMatch(/--port-min="\$\{RTP_PORT_MIN:-30000\}" --port-max="\$\{RTP_PORT_MAX:-40000\}"/);
    expect(start).toMatch(/--config-file=none/);
    expect(svc('edge').extra_hosts).toContain('host.docker.internal:${HOST_GATEWAY:-host-gateway}'); // podman 4.3: an address
    expect(read('docker/edge.yaml')).toMatch(/enabled: "\$\{WA_EDGE_MEDIA:-false\}"/);
  });

  it('runs drachtio-server built from the pinned source plus the patches (docker/Dockerfile.drachtio) with docker/drachtio.conf.xml, SIP published, 9022 not', () => {
    const d = svc('drachtio');
    expect(d.build).toEqual({ context: '.', dockerfile: 'docker/Dockerfile.drachtio' });
    expect(read('docker/Dockerfile.drachtio')).toMatch(/install-drachtio-server\.sh/);
    expect(d.volumes).toContain('./docker/drachtio.conf.xml:/etc/drachtio/drachtio.conf.xml:ro');
    expect(published(d).sort()).toEqual(['5060/tcp', '5060/udp', '5061/tcp', '8443/tcp']); // 8443: the phone's WSS, listening only with WA_EDGE_PHONE=true
    expect(d.environment?.WA_EDGE_PHONE).toBe(svc('edge').environment?.WA_EDGE_PHONE);
    for (const s of Object.values(compose.services)) expect(published(s).some((p) => p.startsWith('9022'))).toBe(false);
    expect(d.expose).toContain('9022');
    expect(d.environment?.DRACHTIO_SECRET).toMatch(/^\$\{DRACHTIO_SECRET:\?/);
  });

  it('drachtio starts through docker/drachtio-start.sh, which execs drachtio -f on the mounted file', () => {
    const d = svc('drachtio');
    expect(d.entrypoint).toEqual(['/bin/sh', '/usr/local/bin/drachtio-start.sh']);
    expect(d.volumes).toContain('./docker/drachtio-start.sh:/usr/local/bin/drachtio-start.sh:ro');
    expect(read('docker/drachtio-start.sh')).toMatch(/exec drachtio "\$@"/);
  });

  it('Redis persists append-only on a named volume, never evicts, and is not published', () => {
    const r = svc('redis');
    const cmd = Array.isArray(r.command) ? r.command : String(r.command).split(/\s+/);
    expect(cmd[0]).toBe('redis-server'); // so the image's entrypoint chowns /data on every start
    expect(cmd[cmd.indexOf('--appendonly') + 1]).toBe('yes');
    expect(cmd[cmd.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(cmd[cmd.indexOf('--dir') + 1]).toBe('/data');
    const vol = (r.volumes ?? []).find((v) => v.endsWith(':/data'));
    expect(vol).toBeDefined();
    const name = (vol as string).split(':')[0] as string;
    expect(name.startsWith('.') || name.startsWith('/')).toBe(false); // named volume, not a bind mount
    expect(Object.keys(compose.volumes ?? {})).toContain(name);
    expect(r.user).toBeUndefined(); // `user:` would skip the entrypoint's chown
    expect(r.ports ?? []).toEqual([]);
    expect(r.healthcheck?.test.join(' ')).toContain('redis-cli ping');
  });

  it('builds the edge from docker/Dockerfile, mounts its config under /app/config and checks /healthz', () => {
    const e = svc('edge');
    expect(e.build).toEqual({ context: '.', dockerfile: 'docker/Dockerfile' });
    expect(e.environment?.WA_EDGE_CONFIG).toBe('/app/config/edge.yaml');
    expect(e.volumes).toContain('${EDGE_CONFIG_FILE:-./docker/edge.yaml}:/app/config/edge.yaml:ro');
    const hc = (e.healthcheck?.test ?? []).join(' ');
    const dockerfile = read('docker/Dockerfile');
    expect(hc.includes('/healthz') || /^HEALTHCHECK .*\/healthz/ms.test(dockerfile)).toBe(true);
    expect(hc).toContain("fetch('http://127.0.0.1:8080/healthz')");
    expect(e.depends_on).toMatchObject({ redis: { condition: 'service_healthy' }, drachtio: { condition: 'service_healthy' } });
    expect(published(e)).toEqual(['8080']);
    expect(e.ports?.[0]).toContain('127.0.0.1:8080'); // the API is not on all interfaces by default
    // SIGTERM drains for sip.drainSeconds (30 s): compose must wait longer.
    expect(Number.parseInt(e.stop_grace_period ?? '10', 10)).toBeGreaterThan(30);
  });

  it('gives the edge every variable docker/edge.yaml uses (and nothing needs a .env value that is not listed)', () => {
    const env = svc('edge').environment ?? {};
    const needed = [...referencedVars(read('docker/edge.yaml'))].filter((v) => !['DRACHTIO_HOST', 'REDIS_URL', 'DRACHTIO_PORT', 'WA_EDGE_HTTP_PORT'].includes(v));
    for (const v of needed) expect(Object.keys(env), `edge.environment lacks ${v}`).toContain(v);
  });

  it('Prometheus and Grafana get their files', () => {
    const p = svc('prometheus');
    expect(p.volumes).toEqual(expect.arrayContaining(['./docker/prometheus.yml:/etc/prometheus/prometheus.yml:ro', './docker/alerts.yml:/etc/prometheus/alerts.yml:ro']));
    const g = svc('grafana');
    expect(g.volumes).toEqual(
      expect.arrayContaining([
        './docker/grafana/provisioning/datasources:/etc/grafana/provisioning/datasources:ro',
        './docker/grafana/provisioning/dashboards:/etc/grafana/provisioning/dashboards:ro',
        './docker/grafana/dashboards:/etc/grafana/dashboards:ro',
      ]),
    );
    expect(g.environment?.GF_SECURITY_ADMIN_PASSWORD).toMatch(/:\?/);
  });
});

describe('.env.example', () => {
  const { set, commented } = envFile(read('.env.example'));
  const composeText = read('docker-compose.yml');

  it('lists every variable docker-compose.yml and docker/edge.yaml use', () => {
    const used = new Set([...referencedVars(composeText), ...referencedVars(read('docker/edge.yaml')), ...referencedVars(read('docker/examples/docker-compose.scale.yml'))]);
    const missing = [...used].filter((v) => !set.has(v) && !commented.has(v));
    expect(missing).toEqual([]);
    expect(set.get('COMPOSE_PROJECT_NAME')).toBe('wa-sip-edge');
  });

  it('leaves exactly the required variables (${VAR:?}) empty, and ships no secret', () => {
    const required = requiredVars(composeText);
    for (const v of required) expect(set.get(v), `${v} is required: .env.example must leave it empty`).toBe('');
    const empty = [...set].filter(([, v]) => v === '').map(([k]) => k);
    // Only the values of switches that are off by default are optional and empty: Meta's (no Meta app
    // of one's own with Telnyx's embedded signup), Telnyx's webhook key, its API key and the template's name.
    expect(empty.filter((k) => !required.has(k)).sort()).toEqual(['META_APP_SECRET', 'META_CLOUD_API_TOKEN', 'META_VERIFY_TOKEN', 'TELNYX_API_KEY', 'TELNYX_PUBLIC_KEY', 'WA_PERMISSION_TEMPLATE', 'WA_PHONE_NUMBER_ID']);
    expect([...required].filter((v) => v.startsWith('META_'))).toEqual([]);
  });
});

describe('docker/examples/docker-compose.scale.yml', () => {
  const scale = readYaml<Compose>('docker/examples/docker-compose.scale.yml');

  it('adds a second edge identical to the first in what it is given; the digest secret is optional (the key is shared through Redis)', () => {
    const e2 = scale.services['edge-2'] as Service;
    const secret = (scale.services.edge as Service).environment?.WA_EDGE_DIGEST_SECRET;
    expect(secret).toBe('${WA_EDGE_DIGEST_SECRET:-}');
    expect(e2.environment).toEqual({ ...svc('edge').environment, WA_EDGE_DIGEST_SECRET: secret });
    expect(e2.build).toEqual(svc('edge').build);
    expect(e2.volumes).toEqual(svc('edge').volumes);
    expect(e2.healthcheck).toEqual(svc('edge').healthcheck);
  });
});

describe('docker-compose config (Debian package docker-compose)', () => {
  const dc = tool('docker-compose', 'docker-compose');
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-compose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const writeEnv = (name: string, vars: Record<string, string>) => {
    const file = join(dir, name);
    writeFileSync(file, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    return file;
  };
  // Only the variables given here: a developer's own .env or shell must not make it pass.
  const cleanEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' });

  it.skipIf(dc.skip)('accepts docker-compose.yml with .env.example filled in', () => {
    const envFileName = writeEnv('filled.env', filledEnv());
    const r = run(dc, ['--env-file', envFileName, '-f', 'docker-compose.yml', 'config', '-q'], { env: cleanEnv() });
    expect(r.status, output(r)).toBe(0);
  });

  it.skipIf(dc.skip)('resolves the stack as intended (interpolation, published ports)', () => {
    const envFileName = writeEnv('filled.env', filledEnv());
    const r = run(dc, ['--env-file', envFileName, '-f', 'docker-compose.yml', 'config'], { env: cleanEnv() });
    expect(r.status, output(r)).toBe(0);
    expect(r.stdout).toContain('DRACHTIO_SECRET: test-drachtio-secret');
    expect(r.stdout).not.toMatch(/9022:9022/);
  });

  it.skipIf(dc.skip)('accepts .env.example with only its Required values filled in: no Meta values, every switch off', () => {
    const vars = quickStartEnv();
    expect(vars.META_APP_SECRET).toBe('');
    const envFileName = writeEnv('quickstart.env', vars);
    const r = run(dc, ['--env-file', envFileName, '-f', 'docker-compose.yml', 'config'], { env: cleanEnv() });
    expect(r.status, output(r)).toBe(0);
    expect(r.stdout).toMatch(/WA_EDGE_META_WEBHOOK: "?false"?/);
    expect(r.stdout).toMatch(/WA_EDGE_HTTP_HOST: 0\.0\.0\.0/);
  });

  it.skipIf(dc.skip)('refuses to start without a required variable, naming it', () => {
    const vars = filledEnv();
    delete vars.DRACHTIO_SECRET;
    const envFileName = writeEnv('partial.env', vars);
    const r = run(dc, ['--env-file', envFileName, '-f', 'docker-compose.yml', 'config', '-q'], { env: cleanEnv() });
    expect(r.status).not.toBe(0);
    expect(output(r)).toContain('set DRACHTIO_SECRET in .env');
  });

  it.skipIf(dc.skip)('accepts the two-edge override with nothing added to .env (no WA_EDGE_DIGEST_SECRET)', () => {
    const envFileName = writeEnv('filled.env', filledEnv());
    const r = run(dc, ['--env-file', envFileName, '-f', 'docker-compose.yml', '-f', 'docker/examples/docker-compose.scale.yml', 'config'], { env: cleanEnv() });
    expect(r.status, output(r)).toBe(0);
    expect(r.stdout).toContain('edge-2:');
  });

  it.skipIf(dc.skip)('passes a WA_EDGE_DIGEST_SECRET that is set to both edges', () => {
    const envFileName = writeEnv('scale.env', { ...filledEnv(), WA_EDGE_DIGEST_SECRET: 'test-digest-secret-0123456789' });
    const r = run(dc, ['--env-file', envFileName, '-f', 'docker-compose.yml', '-f', 'docker/examples/docker-compose.scale.yml', 'config'], { env: cleanEnv() });
    expect(r.status, output(r)).toBe(0);
    expect(r.stdout).toContain('edge-2:');
    expect(r.stdout.match(/WA_EDGE_DIGEST_SECRET: test-digest-secret-0123456789/g)).toHaveLength(2);
    expect(r.stdout).toContain('prometheus.scale.yml:/etc/prometheus/prometheus.yml');
  });
});
