import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { configPath, loadConfig, parseConfig } from '../../src/config/load.js';
import { baseConfigObject, configProblems } from '../helpers/config.js';

const problems = (obj: unknown, env: NodeJS.ProcessEnv = {}) => configProblems(() => parseConfig(typeof obj === 'string' ? obj : stringify(obj), 'x.yaml', env));

describe('configuration (SPEC §2)', () => {
  it('the shipped default.yaml and example.yaml are valid', () => {
    expect(loadConfig('config/default.yaml', {}).numbers[0]?.number).toBe('+447418613982');
    // The production template with only its required variables (docs/quickstart.md, "Variables").
    const env = {
      DRACHTIO_SECRET: 'x'.repeat(20), REDIS_PASSWORD: 'x'.repeat(20), WA_EDGE_ADMIN_TOKEN: 'x'.repeat(20),
      TELNYX_SIP_USERNAME: 'user', TELNYX_SIP_PASSWORD: 'x'.repeat(20), WA_BUSINESS_NUMBER: '+447418613982',
      PBX_SOURCE_CIDR: '203.0.113.10/32', PBX_TRUNK_PASSWORD: 'x'.repeat(20), PBX_INBOUND_URI: 'sip:100@pbx.example.com:5060',
    };
    const c = loadConfig('config/example.yaml', env);
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.trunks[0]?.auth?.username).toBe('pbx');
  });

  it('fills defaults from SPEC §2', () => {
    const c = parseConfig(stringify(baseConfigObject()), 'x', {});
    expect(c.whatsapp.temporaryPermissionHours).toBe(168);
    expect(c.whatsapp.connectedCallsPer24h).toEqual({ perUser: 100, perNumber: null });
    expect(c.whatsapp.callAttemptsPer24h).toBe(10000);
    expect(c.whatsapp.maxConcurrentCalls).toBe(1000);
    expect(c.whatsapp.unanswered).toEqual({ codes: [408, 480, 486, 487, 603], nudgeAt: 2, revokeAt: 4, stopAt: null });
    expect(c.whatsapp.blockedRegions).toEqual(['US', 'CA', 'EG', 'VN', 'NG']);
    expect(c.media.codecs).toEqual(['opus', 'PCMU', 'PCMA', 'telephone-event']);
  });

  it('sip.digestSecret: absent or empty (an unset ${VAR:-}) leaves a per-process key; set, at least 16 characters', () => {
    expect(parseConfig(stringify(baseConfigObject()), 'x', {}).sip.digestSecret).toBeUndefined();
    const fromEnv = (value: string | undefined) => parseConfig(stringify(baseConfigObject({ sip: { digestSecret: '${WA_EDGE_DIGEST_SECRET:-}' } })), 'x', value === undefined ? {} : { WA_EDGE_DIGEST_SECRET: value });
    expect(fromEnv(undefined).sip.digestSecret).toBe('');
    expect(fromEnv('0123456789abcdef0123').sip.digestSecret).toBe('0123456789abcdef0123');
    expect(problems(baseConfigObject({ sip: { digestSecret: 'short' } }))).toEqual(['sip.digestSecret: at least 16 characters (e.g. openssl rand -hex 32)']);
  });

  it('an absent block gets the same defaults as an empty one (each default written once)', () => {
    const absent = parseConfig(stringify(baseConfigObject()), 'x', {});
    const empty = parseConfig(stringify(baseConfigObject({ sip: {}, log: {}, media: {} })), 'x', {});
    expect(absent.sip).toEqual(empty.sip);
    expect(absent.sip.scannerBan).toEqual({ requestsPer10s: 50, authFailuresPer10m: 10, banSeconds: 600 });
    expect(absent.sip.registration).toEqual({ minExpires: 60, maxExpires: 3600, defaultExpires: 3600 });
    expect(absent.log).toEqual({ level: 'info' });
    expect(absent.media).toEqual(empty.media);
    const partial = parseConfig(stringify(baseConfigObject({ sip: { scannerBan: { banSeconds: 5 } } })), 'x', {});
    expect(partial.sip.scannerBan).toEqual({ requestsPer10s: 50, authFailuresPer10m: 10, banSeconds: 5 });
  });

  it('is frozen', () => {
    const c = parseConfig(stringify(baseConfigObject()), 'x', {});
    expect(Object.isFrozen(c.whatsapp.unanswered.codes)).toBe(true);
  });

  it('substitutes ${VAR} and ${VAR:-default}, numbers included', () => {
    const obj = baseConfigObject({ http: { host: '127.0.0.1', port: '${PORT:-8081}', adminToken: '${TOKEN}' } });
    const c = parseConfig(stringify(obj), 'x', { TOKEN: 'a-token-long-enough-123' });
    expect(c.http.port).toBe(8081);
    expect(c.http.adminToken).toBe('a-token-long-enough-123');
  });

  it('reports every problem at once, each with its key path', () => {
    const obj = baseConfigObject({
      trunks: [{ name: 'acme', sources: ['10.0.0.0/8', 'nope'], numbers: ['+447418613982', '+34612345678'] }],
      http: { adminToken: '${MISSING_TOKEN}' },
      whatsapp: { blockedRegions: ['XX'], maxConcurrentCalls: 0 },
    });
    const p = problems(obj);
    expect(p).toContain('trunks[0].sources[1]: not a CIDR');
    expect(p).toContain('trunks[0].numbers[1]: not listed under numbers');
    expect(p).toContain('http.adminToken: environment variable MISSING_TOKEN is not set');
    expect(p.some((x) => x.startsWith('whatsapp.blockedRegions[0]:'))).toBe(true);
    expect(p.some((x) => x.startsWith('whatsapp.maxConcurrentCalls:'))).toBe(true);
  });

  it('refuses unknown keys, bad URIs and bad numbers', () => {
    const p = problems(
      baseConfigObject({
        whatsapp: { maxConcurentCalls: 5 },
        numbers: [{ number: '+447418613982', inbound: ['http://x'] }, { number: '12345' }],
      }),
    );
    expect(p.some((x) => x.startsWith('whatsapp:') && x.includes('maxConcurentCalls'))).toBe(true);
    expect(p).toContain('numbers[0].inbound[0]: not a sip: URI or device:NAME');
    expect(p).toContain('numbers[1].number: not a valid E.164 number (+ and country code)');
  });

  // Cross-references are checked once every entry parses on its own (zod runs them last).
  it('refuses dangling device targets, duplicate numbers and trunk names', () => {
    const p = problems(
      baseConfigObject({
        trunks: [
          { name: 'acme', sources: ['10.0.0.0/8'], numbers: ['+447418613982'] },
          { name: 'acme', sources: ['10.0.0.0/8'], numbers: ['+447418613982'] },
        ],
        numbers: [{ number: '+447418613982', inbound: ['device:bob'] }, { number: '447418613982' }],
      }),
    );
    expect(p).toContain('numbers[0].inbound[0]: no device with that username');
    expect(p).toContain('numbers[1].number: duplicate of numbers[0]');
    expect(p).toContain('trunks[1].name: duplicate trunk name');
  });

  it('accepts Redis Sentinel and Cluster forms and refuses two at once', () => {
    const sentinel = { sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], name: 'wa-edge' };
    expect(problems(baseConfigObject({ redis: sentinel }))).toEqual([]);
    expect(problems(baseConfigObject({ redis: { cluster: [{ host: 'r1', port: 6379 }] } }))).toEqual([]);
    expect(problems(baseConfigObject({ redis: { url: 'redis://x', cluster: [{ host: 'r1', port: 6379 }] } }))).toContain(
      'redis: set exactly one of url, sentinels or cluster',
    );
    expect(problems(baseConfigObject({ redis: { sentinels: sentinel.sentinels } }))).toContain('redis.name: sentinels need the master name');
  });

  it('redis.failoverWaitMs (default 5000) and redis.waitReplicas (default 0, off) with its timeout (default 200)', () => {
    const c = parseConfig(stringify(baseConfigObject()), 'x.yaml', {});
    expect(c.redis).toMatchObject({ failoverWaitMs: 5000, waitReplicas: 0, waitReplicasTimeoutMs: 200 });
    expect(problems(baseConfigObject({ redis: { url: 'redis://x', failoverWaitMs: -1 } }))[0]).toMatch(/^redis\.failoverWaitMs: /);
    expect(problems(baseConfigObject({ redis: { url: 'redis://x', waitReplicas: 1, waitReplicasTimeoutMs: 0 } }))[0]).toMatch(/^redis\.waitReplicasTimeoutMs: /);
  });

  it('telnyx.register: a SIP URI registrar, telnyx.auth to register with, defaults from SPEC §2', () => {
    const telnyx = { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:127.0.0.2:5060', sources: ['127.0.0.2/32'] };
    const auth = { username: 'wasipedge01', password: 'a-password' };
    const ok = parseConfig(stringify(baseConfigObject({ telnyx: { ...telnyx, auth, register: { registrar: 'sip:sip.telnyx.com;transport=tls' } } })), 'x', {});
    expect(ok.telnyx.register).toEqual({ registrar: 'sip:sip.telnyx.com;transport=tls', expires: 600, retry: { minSeconds: 5, maxSeconds: 300 } });
    expect(problems(baseConfigObject({ telnyx: { ...telnyx, register: { registrar: 'sip:sip.telnyx.com' } } }))).toEqual([
      "telnyx.auth: required with telnyx.register (the credentials connection's username and password)",
    ]);
    for (const registrar of ['sip.telnyx.com', 'http://sip.telnyx.com', 'sip:', 'sip:sip telnyx.com']) {
      expect(problems(baseConfigObject({ telnyx: { ...telnyx, auth, register: { registrar } } })), registrar).toEqual([
        'telnyx.register.registrar: not a SIP URI (sip:host[:port][;transport=udp|tcp|tls])',
      ]);
    }
    expect(problems(baseConfigObject({ telnyx: { ...telnyx, auth, register: { registrar: 'sip:sip.telnyx.com', expires: 5, contact: 'edge.example.com' } } }))).toEqual([
      expect.stringMatching(/^telnyx\.register\.expires: /),
      'telnyx.register.contact: not a SIP URI (sip:host[:port][;transport=udp|tcp|tls])',
    ]);
  });

  it('says so for broken YAML and unreadable files', () => {
    expect(problems('a: [1, 2')[0]).toMatch(/^not valid YAML/);
    expect(() => loadConfig('/nonexistent.yaml')).toThrow(/cannot read: ENOENT/);
  });

  it('finds the file from --config, then WA_EDGE_CONFIG, then config/default.yaml', () => {
    expect(configPath(['--config', 'a.yaml'], { WA_EDGE_CONFIG: 'b.yaml' })).toBe('a.yaml');
    expect(configPath([], { WA_EDGE_CONFIG: 'b.yaml' })).toBe('b.yaml');
    expect(configPath([], {})).toBe('config/default.yaml');
  });
});

