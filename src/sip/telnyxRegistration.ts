// The edge's registration with Telnyx (SPEC §1, §2 `telnyx.register`): a credentials connection
// sends users' calls only to a registered contact. One registration per instance, kept alive:
// refreshed at half the expiry the registrar granted, retried with back-off after a failure or
// timeout, sent again after every drachtio-server (re)connect, removed (Expires: 0) on shutdown.
// drachtio-srf answers the digest challenge; this file only decides when to send what.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { backoffDelay } from '../domain/backoff.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DrachtioLink } from './connection.js';
import type { SipResponse, Srf } from './srf.js';
import { parseSipUri } from '../domain/sipUri.js';

export type RegistrationState = 'registering' | 'registered' | 'retrying' | 'refused' | 'unregistered';

type Credentials = NonNullable<Config['telnyx']['auth']>;

/** What the live binding was made with, so shutdown or a reload removes exactly that one. */
interface Binding {
  registrar: string;
  aor: string;
  contact: string;
  auth: Credentials;
}

/** No answer at all (not even sofia's own 408) within this long: counted as a timeout. */
const RESPONSE_TIMEOUT_MS = 40_000;
/** Shutdown waits this long for the registrar to confirm the Expires: 0. */
const UNREGISTER_TIMEOUT_MS = 5_000;

/** The transport the registrar is reached over: its `transport` parameter, else TLS for sips:, else UDP. */
export function transportOf(uri: string): 'udp' | 'tcp' | 'tls' | 'ws' | 'wss' {
  const p = parseSipUri(uri);
  const t = p?.params.transport?.toLowerCase();
  if (t === 'tcp' || t === 'tls' || t === 'ws' || t === 'wss' || t === 'udp') return t;
  return p?.scheme === 'sips' ? 'tls' : 'udp';
}

/**
 * The Contact to register: the configured one (the username inserted when it has no user part),
 * else drachtio-server's endpoint for the registrar's transport (`udp/1.2.3.4:5060,tcp/…`, its
 * external-ip when it has one). Its user is the registration's username: Telnyx sends users'
 * calls to exactly this URI, and inbound.ts recognises them by it.
 */
export function contactFor(username: string, registrar: string, configured: string | undefined, hostports: string | undefined): string | undefined {
  if (configured) return configured.includes('@') ? configured : configured.replace(/^(sips?:)/, `$1${username}@`);
  if (!hostports) return undefined;
  const transport = transportOf(registrar);
  const endpoints = hostports
    .split(',')
    .map((hp) => /^([a-z]+)\/(.+):(\d+)$/i.exec(hp.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ proto: m[1]!.toLowerCase(), host: m[2]!, port: m[3]! }));
  const ep = endpoints.find((e) => e.proto === transport) ?? endpoints[0];
  if (!ep) return undefined;
  const host = ep.host.includes(':') && !ep.host.startsWith('[') ? `[${ep.host}]` : ep.host;
  const scheme = parseSipUri(registrar)?.scheme ?? 'sip';
  return `${scheme}:${username}@${host}:${ep.port}${ep.proto === 'udp' ? '' : `;transport=${ep.proto}`}`;
}

/** The address-of-record: the username at the registrar's domain (sip:user@sip.telnyx.com). */
export function aorFor(username: string, registrar: string): string {
  // The schema checked the registrar with this parser: the fallback is for a caller that did not.
  const host = parseSipUri(registrar)?.host ?? registrar;
  return `sip:${username}@${host}`;
}

function sameBinding(a: string, b: string): boolean {
  const pa = parseSipUri(a);
  const pb = parseSipUri(b);
  if (!pa || !pb) return false;
  const port = (p: typeof pa) => p.port ?? 5060;
  return pa.user === pb.user && pa.host.toLowerCase() === pb.host.toLowerCase() && port(pa) === port(pb);
}

