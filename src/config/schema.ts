// The configuration contract of SPEC §2, as one zod schema. Every number is a default here,
// never a constant in the code that uses it, and written once: an absent block is parsed from `{}`
// (`.prefault({})`), so its fields' own defaults fill it.
import { z } from 'zod';
import { isValidCidr } from '../domain/sources.js';
import { isValidRegion, parseBusinessNumber } from '../domain/numbers.js';
import { contactListeners, webrtcContactProblem } from '../domain/sipContact.js';
import { parseNgAddress } from '../domain/ngAddress.js';
import { parseSipUri } from '../domain/sipUri.js';
import { parseInboundTarget, type InboundTarget } from '../domain/inboundTargets.js';
import { patternProblem } from '../domain/upstreamRefusals.js';

// `${VAR}` substitution yields strings; accept "8080" where a number is expected.
const fromEnvString = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return v;
};
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(fromEnvString, z.number().int().min(min).max(max));
const bool = () => z.preprocess(fromEnvString, z.boolean());
const port = () => int(1, 65535);
const nonEmpty = (what: string) => z.string().trim().min(1, `${what} must not be empty`);
// An optional block with an `enabled` switch, so one shipped file serves every site: the templates
// say `enabled: "${WA_EDGE_MEDIA:-false}"`. Off, the block is as if absent and nothing else in it is
// checked (src/config/load.ts does not even substitute its variables); on or without the key, it is
// validated whole.
const isSwitchedOff = (v: unknown): boolean =>
  v !== null && typeof v === 'object' && 'enabled' in v && fromEnvString((v as { enabled: unknown }).enabled) === false;
const switchable = <T extends z.ZodType>(block: T) => z.preprocess((v) => (isSwitchedOff(v) ? undefined : v), block.optional());
const enabledFlag = () => bool().optional();
// `${WA_PHONE_NUMBER_ID:-}` left empty: no value.
const emptyAsUnset = (v: unknown): unknown => (v === '' ? undefined : v);

const cidr = z.string().refine(isValidCidr, { message: 'not a CIDR' });
// A list of CIDRs; an item may hold several separated by commas, so one variable can carry a list
// (`sources: ["${TELNYX_SOURCES:-192.76.120.10/32,64.16.250.10/32}"]` in the shipped templates).
const cidrList = z.preprocess(
  (v) => (Array.isArray(v) ? v.flatMap((item: unknown) => (typeof item === 'string' ? item.split(',').map((c) => c.trim()).filter((c) => c !== '') : [item])) : v),
  z.array(cidr).min(1),
);
const region = z
  .string()
  .transform((s) => s.toUpperCase())
  .refine(isValidRegion, { message: 'not an ISO 3166 region code libphonenumber knows' });