describe('drachtio: connect or spawn (SPEC §2)', () => {
  it('config/default.yaml spawns a local drachtio-server with SIP on 127.0.0.1:5060', () => {
    expect(loadConfig('config/default.yaml', {}).drachtio).toEqual({
      spawn: { bin: '/opt/drachtio/bin/drachtio', contacts: ['sip:127.0.0.1:5060;transport=udp,tcp'], logLevel: 'info', sofiaLogLevel: 3 },
    });
  });
  it('spawn fills its defaults', () => {
    const c = parseConfig(stringify(baseConfigObject({ drachtio: { spawn: {} } })), 'x', {});
    expect(c.drachtio).toEqual({ spawn: { bin: '/opt/drachtio/bin/drachtio', contacts: ['sip:127.0.0.1:5060;transport=udp,tcp'], logLevel: 'info', sofiaLogLevel: 3 } });
  });
  it('spawn.tls: the certificate of the sips: contacts', () => {
    const tls = { keyFile: '/etc/wa-edge/tls/privkey.pem', certFile: '/etc/wa-edge/tls/cert.pem' };
    const c = parseConfig(stringify(baseConfigObject({ drachtio: { spawn: { contacts: ['sips:0.0.0.0:5061;transport=tls'], tls } } })), 'x', {});
    expect(c.drachtio).toMatchObject({ spawn: { contacts: ['sips:0.0.0.0:5061;transport=tls'], tls } });
  });
  it('connect mode keeps host, port and secret', () => {
    const c = parseConfig(stringify(baseConfigObject({ drachtio: { host: 'drachtio', secret: 's3cret' } })), 'x', {});
    expect(c.drachtio).toEqual({ host: 'drachtio', port: 9022, secret: 's3cret' });
  });
  it.each([
    [{ spawn: {}, secret: 'x' }, 'drachtio.spawn: spawn starts a local drachtio-server: leave out host, port and secret'],
    [{}, 'drachtio.secret: required (or use spawn)'],
    [{ spawn: { contacts: ['sip:127.0.0.1:5060', '5060'] } }, 'drachtio.spawn.contacts[1]: not a SIP contact (sip:ADDRESS:PORT;transport=udp,tcp)'],
    [{ spawn: { contacts: ['sip:127.0.0.1:5060;transport=sctp'] } }, 'drachtio.spawn.contacts[0]: unknown transport sctp'],
    [{ spawn: { sofiaLogLevel: 12 } }, 'drachtio.spawn.sofiaLogLevel: '],
    [{ spawn: { contacts: ['sip:127.0.0.1:5061;transport=tls'] } }, 'drachtio.spawn.contacts[0]: transport=tls needs a sips: contact'],
    [{ spawn: { tls: { keyFile: '/etc/wa-edge/tls/privkey.pem' } } }, 'drachtio.spawn.tls: set both keyFile and certFile, or neither'],
    [{ spawn: { tls: { certFile: '/x.pem', keyFile: '/y.pem', verify: true } } }, 'drachtio.spawn.tls: '],
  ])('refuses %j', (drachtio, problem) => {
    expect(problems(baseConfigObject({ drachtio })).join('\n')).toContain(problem);
  });
});

