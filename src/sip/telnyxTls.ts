// Whether what the edge sends to Telnyx over TLS (telnyx.outboundProxy, telnyx.register.registrar)
// is verified: SPEC §4 /readyz `telnyxTls`, §5 wa_edge_telnyx_tls_verified, docs/tls.md. The
// engine does the verifying (deploy/drachtio/patches); the edge learns whether it can from the
// version drachtio-server reports on connect (the patch's `+tlsverify.N` suffix), so an external
// engine without the patch is detected, not assumed. What it cannot see is an external engine's
// switches: one with the patch is taken to run with them (docker/drachtio-start.sh sets them).
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { engineCanVerify, unverifiedTlsWarning, usesTls } from './engineTls.js';

/** verified: chain and name checked; not_verified: the engine cannot; off: telnyx.tls.verify false; no_tls: nothing goes over TLS. */
export type TelnyxTlsState = 'verified' | 'not_verified' | 'off' | 'no_tls';

/** `verify` is telnyx.tls.verify as the engine was started with (changing it takes a restart). */
export function telnyxTlsState(telnyx: Config['telnyx'], verify: boolean, engineVersion: string | undefined): TelnyxTlsState {
  const uris = [telnyx.outboundProxy, telnyx.register?.registrar].filter((u): u is string => !!u);
  if (!uris.some(usesTls)) return 'no_tls';
  if (!verify) return 'off';
  return engineCanVerify(engineVersion) ? 'verified' : 'not_verified';
}

/** The lines an operator must see for a state: one per URI sent to over TLS unverified. */
export function telnyxTlsWarnings(telnyx: Config['telnyx'], state: TelnyxTlsState, engineVersion: string | undefined): string[] {
  const targets: [string, string][] = [[telnyx.outboundProxy, 'calls']];
  if (telnyx.register) targets.push([telnyx.register.registrar, 'the registration (and its digest credentials)']);
  const tls = targets.filter(([uri]) => usesTls(uri));
  if (state === 'off') {
    return tls.map(
      ([uri, what]) =>
        `TLS to Telnyx verification is OFF (telnyx.tls.verify: false): ${what} go to ${uri} without checking the certificate of whoever answers. ` +
        'Anyone who can redirect that connection receives them. Remove telnyx.tls.verify: false (docs/tls.md).',
    );
  }
  if (state === 'not_verified') return tls.map(([uri, what]) => unverifiedTlsWarning(uri, what, engineVersion ?? 'of unknown version')!);
  return [];
}

/** Keeps the state, the metric and the log in step with the config and the engine connected to. */
export class TelnyxTls {
  private current: TelnyxTlsState | undefined;

  constructor(
    private readonly telnyx: () => Config['telnyx'],
    /** telnyx.tls.verify at start: the engine's switches are set when it starts. */
    private readonly verify: boolean,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  get state(): TelnyxTlsState | undefined {
    return this.current;
  }

  /** Called at start (with a local engine's --version) and on every connect/reload; logs each change once. */
  update(engineVersion: string | undefined): TelnyxTlsState {
    const telnyx = this.telnyx();
    const state = telnyxTlsState(telnyx, this.verify, engineVersion);
    this.metrics.exportTelnyxTls(state !== 'no_tls');
    this.metrics.telnyxTlsVerified.set(state === 'verified' ? 1 : 0);
    if (state !== this.current) {
      this.current = state;
      const warnings = telnyxTlsWarnings(telnyx, state, engineVersion);
      for (const text of warnings) this.logger.warn({ telnyxTls: state, engineVersion }, text);
      if (state === 'verified') {
        this.logger.info(
          { telnyxTls: state, engineVersion, wildcard: telnyx.tls.wildcard, caFile: telnyx.tls.caFile ?? 'system CA store' },
          'TLS to Telnyx is verified by drachtio-server: chain, dates and name, before any SIP is sent',
        );
      }
    }
    return state;
  }
}