// Stored canonical (`+` and digits) so every lookup compares like with like.
const e164 = z.string().transform((s, ctx) => {
  const parsed = parseBusinessNumber(s);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'not a valid E.164 number (+ and country code)' });
    return z.NEVER;
  }
  return parsed.e164;
});
const credentials = z.object({ username: nonEmpty('username'), password: nonEmpty('password') }).strict();
const hostPort = z.object({ host: nonEmpty('host'), port: port() }).strict();
const nullableCap = z.preprocess(fromEnvString, z.number().int().min(1).nullable());
// A SIP URI drachtio-server can send to: scheme, a host, optional port and parameters, no spaces,
// read by the parser that reads it later (src/sip/telnyxRegistration.ts); `*` is a listener's host only.
const sipUri = z.string().refine((s) => {
  const uri = parseSipUri(s);
  return uri !== undefined && uri.host !== '*' && uri.headers === undefined;
}, 'not a SIP URI (sip:host[:port][;transport=udp|tcp|tls])');
// A regular expression the configuration holds as text (whatsapp.upstreamRefusals).
const refusalPattern = z.string().min(1).superRefine((s, ctx) => {
  const problem = patternProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const headerName = z.string().regex(/^[A-Za-z0-9-]+\*?$/, 'not a header name (letters, digits, -, optional trailing *)');

// Either connect to a running drachtio-server (host/port/secret), or `spawn` a local one that
// the edge supervises (src/sip/localEngine.ts).
const engineSpawnSchema = z
  .object({
    bin: nonEmpty('bin').default('/opt/drachtio/bin/drachtio'),
    contacts: z
      .array(
        z.string().superRefine((c, ctx) => {
          const listeners = contactListeners(c);
          if (typeof listeners === 'string') ctx.addIssue({ code: 'custom', message: listeners });
        }),
      )
      .min(1)
      .default(['sip:127.0.0.1:5060;transport=udp,tcp']),
    adminPort: port().optional(), // default: a free port picked at start
    externalIp: z.string().optional(),
    // Certificate of the sips:/tls contacts (src/sip/engineTls.ts); none: a self-signed one, logged loudly.
    tls: z
      .object({ keyFile: nonEmpty('keyFile').optional(), certFile: nonEmpty('certFile').optional(), chainFile: nonEmpty('chainFile').optional(), caFile: nonEmpty('caFile').optional() })
      .strict()
      .refine((t) => !!t.keyFile === !!t.certFile, { message: 'set both keyFile and certFile, or neither' })
      .optional(),
    logLevel: z.enum(['notice', 'error', 'warning', 'info', 'debug']).default('info'),
    sofiaLogLevel: int(0, 9).default(3),
  })
  .strict();
const drachtioSchema = z
  .object({ host: nonEmpty('host').optional(), port: port().optional(), secret: nonEmpty('secret').optional(), spawn: engineSpawnSchema.optional() })
  .strict()
  .superRefine((d, ctx) => {
    if (d.spawn && (d.host !== undefined || d.port !== undefined || d.secret !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['spawn'], message: 'spawn starts a local drachtio-server: leave out host, port and secret' });
    }
    if (!d.spawn && d.secret === undefined) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'required (or use spawn)' });
  })
  .transform((d): { spawn: EngineSpawn } | { host: string; port: number; secret: string } =>
    d.spawn ? { spawn: d.spawn } : { host: d.host ?? '127.0.0.1', port: d.port ?? 9022, secret: d.secret ?? '' },
  );
type EngineSpawn = z.infer<typeof engineSpawnSchema>;