describe('blocks switched on and off by a variable (the shipped templates)', () => {
  const switched = (env: NodeJS.ProcessEnv) =>
    parseConfig(
      stringify(
        baseConfigObject({
          telnyx: {
            dialDomain: 'sip.telnyx.com',
            outboundProxy: 'sip:127.0.0.2:5060',
            sources: ['127.0.0.2/32'],
            auth: { username: '${TELNYX_SIP_USERNAME:-none}', password: '${TELNYX_SIP_PASSWORD:-none}' },
            register: { enabled: '${WA_EDGE_TELNYX_REGISTER:-false}', registrar: 'sip:sip.telnyx.com;transport=tls' },
          },
          whatsapp: {
            webhook: { enabled: '${WA_EDGE_META_WEBHOOK:-false}', appSecret: '${META_APP_SECRET}', verifyToken: '${META_VERIFY_TOKEN}' },
            cloudApi: { enabled: '${WA_EDGE_CLOUD_API:-false}', baseUrl: 'https://graph.facebook.com/v23.0', token: '${META_CLOUD_API_TOKEN}' },
          },
          media: { anchor: { enabled: '${WA_EDGE_MEDIA:-false}', rtpengine: ['${RTPENGINE_NG}'] } },
          numbers: [{ number: '+447418613982', phoneNumberId: '${WA_PHONE_NUMBER_ID:-}' }],
        }),
      ),
      'x.yaml',
      env,
    );

  it('off by default: as if absent, and their variables are not needed', () => {
    const c = switched({});
    expect(c.telnyx.register).toBeUndefined();
    expect(c.whatsapp.webhook).toBeUndefined();
    expect(c.whatsapp.cloudApi).toBeUndefined();
    expect(c.media.anchor).toBeUndefined();
    expect(c.numbers[0]?.phoneNumberId).toBeUndefined();
  });

  it('on: validated whole, naming each missing variable', () => {
    const p = configProblems(() => switched({ WA_EDGE_META_WEBHOOK: 'true', WA_EDGE_CLOUD_API: 'true', WA_EDGE_MEDIA: 'true' }));
    expect(p).toEqual(
      expect.arrayContaining([
        'whatsapp.webhook.appSecret: environment variable META_APP_SECRET is not set',
        'whatsapp.webhook.verifyToken: environment variable META_VERIFY_TOKEN is not set',
        'whatsapp.cloudApi.token: environment variable META_CLOUD_API_TOKEN is not set',
        'media.anchor.rtpengine[0]: environment variable RTPENGINE_NG is not set',
      ]),
    );
    const c = switched({
      WA_EDGE_TELNYX_REGISTER: 'true', WA_EDGE_META_WEBHOOK: 'true', WA_EDGE_CLOUD_API: 'true', WA_EDGE_MEDIA: 'true',
      META_APP_SECRET: 'app-secret', META_VERIFY_TOKEN: 'verify', META_CLOUD_API_TOKEN: 'token', RTPENGINE_NG: '127.0.0.1:22222', WA_PHONE_NUMBER_ID: '1234567890',
    });
    expect(c.telnyx.register).toMatchObject({ registrar: 'sip:sip.telnyx.com;transport=tls', expires: 600 });
    expect(c.whatsapp.webhook).toEqual({ appSecret: 'app-secret', verifyToken: 'verify' });
    expect(c.whatsapp.cloudApi).toMatchObject({ token: 'token', timeoutMs: 5000 });
    expect(c.media.anchor).toMatchObject({ rtpengine: ['127.0.0.1:22222'], noMediaSeconds: 10 });
    expect(c.numbers[0]?.phoneNumberId).toBe('1234567890');
  });

  it('a switch that is neither true nor false is refused', () => {
    expect(configProblems(() => switched({ WA_EDGE_MEDIA: 'yes', RTPENGINE_NG: '127.0.0.1:22222' })).some((p) => p.startsWith('media.anchor.enabled:'))).toBe(true);
  });
});

