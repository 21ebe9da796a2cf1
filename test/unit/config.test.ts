import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { configPath, loadConfig, parseConfig } from '../../src/config/load.js';
import { baseConfigObject, configProblems } from '../helpers/config.js';

const problems = (obj: unknown, env: NodeJS.ProcessEnv = {}) => configProblems(() => parseConfig(typeof obj === 'string' ? obj : stringify(obj), 'x.yaml', env));

describe('configuration (SPEC §2)', () => {
  it('the shipped default.yaml and example.yaml are valid', () => {
    expect(loadConfig('config/default.yaml', {}).numbers[0]?.number).toBe('+447418613982');
    const env = Object.fromEntries(
      ['DRACHTIO_SECRET', 'WA_EDGE_ADMIN_TOKEN', 'TELNYX_SIP_USERNAME', 'TELNYX_SIP_PASSWORD', 'META_APP_SECRET', 'META_VERIFY_TOKEN', 'META_CLOUD_API_TOKEN', 'ACME_TRUNK_PASSWORD', 'ALICE_SIP_PASSWORD'].map((k) => [k, 'x'.repeat(20)]),
    );
    const c = loadConfig('config/example.yaml', env);
    expect(c.whatsapp.unanswered.stopAt).toBe(3);
    expect(c.devices[0]?.username).toBe('alice');
  });

  it('fills defaults from SPEC §2', () => {
    const c = parseConfig(stringify(baseConfigObject()), 'x', {});
    expect(c.whatsapp.temporaryPermissionHours).toBe(168);
    expect(c.whatsapp.connectedCallsPer24h).toEqual({ perNumber: 100, perUser: 100 });
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