const redisSchema = z
  .object({
    url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    sentinels: z.array(hostPort).min(1).optional(),
    name: z.string().optional(), // Sentinel master name
    cluster: z.array(hostPort).min(1).optional(),
    password: z.string().optional(),
    username: z.string().optional(),
    tls: bool().optional(),
    /** An outbound admission waits this long for an unreachable Redis (failover) before 503 state_unavailable. */
    failoverWaitMs: z.number().int().min(0).max(60_000).default(5000),
    /** >0: after the writes that must not be lost (permission grant/revoke, a call's settle), WAIT for that many replicas. */
    waitReplicas: z.number().int().min(0).max(16).default(0),
    /** The bound of that WAIT, ms: past it the write stands on the master alone (logged). */
    waitReplicasTimeoutMs: z.number().int().min(1).max(10_000).default(200),
  })
  .strict()
  .superRefine((r, ctx) => {
    const modes = [r.url, r.sentinels, r.cluster].filter((m) => m !== undefined).length;
    if (modes !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of url, sentinels or cluster' });
    if (r.sentinels && !r.name) ctx.addIssue({ code: 'custom', path: ['name'], message: 'sentinels need the master name' });
  });

// Typed once here: { kind: 'sip', uri } or { kind: 'device', name } (src/domain/inboundTargets.ts).
const inboundTarget = z.string().transform((s, ctx) => {
  const target = parseInboundTarget(s);
  if (!target) {
    ctx.addIssue({ code: 'custom', message: 'not a sip: URI or device:NAME' });
    return z.NEVER;
  }
  return target;
});

export const numberSchema = z
  .object({
    number: e164,
    calling: bool().default(true),
    phoneNumberId: z.preprocess((v) => (typeof v === 'number' ? String(v) : emptyAsUnset(v)), z.string().optional()),
    // Meta's WhatsApp Business Account id the number belongs to: an account_update that names no
    // number restricts the numbers of its account. Unset on every number: such an update applies
    // to all of them (one account per edge); set on some: only to those that match.
    wabaId: z.preprocess((v) => (typeof v === 'number' ? String(v) : emptyAsUnset(v)), z.string().optional()),
    // The approved call-permission-request template (Meta: a BODY component plus a
    // call_permission_request component) sent through telnyx.api outside the 24 h window; inside
    // it the edge sends the free-form interactive request instead. `bodyParameters`: the values of
    // the template body's variables, named ({{first_name}}) or positional ({{1}}, in order).
    permissionTemplate: z.preprocess(
      // `name: "${WA_PERMISSION_TEMPLATE:-}"` left empty in the shipped templates: no template.
      (v) => (v !== null && typeof v === 'object' && (v as { name?: unknown }).name === '' ? undefined : v),
      z
      .object({
        name: nonEmpty('name'),
        language: nonEmpty('language'),
        bodyParameters: z
          .array(z.object({ name: nonEmpty('name').optional(), text: nonEmpty('text') }).strict())
          .default([]),
      })
      .strict()
      .optional(),
    ),
    // Who sends this number's permission requests when both telnyx.api and whatsapp.cloudApi are
    // configured; default: telnyx when telnyx.api is, else cloud_api.
    permissionRequestsVia: z.enum(['telnyx', 'cloud_api']).optional(),
    inbound: z.array(inboundTarget).default([]),
    // Chosen by Meta's call-button or deep-link payload (x-wa-meta-cta-payload /
    // x-wa-meta-deeplink-payload) when the INVITE carries one; `inbound` otherwise.
    inboundRoutes: z
      .array(z.object({ payload: nonEmpty('payload'), targets: z.array(inboundTarget).min(1) }).strict())
      .default([])
      .superRefine((routes, ctx) => {
        const seen = new Set<string>();
        routes.forEach((r, i) => {
          if (seen.has(r.payload)) ctx.addIssue({ code: 'custom', path: [i, 'payload'], message: 'duplicate payload' });
          seen.add(r.payload);
        });
      }),
  })
  .strict();

export const trunkSchema = z
  .object({
    name: nonEmpty('name'),
    sources: cidrList,
    auth: credentials.optional(),
    numbers: z.array(e164).min(1),
    defaultRegion: region.optional(),
  })
  .strict();

export const deviceSchema = z
  .object({
    username: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore only'),
    password: nonEmpty('password'),
    numbers: z.array(e164).min(1),
    // The number it calls as when its identity headers name none of `numbers` (SPEC §1).
    callerId: e164.optional(),
    defaultRegion: region.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.callerId !== undefined && !d.numbers.includes(d.callerId)) ctx.addIssue({ code: 'custom', path: ['callerId'], message: 'not one of this device\'s numbers' });
  });

// Optional: relay every bridged call's RTP through rtpengine (ng protocol, SPEC §2 `media.anchor`).
const anchorSchema = z
  .object({
    // `${WA_EDGE_MEDIA:-false}` in a shipped file: anchoring switched on from the environment.
    enabled: enabledFlag(),
    rtpengine: z.array(z.string().refine((s) => parseNgAddress(s) !== undefined, { message: 'not host:port' })).min(1),
    noMediaSeconds: int(1, 3600).default(10),
    telnyxSrtp: bool().default(false),
    // How long an ng command may go unanswered before that rtpengine counts as down.
    requestTimeoutMs: int(50, 10000).default(1000),
    pingSeconds: int(1, 300).default(5),
  })
  .strict()
  .transform(({ enabled: _on, ...anchor }) => anchor);

/**
 * The checks across a business's numbers, trunks and devices: each number once, trunks and devices
 * call only from listed numbers, `device:NAME` targets name a device, trunk names unique. The file
 * (below) and every tenant stored through the API (src/tenants/schema.ts) are held to the same.
 */