/**
 * The expiry the registrar granted (RFC 3261 §10.2.4): our Contact's `expires` parameter in the
 * 200, else the Expires header, else the shortest of the listed contacts, else what was asked.
 */
export function grantedExpires(contacts: { uri: string; params?: Record<string, unknown> }[], expiresHeader: string | undefined, ours: string, asked: number): number {
  const num = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : Number(v));
  const own = contacts.find((c) => sameBinding(c.uri, ours));
  const fromOwn = num(own?.params?.expires);
  if (fromOwn !== undefined && Number.isFinite(fromOwn)) return fromOwn;
  const header = num(expiresHeader?.trim());
  if (header !== undefined && Number.isFinite(header)) return header;
  const all = contacts.map((c) => num(c.params?.expires)).filter((e): e is number => e !== undefined && Number.isFinite(e));
  return all.length > 0 ? Math.min(...all) : asked;
}

/** Refresh at half the granted expiry: time for a lost refresh and a retry before the binding lapses. */
export function refreshDelayMs(grantedSeconds: number): number {
  return Math.max(500, grantedSeconds * 500);
}

/** Exponential back-off from minSeconds, doubling per consecutive failure, capped at maxSeconds. */
export function backoffMs(failures: number, retry: { minSeconds: number; maxSeconds: number }): number {
  return backoffDelay(failures, retry.minSeconds, retry.maxSeconds) * 1000;
}

const newCallId = () => `${randomUUID()}@wa-sip-edge`;

/** What makes a registration another one: undefined without `telnyx.register`. */
function identityOf(cfg: Readonly<Config>): string | undefined {
  const reg = cfg.telnyx.register;
  const auth = cfg.telnyx.auth;
  return reg && auth ? JSON.stringify([reg.registrar, reg.contact ?? null, auth.username, auth.password]) : undefined;
}

