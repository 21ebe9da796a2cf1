// SIP in → classify by source → the outbound or inbound flow. Nothing is created for a source
// that is neither a trunk nor Telnyx (nor, for softphones, an authenticated device).
import type { TrunkConfig } from '../config/schema.js';
import { SourceClassifier } from '../domain/sources.js';
import { refusal } from '../domain/reasons.js';
import { reject, trackCancel, type SipDeps } from './context.js';
import { handleOutbound } from './outbound.js';
import { handleInbound } from './inbound.js';
import { DigestAuthority, parseAuthorization } from './digest.js';
import type { SipRequest, SipResponse } from './srf.js';

export class SipRouter {
  private classifier: SourceClassifier<TrunkConfig>;
  readonly digest: DigestAuthority;

  constructor(private readonly deps: SipDeps) {
    this.classifier = this.buildClassifier();
    this.digest = new DigestAuthority(deps.config().sip.realm);
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
    srf.invite((req, res) => void this.onInvite(req, res).catch((err) => this.crashed(err, req, res)));
    srf.options((req, res) => this.onOptions(req, res));
  }

  private crashed(err: unknown, req: SipRequest, res: SipResponse) {
    this.deps.logger.error({ err, callId: req.get('Call-ID') }, 'INVITE handler failed');
    if (!res.finalResponseSent) res.send(500);
  }

  private async onInvite(req: SipRequest, res: SipResponse): Promise<void> {
    trackCancel(req);
    const source = this.classifier.classify(req.source_address);
    const log = this.deps.logger.child({ callId: req.get('Call-ID'), source: req.source_address });
    if (source.kind === 'telnyx') return handleInbound(this.deps, req, res);
    if (source.kind === 'unknown') return reject(this.deps, res, refusal('unknown_source'), 'none', log);
    const trunk = source.trunk;
    if (trunk.auth && !this.authenticate(req, res, trunk.auth, 401)) return;
    return handleOutbound(this.deps, req, res, trunk);
  }

  /** True when the request carries valid credentials; otherwise it has been answered (401/407 or 403). */
  authenticate(req: SipRequest, res: SipResponse, auth: { username: string; password: string }, challengeCode: 401 | 407): boolean {
    const header = challengeCode === 401 ? 'Authorization' : 'Proxy-Authorization';
    const challengeHeader = challengeCode === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const creds = parseAuthorization(req.has(header) ? req.get(header) : undefined);
    if (!creds) {
      res.send(challengeCode, { headers: { [challengeHeader]: this.digest.challenge() } });
      return false;
    }
    const verdict = creds.username === auth.username ? this.digest.verify(req.method, creds, auth.password) : 'bad';
    if (verdict === 'ok') return true;
    if (verdict === 'stale') {
      res.send(challengeCode, { headers: { [challengeHeader]: this.digest.challenge(true) } });
      return false;
    }
    reject(this.deps, res, refusal('auth_failed'), 'none', this.deps.logger.child({ callId: req.get('Call-ID'), source: req.source_address }));
    return false;
  }

  private onOptions(req: SipRequest, res: SipResponse): void {
    const source = this.classifier.classify(req.source_address);
    if (source.kind === 'unknown') {
      return reject(this.deps, res, refusal('unknown_source'), 'none', this.deps.logger.child({ source: req.source_address }));
    }
    res.send(200);
  }
}
