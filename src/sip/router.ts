// SIP in → classify by source → the outbound or inbound flow. Nothing is created for a source
// that is neither a trunk nor Telnyx (nor, for softphones, an authenticated device).
import type { DeviceConfig, TrunkConfig } from '../config/schema.js';
import { SourceClassifier } from '../domain/sources.js';
import { refusal } from '../domain/reasons.js';
import { reject, trackCancel, type SipDeps } from './context.js';
import { handleOutbound } from './outbound.js';
import { handleInbound } from './inbound.js';
import { DigestAuthority, parseAuthorization } from './digest.js';
import { redisNonceUses } from '../state/nonces.js';
import { redisDigestKey } from '../state/digestKey.js';
import { handleRegister } from './registrar.js';
import { SourceGuard } from './sourceGuard.js';
import type { SipRequest, SipResponse } from './srf.js';
import { fleetOf, plainUsername } from '../tenants/fleet.js';
import { headerUri, parseSipUri } from '../domain/sipUri.js';

export class SipRouter {
  private classifier: SourceClassifier<TrunkConfig>;
  readonly digest: DigestAuthority;
  readonly guard: SourceGuard;

  constructor(private readonly deps: SipDeps) {
    this.classifier = this.buildClassifier();
    this.digest = new DigestAuthority({
      realm: () => deps.config().sip.realm,
      secret: () => deps.config().sip.digestSecret || undefined,
      sharedKey: redisDigestKey(deps.calls.redis),
      onSharedKeyUnavailable: (err) => {
        deps.metrics.redisErrorsTotal.inc();
        deps.logger.warn({ err: (err as Error).message }, "digest nonce signed with this process's own key: the shared key in Redis could not be read");
      },
      uses: redisNonceUses(deps.calls.redis),
      onUnchecked: (err) => {
        deps.metrics.digestNoncesTotal.inc({ result: 'unchecked' });
        deps.metrics.redisErrorsTotal.inc();
        deps.logger.warn({ err: (err as Error).message }, 'digest accepted without the shared replay check: Redis did not answer');
      },
    });
    this.guard = new SourceGuard(() => deps.config().sip.scannerBan, deps.clock, (source, cause) => {
      deps.metrics.bannedSourcesTotal.inc({ cause });
      deps.logger.warn({ source, cause, banSeconds: deps.config().sip.scannerBan.banSeconds }, 'source banned');
    });
  }

  private buildClassifier() {
    const cfg = this.deps.config();
    return new SourceClassifier(cfg.telnyx.sources, cfg.trunks);
  }

  /** After a configuration reload: new trunks and Telnyx ranges apply to the next request. */
  reload(): void {
    this.classifier = this.buildClassifier();
  }

  attach(): void {
    const { srf } = this.deps;
    // Every request from a source that is neither a trunk nor Telnyx passes the scanner guard first.
    srf.use('*', (req, res, next) => this.guardUnknown(req, res, next));
    srf.invite((req, res) => void this.onInvite(req, res).catch((err) => this.crashed(err, req, res)));
    srf.options((req, res) => void this.onOptions(req, res).catch((err) => this.crashed(err, req, res)));
    srf.register((req, res) => void this.onRegister(req, res).catch((err) => this.crashed(err, req, res)));
  }

  private guardUnknown(req: SipRequest, res: SipResponse, next: () => void): void {
    if (this.classifier.classify(req.source_address).kind !== 'unknown') return next();
    const banned = this.guard.admit(req.source_address, req.has('User-Agent') ? req.get('User-Agent') : undefined);
    if (banned === 0) return next();
    // A source no tenant is known for: the platform's refusal (no tenant label).
    this.deps.metrics.of(undefined).rejectionsTotal.inc({ direction: 'none', reason: 'rate_limited' });
    if (req.method !== 'ACK') res.send(503, { headers: { 'Retry-After': String(banned) } });
  }

  /**
   * The tenant a softphone's request names (src/tenants/fleet.ts): the host of its address-of-record,
   * the To URI of a REGISTER, the From URI otherwise; and the digest realm of that tenant.
   */
  private softphoneTenant(req: SipRequest): { tenant: string; realm: string } {
    const aor = headerUri(req.get(req.method === 'REGISTER' ? 'To' : 'From'));
    const t = fleetOf(this.deps.config()).forHost(parseSipUri(aor)?.host);
    return { tenant: t.name, realm: t.domain ?? this.deps.config().sip.realm };
  }

  /** A softphone: digest-authenticated as one of its tenant's `devices`, else refused as an unknown source. */
  private async authenticateDevice(req: SipRequest, res: SipResponse, challengeCode: 401 | 407): Promise<DeviceConfig | undefined> {
    const log = { callId: req.get('Call-ID'), source: req.source_address };
    if (this.deps.config().devices.length === 0) {
      reject(this.deps, res, refusal('unknown_source'), 'none', undefined, log);
      return undefined;
    }
    const header = challengeCode === 401 ? 'Authorization' : 'Proxy-Authorization';
    const creds = parseAuthorization(req.has(header) ? req.get(header) : undefined);
    const { tenant, realm } = this.softphoneTenant(req);
    const device = creds ? fleetOf(this.deps.config()).device(tenant, creds.username) : undefined;
    if (creds && !device) {
      this.guard.authFailed(req.source_address);
      reject(this.deps, res, refusal('auth_failed'), 'none', undefined, log);
      return undefined;
    }
    const auth = device ? { username: plainUsername(device.username), password: device.password } : { username: '', password: '' };
    const ok = await this.authenticate(req, res, auth, challengeCode, realm);
    return ok ? device : undefined;
  }