describe('CIDR lists from one variable', () => {
  it('splits items on commas, so TELNYX_SOURCES / PBX_SOURCE_CIDR can carry several', () => {
    const obj = baseConfigObject({
      telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:127.0.0.2:5060', sources: ['${TELNYX_SOURCES:-192.76.120.10/32, 64.16.250.10/32}'] },
      trunks: [{ name: 'acme', sources: ['${PBX_SOURCE_CIDR}', '10.0.0.0/8'], numbers: ['+447418613982'] }],
    });
    const c = parseConfig(stringify(obj), 'x', { PBX_SOURCE_CIDR: '203.0.113.10/32,203.0.113.11/32' });
    expect(c.telnyx.sources).toEqual(['192.76.120.10/32', '64.16.250.10/32']);
    expect(c.trunks[0]?.sources).toEqual(['203.0.113.10/32', '203.0.113.11/32', '10.0.0.0/8']);
    expect(problems(obj, { PBX_SOURCE_CIDR: '203.0.113.10/32,nope' })).toContain('trunks[0].sources[1]: not a CIDR');
  });
});

describe('what the configuration depends on', () => {
  // The schema validates with pure functions only: config/ reaches into domain/ and libraries,
  // never into sip/, media/, state/ or http/ (so a check and the code that later reads the value
  // share one function without the configuration pulling in drachtio or Redis).
  it('src/config/ imports domain/ and libraries only, and domain/ nothing of the edge', () => {
    const importsOf = (dir: string) =>
      readdirSync(join('src', dir))
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) => [...readFileSync(join('src', dir, f), 'utf8').matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => `${dir}/${f}: ${m[1]}`));
    const edgeImport = /: \.\.\/(?!domain\/)/;
    expect(importsOf('config').filter((i) => edgeImport.test(i))).toEqual([]);
    expect(importsOf('domain').filter((i) => /: \.\.\//.test(i))).toEqual([]);
  });
});