export function checkBusinessEntries(
  c: { numbers: readonly z.infer<typeof numberSchema>[]; trunks: readonly z.infer<typeof trunkSchema>[]; devices: readonly z.infer<typeof deviceSchema>[] },
  ctx: z.RefinementCtx,
): void {
  const known = new Map<string, number>();
  c.numbers.forEach((n, i) => {
    const e = n.number;
    if (known.has(e)) ctx.addIssue({ code: 'custom', path: ['numbers', i, 'number'], message: `duplicate of numbers[${known.get(e)}]` });
    known.set(e, i);
  });
  const checkOwned = (list: string[], base: (string | number)[]) =>
    list.forEach((num, j) => {
      if (!known.has(num)) ctx.addIssue({ code: 'custom', path: [...base, j], message: 'not listed under numbers' });
    });
  c.trunks.forEach((t, i) => checkOwned(t.numbers, ['trunks', i, 'numbers']));
  c.devices.forEach((d, i) => checkOwned(d.numbers, ['devices', i, 'numbers']));
  const deviceNames = new Set(c.devices.map((d) => d.username));
  const checkDevices = (targets: InboundTarget[], path: (string | number)[]) =>
    targets.forEach((target, j) => {
      if (target.kind === 'device' && !deviceNames.has(target.name)) {
        ctx.addIssue({ code: 'custom', path: [...path, j], message: 'no device with that username' });
      }
    });
  c.numbers.forEach((n, i) => {
    checkDevices(n.inbound, ['numbers', i, 'inbound']);
    n.inboundRoutes.forEach((r, k) => checkDevices(r.targets, ['numbers', i, 'inboundRoutes', k, 'targets']));
  });
  const usernames = new Set<string>();
  c.devices.forEach((d, i) => {
    if (usernames.has(d.username)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'username'], message: 'duplicate device username' });
    usernames.add(d.username);
  });
  const names = new Set<string>();
  c.trunks.forEach((t, i) => {
    if (names.has(t.name)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'name'], message: 'duplicate trunk name' });
    names.add(t.name);
  });
}