  private async onRegister(req: SipRequest, res: SipResponse): Promise<void> {
    if (this.classifier.classify(req.source_address).kind !== 'unknown') {
      res.send(405, { headers: { Allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO' } });
      return;
    }
    const device = await this.authenticateDevice(req, res, 401);
    if (device) await handleRegister(this.deps, this.deps.devices, req, res, device);
  }

  private crashed(err: unknown, req: SipRequest, res: SipResponse) {
    this.deps.logger.error({ err, callId: req.get('Call-ID') }, `${req.method} handler failed`);
    if (!res.finalResponseSent) res.send(500);
  }

  private async onInvite(req: SipRequest, res: SipResponse): Promise<void> {
    trackCancel(req);
    const source = this.classifier.classify(req.source_address);
    if (source.kind === 'telnyx') return handleInbound(this.deps, req, res);
    if (source.kind === 'unknown') {
      const device = await this.authenticateDevice(req, res, 407);
      if (!device || req.canceled) return;
      const caller = { name: `device:${device.username}`, numbers: device.numbers, defaultRegion: device.defaultRegion, softphone: { callerId: device.callerId } };
      return handleOutbound(this.deps, req, res, caller, fleetOf(this.deps.config()).ofDevice(device.username));
    }
    const trunk = source.trunk;
    if (trunk.auth && (!(await this.authenticate(req, res, trunk.auth, 401)) || req.canceled)) return;
    return handleOutbound(this.deps, req, res, trunk, fleetOf(this.deps.config()).ofTrunk(trunk));
  }

  /** True when the request carries valid credentials; otherwise it has been answered (401/407 or 403). */
  async authenticate(req: SipRequest, res: SipResponse, auth: { username: string; password: string }, challengeCode: 401 | 407, realm?: string): Promise<boolean> {
    const header = challengeCode === 401 ? 'Authorization' : 'Proxy-Authorization';
    const challengeHeader = challengeCode === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const creds = parseAuthorization(req.has(header) ? req.get(header) : undefined);
    if (!creds) {
      const challenge = await this.digest.challenge(false, realm);
      if (!res.finalResponseSent) res.send(challengeCode, { headers: { [challengeHeader]: challenge } });
      return false;
    }
    const verdict = creds.username === auth.username ? await this.digest.verify(req.method, creds, auth.password, realm) : 'bad';
    if (verdict !== 'bad') this.deps.metrics.digestNoncesTotal.inc({ result: verdict });
    if (verdict === 'ok') return true;
    if (verdict !== 'bad') {
      if (verdict === 'unknown') this.foreignNonce(req);
      else if (verdict === 'replay') this.deps.logger.warn({ callId: req.get('Call-ID'), source: req.source_address, method: req.method }, 'digest nonce-count used before: replay refused');
      // stale=true only for a nonce of ours that expired: the client then answers the new one
      // without asking its user. A replay or a foreign nonce gets a plain new challenge.
      const challenge = await this.digest.challenge(verdict === 'stale', realm);
      if (!res.finalResponseSent) res.send(challengeCode, { headers: { [challengeHeader]: challenge } });
      return false;
    }
    this.guard.authFailed(req.source_address);
    reject(this.deps, res, refusal('auth_failed'), 'none', undefined, { callId: req.get('Call-ID'), source: req.source_address });
    return false;
  }

  private async onOptions(req: SipRequest, res: SipResponse): Promise<void> {
    const source = this.classifier.classify(req.source_address);
    if (source.kind === 'unknown') {
      // Treated like any other request from that source: softphones may ping with OPTIONS too.
      if (await this.authenticateDevice(req, res, 407)) res.send(200);
      return;
    }
    res.send(200);
  }

  private lastForeignNonceWarning = 0;

  /**
   * The right password with a nonce this instance cannot verify: another instance with a different
   * key issued it (or this one before a restart or a key rotation). Said once a minute at most.
   */
  private foreignNonce(req: SipRequest): void {
    const now = this.deps.clock();
    if (now - this.lastForeignNonceWarning < 60_000) return;
    this.lastForeignNonceWarning = now;
    const hint = {
      configured: 'sip.digestSecret differs between instances: set the same value on all of them, or none',
      shared: 'another instance has a different sip.digestSecret, or signed with its own key while Redis was away',
      process: 'this instance signs with its own key: the shared key in Redis could not be read',
    }[this.digest.keySource];
    this.deps.logger.warn({ source: req.source_address, method: req.method }, `digest answered with a nonce another instance issued (or one from before a restart); ${hint}`);
  }
}