export class TelnyxRegistration {
  private current: RegistrationState = 'registering';
  private callId = newCallId();
  /** The registrar, credentials and contact setting the registration runs with. */
  private applied: string | undefined;
  private cseq = 0;
  /** Bumped whenever what is in flight stops mattering (reconnect, reload, stop). */
  private generation = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private binding: Binding | undefined;
  private stopped = false;
  private lastLogged = '';
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      srf: Srf;
      config: () => Readonly<Config>;
      drachtio: DrachtioLink;
      logger: Logger;
      metrics: Metrics;
    },
  ) {
    this.log = deps.logger.child({ component: 'telnyx-registration' });
  }

  /** Undefined without `telnyx.register`. */
  get state(): RegistrationState | undefined {
    return this.deps.config().telnyx.register ? this.current : undefined;
  }

  start(): void {
    this.deps.drachtio.onChange((connected) => {
      if (this.stopped || !this.deps.config().telnyx.register) return;
      this.cancel();
      if (connected) {
        this.failures = 0;
        void this.attempt(this.generation);
      } else {
        this.binding = undefined; // drachtio-server may have restarted: the next REGISTER makes it anew
        this.setState('registering', 'drachtio-server disconnected: registering again once it is back');
      }
    });
    this.applyConfig();
  }

  /**
   * After a reload (SIGHUP). A changed registrar, username, password or contact removes the old
   * binding and registers anew under a new Call-ID; while refused, a reload tries again at once
   * (the operator may have fixed the connection). Anything else leaves the registration alone.
   */
  async reload(): Promise<void> {
    const identity = identityOf(this.deps.config());
    if (identity === this.applied && this.current !== 'refused') return;
    this.cancel();
    const gen = this.generation;
    if (identity === undefined) this.deps.metrics.exportTelnyxRegistered(false);
    else if (identity !== this.applied) this.setState('registering', 'configuration changed');
    const before = this.binding;
    if (before && identity !== this.applied) await this.unregister(before);
    if (gen === this.generation && !this.stopped) this.applyConfig(); // else a later reload or stop took over
  }

  /** Removes the binding (Expires: 0) if there is one; called after the drain. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
    const b = this.binding;
    if (b) await this.unregister(b);
    if (this.deps.config().telnyx.register) this.setState('unregistered', 'shutting down');
  }

  private applyConfig(): void {
    const identity = identityOf(this.deps.config());
    if (identity !== this.applied) {
      // Another registration: its own Call-ID (RFC 3261 §10.2), and no answer of the old one's
      // transactions can be taken for the new one's (drachtio-srf keys its digest rounds by Call-ID).
      this.callId = newCallId();
      this.cseq = 0;
      this.applied = identity;
    }
    const on = identity !== undefined;
    this.deps.metrics.exportTelnyxRegistered(on);
    if (!on) return;
    this.deps.metrics.telnyxRegistered.set(0);
    this.failures = 0;
    this.current = 'registering';
    if (this.deps.drachtio.connected) void this.attempt(this.generation);
    // otherwise the next drachtio connect starts it
  }

  private cancel(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    const gen = this.generation;
    this.timer = setTimeout(() => void this.attempt(gen), ms);
    this.timer.unref();
  }

  /** Logs only when the state, or the reason of a failure, changes: not on every refresh. */
  private setState(state: RegistrationState, why: string, details: Record<string, unknown> = {}): void {
    this.current = state;
    this.deps.metrics.telnyxRegistered.set(state === 'registered' ? 1 : 0);
    const key = `${state}|${why}`;
    if (key === this.lastLogged) return;
    this.lastLogged = key;
    const line = { state, ...details };
    if (state === 'registered' || state === 'registering' || state === 'unregistered') this.log.info(line, `Telnyx registration ${state}: ${why}`);
    else if (state === 'refused') this.log.error(line, `Telnyx registration refused: ${why}`);
    else this.log.warn(line, `Telnyx registration failed: ${why}`);
  }

  private fail(why: string, details: Record<string, unknown>, retryAfterSeconds?: number): void {
    this.failures++;
    const reg = this.deps.config().telnyx.register!;
    const delay = Math.max(backoffMs(this.failures, reg.retry), Math.min(retryAfterSeconds ?? 0, reg.retry.maxSeconds) * 1000);
    this.setState('retrying', why, details);
    this.log.debug({ retryInMs: delay, failures: this.failures }, 'Telnyx registration retry scheduled');
    this.schedule(delay);
  }

  /** One REGISTER (with its digest round, answered by drachtio-srf) and what follows from its answer. */
  private async attempt(gen: number, expiresOverride?: number): Promise<void> {
    if (gen !== this.generation || this.stopped) return;
    const cfg = this.deps.config();
    const reg = cfg.telnyx.register;
    const auth = cfg.telnyx.auth;
    if (!reg || !auth) return;
    const contact = contactFor(auth.username, reg.registrar, reg.contact, this.deps.drachtio.hostports);
    if (!contact) return this.fail('no SIP contact: drachtio-server reported no endpoint and telnyx.register.contact is unset', {});
    const binding: Binding = { registrar: reg.registrar, aor: aorFor(auth.username, reg.registrar), contact, auth };
    const asked = expiresOverride ?? reg.expires;
    const outcome = await this.send(binding, asked);
    if (gen !== this.generation || this.stopped) return;
    if (outcome === 'timeout') return this.fail(`no answer from ${reg.registrar}`, { registrar: reg.registrar });
    if (outcome instanceof Error) return this.fail(`REGISTER not sent: ${outcome.message}`, { registrar: reg.registrar });
    const res = outcome;
    const details = { registrar: reg.registrar, status: res.status, reason: res.reason, contact };
    if (res.status >= 200 && res.status < 300) {
      const contacts = res.has('Contact') ? res.getParsedHeader('Contact') : [];
      const granted = grantedExpires(contacts, res.has('Expires') ? res.get('Expires') : undefined, contact, asked);
      if (granted <= 0) return this.fail('the registrar answered 200 but kept no binding for our contact', details);
      this.binding = binding;
      this.failures = 0;
      this.setState('registered', `${binding.aor} at ${contact}`, { ...details, expires: granted, asked });
      this.log.debug({ granted, refreshInMs: refreshDelayMs(granted) }, 'Telnyx registration refreshed');
      this.schedule(refreshDelayMs(granted));
      return;
    }
    if (res.status === 423 && res.has('Min-Expires') && expiresOverride === undefined) {
      const min = Number(res.get('Min-Expires'));
      if (Number.isFinite(min) && min > 0) return this.attempt(gen, min);
    }
    if (res.status === 401 || res.status === 407 || res.status === 403) {
      // drachtio-srf already answered the first challenge: a second one, or a 403, refuses these
      // credentials. Hammering would not change that (and may get the address blocked): wait long.
      this.failures++;
      const why = res.status === 403 ? `403 ${res.reason}: Telnyx refuses this connection (check the credentials connection is active and telnyx.auth)` : `${res.status} again after answering the challenge: telnyx.auth.username/password are wrong`;
      this.binding = undefined;
      this.setState('refused', why, details);
      this.schedule(reg.retry.maxSeconds * 1000);
      return;
    }
    this.binding = undefined;
    const retryAfter = res.has('Retry-After') ? Number.parseInt(res.get('Retry-After'), 10) : undefined;
    this.fail(`${res.status} ${res.reason}`, details, Number.isFinite(retryAfter) ? retryAfter : undefined);
  }

  /** Sends one REGISTER and resolves with its final response, 'timeout', or the error that kept it from being sent. */
  private send(b: Binding, expires: number, timeoutMs = RESPONSE_TIMEOUT_MS): Promise<SipResponse | 'timeout' | Error> {
    // A fresh headers object each time: drachtio-srf writes the challenge answer's CSeq into it.
    const headers: Record<string, string> = {
      From: `<${b.aor}>`,
      To: `<${b.aor}>`,
      // One Call-ID for the instance's life and a rising CSeq (RFC 3261 §10.2): refreshes update one binding.
      'call-id': this.callId,
      CSeq: `${++this.cseq} REGISTER`,
      Contact: `<${b.contact}>;expires=${expires}`,
      Expires: String(expires),
      'User-Agent': 'wa-sip-edge',
    };
    return new Promise((resolve) => {
      // Started before sending: a request drachtio-server never confirms (a lost connection) ends too.
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      const onResponse = (res: SipResponse) => {
        if (res.status < 200) return;
        clearTimeout(timer);
        // The challenge answer went out with CSeq+1: keep counting from what the registrar saw.
        const seq = Number.parseInt(res.get('CSeq') ?? '', 10);
        if (Number.isFinite(seq) && seq > this.cseq) this.cseq = seq;
        resolve(res);
      };
      try {
        // The callback form: the listener must be on before drachtio-srf reads a fast answer (srf.ts).
        this.deps.srf.request(b.registrar, { method: 'REGISTER', headers, auth: { username: b.auth.username, password: b.auth.password } }, (err, req) => {
          if (err) {
            clearTimeout(timer);
            return resolve(err instanceof Error ? err : new Error(String(err)));
          }
          req.on('response', onResponse);
        });
      } catch (err) {
        clearTimeout(timer);
        resolve(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private async unregister(b: Binding): Promise<void> {
    this.binding = undefined;
    if (!this.deps.drachtio.connected) return;
    const res = await this.send(b, 0, UNREGISTER_TIMEOUT_MS);
    const status = typeof res === 'object' && !(res instanceof Error) ? res.status : res instanceof Error ? res.message : res;
    this.deps.metrics.telnyxRegistered.set(0);
    this.log.info({ registrar: b.registrar, contact: b.contact, status }, 'Telnyx registration removed (Expires: 0)');
  }
}