export const configSchema = z
  .object({
    drachtio: drachtioSchema,
    redis: redisSchema,
    http: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port().default(8080),
        adminToken: z.string().min(16, 'must be at least 16 characters (set WA_EDGE_ADMIN_TOKEN)'),
      })
      .strict(),
    telnyx: z
      .object({
        dialDomain: nonEmpty('dialDomain').default('sip.telnyx.com'),
        outboundProxy: sipUri.default('sip:sip.telnyx.com;transport=tls'),
        auth: credentials.optional(),
        // A credentials connection sends users' calls only to a registered contact (SPEC §1).
        register: switchable(
          z
            .object({
              enabled: enabledFlag(), // `${WA_EDGE_TELNYX_REGISTER:-false}` in the shipped templates
              registrar: sipUri,
              expires: int(60, 86400).default(600),
              // The edge's public SIP contact as Telnyx must reach it; default: what drachtio-server
              // reports for the registrar's transport (its external-ip when it has one).
              contact: sipUri.optional(),
              // Back-off after a failure or timeout; refused credentials (403, 401 twice) wait maxSeconds.
              retry: z
                .object({ minSeconds: int(1).default(5), maxSeconds: int(1).default(300) })
                .strict()
                .prefault({}),
            })
            .strict()
            .transform(({ enabled: _on, ...register }) => register),
        ),
        sources: cidrList,
        // POST /v1/webhooks/telnyx: the account's public key as Telnyx's portal shows it (base64, Ed25519).
        webhook: switchable(
          z
            .object({
              enabled: enabledFlag(),
              publicKey: nonEmpty('publicKey').refine((k) => Buffer.from(k.trim(), 'base64').length === 32, 'not a base64 Ed25519 public key (32 bytes)'),
            })
            .strict()
            .transform(({ enabled: _on, ...webhook }) => webhook),
        ),
        // Telnyx's REST API (SPEC §2): permission requests through its WhatsApp messaging (POST
        // /messages/whatsapp), the 24 h window check, and the calling switch (calling_settings),
        // read at start and every `callingPollSeconds` by each instance into Redis.
        api: switchable(
          z
            .object({
              enabled: enabledFlag(), // `${WA_EDGE_TELNYX_API:-false}` in the shipped templates
              key: nonEmpty('key'),
              baseUrl: z.url().default('https://api.telnyx.com/v2'),
              timeoutMs: int(100, 60000).default(5000),
              callingPollSeconds: int(10, 86400).default(300),
            })
            .strict()
            .transform(({ enabled: _on, ...api }) => api),
        ),
        // Verify the certificate of whoever answers outgoing TLS (outboundProxy, register.registrar):
        // chain, dates and name, before any SIP is sent (the patched engine, docs/tls.md). caFile:
        // the CAs trusted for it instead of the system store; wildcard: `*.parent` for one label.
        tls: z
          .object({ verify: bool().default(true), wildcard: bool().default(true), caFile: nonEmpty('caFile').optional() })
          .strict()
          .prefault({}),
      })
      .strict()
      .superRefine((t, ctx) => {
        if (t.register && !t.auth) ctx.addIssue({ code: 'custom', path: ['auth'], message: 'required with telnyx.register (the credentials connection\'s username and password)' });
        if (t.register && t.register.retry.minSeconds > t.register.retry.maxSeconds) {
          ctx.addIssue({ code: 'custom', path: ['register', 'retry', 'minSeconds'], message: 'greater than maxSeconds' });
        }
      }),
    whatsapp: z
      .object({
        blockedRegions: z.array(region).default(['US', 'CA', 'EG', 'VN', 'NG']),
        temporaryPermissionHours: int(1).default(168),
        callbackPermission: bool().default(true),
        // Meta's cap is per business number + user (its "Obtain user call permissions" page and
        // changelog); perNumber is the seed guide's stricter reading, off unless set (docs/operations.md §5).
        connectedCallsPer24h: z
          .object({ perUser: nullableCap.default(100), perNumber: nullableCap.default(null) })
          .strict()
          .prefault({}),
        callAttemptsPer24h: nullableCap.default(10000),
        // How long Meta's restriction of business-initiated calling lasts when its webhook states
        // no expiration (Meta: 7 days after negative feedback); also how long a warning is shown.
        accountRestrictionHours: int(1).default(168),
        maxConcurrentCalls: int(1).default(1000),
        unanswered: z
          .object({
            codes: z.array(int(300, 699)).default([408, 480, 486, 487, 603]),
            nudgeAt: nullableCap.default(2),
            revokeAt: nullableCap.default(4),
            stopAt: nullableCap.default(null),
          })
          .strict()
          .prefault({}),
        permissionRequests: z
          .object({ per24h: int(0).default(1), per7d: int(0).default(2) })
          .strict()
          .prefault({}),
        ringTimeoutSeconds: int(1, 600).default(60),
        // Meta's refusals as Telnyx relays them (reason phrase, Reason or Warning text), matched
        // case-insensitively (src/domain/upstreamRefusals.ts). The defaults are Meta's published
        // texts and codes; the words Telnyx relays are not documented (docs/operations.md: capture one).
        upstreamRefusals: z
          .object({
            noPermission: z.array(refusalPattern).default(['no approved call permission', '\\b138006\\b']),
            pairCap: z
              .array(refusalPattern)
              .default(['connected calls? per day limit', 'business[- ]initiated calls? limit', 'max(imum)? business[- ]initiated calls to this number', '\\b138012\\b']),
            numberRate: z.array(refusalPattern).default(['limit reached for maximum calls', 'call rate limit', '\\b138005\\b']),
            // How long the number is held at attempt_limit when the rate refusal names no Retry-After.
            numberRateHoldSeconds: int(1, 86400).default(60),
          })
          .strict()
          .prefault({}),
        // How long an active-call lease lives without renewal: a dead instance's calls stop counting after it.
        leaseSeconds: int(10, 90).default(90),
        webhook: switchable(
          z
            .object({ enabled: enabledFlag(), appSecret: nonEmpty('appSecret'), verifyToken: nonEmpty('verifyToken') })
            .strict()
            .transform(({ enabled: _on, ...webhook }) => webhook),
        ),
        cloudApi: switchable(
          z
            .object({
              enabled: enabledFlag(),
              baseUrl: z.url(),
              token: nonEmpty('token'),
              timeoutMs: int(100, 60000).default(5000),
              // On a local no_permission, ask Meta's call_permissions before refusing (SPEC §2): false,
              // true (the defaults below), or the settings themselves. Each number needs a phoneNumberId.
              permissionLookup: z
                .union([
                  bool(),
                  z
                    .object({
                      // The call waits this long for Meta at most, then the local answer stands.
                      timeoutMs: int(50, 10000).default(800),
                      // A "no" (and an error) from Meta is reused this long per (number, user), per instance.
                      negativeCacheSeconds: int(0, 86400).default(60),
                    })
                    .strict(),
                ])
                .default(false)
                .transform((v) => (v === true ? { timeoutMs: 800, negativeCacheSeconds: 60 } : v)),
            })
            .strict()
            .transform(({ enabled: _on, ...cloudApi }) => cloudApi),
        ),
      })
      .strict(),
    media: z
      .object({
        codecs: z.array(nonEmpty('codec')).min(1).default(['opus', 'PCMU', 'PCMA', 'telephone-event']),
        anchor: switchable(anchorSchema),
      })
      .strict()
      .prefault({}),
    sip: z
      .object({
        realm: nonEmpty('realm').default('wa-sip-edge'),
        // Signs digest nonces: the same on every instance, so a nonce one issued verifies on all
        // (src/sip/digest.ts). Empty or absent: a random key per process, fine for one instance only.
        digestSecret: z.union([z.literal(''), z.string().min(16, 'at least 16 characters (e.g. openssl rand -hex 32)')]).optional(),
        // Headers copied from the PBX INVITE to Telnyx (everything else stays inside).
        forwardHeadersToTelnyx: z.array(headerName).default([]),
        // Headers copied from Telnyx's INVITE to the PBX (Meta's call metadata).
        forwardHeadersToPbx: z.array(headerName).default(['X-Wa-Meta-*']),
        inboundTargetTimeoutSeconds: int(1, 600).default(30),
        drainSeconds: int(0, 3600).default(30),
        registration: z
          // defaultExpires: for a REGISTER that states no expiry (RFC 3261 §10.2.1.1), clamped to the other two.
          .object({ minExpires: int(30).default(60), maxExpires: int(60).default(3600), defaultExpires: int(1).default(3600) })
          .strict()
          .prefault({}),
        scannerBan: z
          .object({
            requestsPer10s: int(1).default(50),
            authFailuresPer10m: int(1).default(10),
            banSeconds: int(1).default(600),
          })
          .strict()
          .prefault({}),
        // The console's phone (SPEC §4a): a ws/wss listener of the local engine, browsers signed in as devices.
        webrtc: switchable(
          z
            .object({
              enabled: enabledFlag(), // `${WA_EDGE_PHONE:-false}` in a shipped template
              contact: z.string().superRefine((c, ctx) => {
                const problem = webrtcContactProblem(c);
                if (problem) ctx.addIssue({ code: 'custom', message: problem });
              }),
              // Where browsers connect when not <scheme>://<console host>:<port> (a TLS proxy in front);
              // `${WA_EDGE_PHONE_URL:-}` left empty in the shipped templates: unset.
              url: z.preprocess(emptyAsUnset, z.string().regex(/^wss?:\/\/[^\s]+$/, 'not a ws:// or wss:// URL').optional()),
            })
            .strict()
            .transform(({ enabled: _on, ...webrtc }) => webrtc),
        ),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .prefault({}),
    // Tenants configured through the API (SPEC §2a, src/tenants/): how often an instance looks for a change.
    tenants: z
      .object({ pollMs: int(50, 1000).default(250) })
      .strict()
      .prefault({}),
    trunks: z.array(trunkSchema).default([]),
    devices: z.array(deviceSchema).default([]),
    numbers: z.array(numberSchema).min(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkBusinessEntries(c, ctx);
    c.numbers.forEach((n, i) => {
      const via = n.permissionRequestsVia;
      if (via === 'telnyx' && !c.telnyx.api) ctx.addIssue({ code: 'custom', path: ['numbers', i, 'permissionRequestsVia'], message: 'telnyx needs telnyx.api' });
      if (via === 'cloud_api' && !c.whatsapp.cloudApi) ctx.addIssue({ code: 'custom', path: ['numbers', i, 'permissionRequestsVia'], message: 'cloud_api needs whatsapp.cloudApi' });
    });
    if (c.sip.registration.minExpires > c.sip.registration.maxExpires) {
      ctx.addIssue({ code: 'custom', path: ['sip', 'registration', 'minExpires'], message: 'greater than maxExpires' });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type DrachtioConfig = Config['drachtio'];
export type EngineSpawnConfig = EngineSpawn;
export type TrunkConfig = Config['trunks'][number];
export type DeviceConfig = Config['devices'][number];
export type NumberConfig = Config['numbers'][number];
export type WhatsAppRules = Config['whatsapp'];
