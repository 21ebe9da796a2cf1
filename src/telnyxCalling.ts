// One calling switch (SPEC §2 telnyx.api): Telnyx's calling_settings of each number — what
// Mission Control shows — read at start and every `callingPollSeconds`, recorded in Redis
// (set_telnyx_calling.lua) so every instance's admission (admit_outbound.lua, calling_disabled)
// refuses business-initiated calls while Telnyx says off. The console's switch changes it at
// Telnyx itself (PATCH). A Telnyx API outage never blocks calls: the last known state stays, and
// /readyz and GET /v1/numbers say that it is stale and why.
import type { Config } from './config/schema.js';
import type { Clock } from './domain/clock.js';
import { readCallingSettings, writeCallingSettings, TelnyxApiError } from './http/telnyxApi.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { PermissionState } from './state/permissions.js';
import { credentialsFor } from './tenants/fleet.js';

export interface TelnyxCallingDeps {
  config: () => Readonly<Config>;
  permissions: PermissionState;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  fetch?: typeof fetch;
}

/** This instance's last read of a number's switch: current (Telnyx answered), stale (it did not), unknown (not asked yet). */
export interface CallingRead {
  number: string;
  state: 'current' | 'stale' | 'unknown';
  enabled?: boolean;
  error?: string;
}

export class TelnyxCallingSwitch {
  private timer: NodeJS.Timeout | undefined;
  private reads = new Map<string, CallingRead>();
  private polling: Promise<void> | undefined;
  private lastError = new Map<string, string>();
  /** The numbers whose Telnyx state was forgotten since telnyx.api went away (once each, not every round). */
  private forgotten = new Set<string>();

  constructor(private readonly deps: TelnyxCallingDeps) {}

  /** Reads every number now, then every callingPollSeconds (the interval read again after each round, so a reload applies). */
  start(): void {
    const loop = async () => {
      await this.poll();
      const api = this.deps.config().telnyx.api;
      this.timer = setTimeout(() => void loop(), (api?.callingPollSeconds ?? 300) * 1000);
      this.timer.unref();
    };
    void loop();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One round over the configured numbers (concurrent rounds share one). */
  poll(): Promise<void> {
    this.polling ??= this.round().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async round(): Promise<void> {
    const config = this.deps.config();
    // Each number through its tenant's own telnyx.api when it has one, else the file's.
    const numbers = config.numbers.map(({ number }) => ({ number, api: credentialsFor(config, number).telnyxApi }));
    // Nothing keeps Telnyx's switch current without a telnyx.api: an old "off" must not block calls.
    const left = numbers.filter((n) => !n.api && !this.forgotten.has(n.number));
    for (const n of left) this.reads.delete(n.number);
    await Promise.all(left.map(async (n) => this.deps.permissions.forgetTelnyxCalling(n.number).then(() => void this.forgotten.add(n.number), () => {})));
    await Promise.all(
      numbers.map(async ({ number, api }) => {
        if (!api) return;
        this.forgotten.delete(number);
        const askedAt = this.deps.clock();
        let enabled: boolean;
        try {
          enabled = await readCallingSettings(api, number, this.deps.fetch);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          if (e instanceof TelnyxApiError) this.deps.metrics.telnyxApiErrorsTotal.inc({ operation: 'calling_settings' });
          await this.deps.permissions.setTelnyxCalling(number, askedAt, undefined, why.slice(0, 300)).catch(() => {});
          const held = this.reads.get(number);
          this.remember(number, { number, state: held?.enabled === undefined ? 'unknown' : 'stale', ...(held?.enabled !== undefined ? { enabled: held.enabled } : {}), error: why });
          // Logged when the reason changes, not every round of an outage.
          if (this.lastError.get(number) !== why) this.deps.logger.warn({ number, err: why }, "telnyx calling_settings not read: the last known state stays (calls are not blocked by Telnyx's API being down)");
          this.lastError.set(number, why);
          return;
        }
        if (this.lastError.delete(number)) this.deps.logger.info({ number }, 'telnyx calling_settings read again');
        try {
          await this.deps.permissions.setTelnyxCalling(number, askedAt, enabled);
        } catch (err) {
          // Redis away: this instance still knows; the next round writes it for the others.
          this.deps.metrics.redisErrorsTotal.inc();
          this.deps.logger.warn({ number, err }, "telnyx calling_settings read, but not recorded for the other instances (Redis)");
        }
        this.remember(number, { number, state: 'current', enabled });
      }),
    );
  }

  private remember(number: string, read: CallingRead): void {
    this.reads.set(number, read);
    if (read.enabled !== undefined) this.deps.metrics.ofNumber(this.deps.config(), number).telnyxCallingEnabled.set({ number }, read.enabled ? 1 : 0);
  }

  /**
   * Turns calling on or off at Telnyx (PATCH calling_settings), then records what Telnyx answered
   * for every instance. Throws TelnyxApiError when Telnyx does not take it: nothing changes here.
   */
  async set(number: string, enabled: boolean): Promise<boolean> {
    const { telnyxApi: api } = credentialsFor(this.deps.config(), number);
    if (!api) throw new Error(`no telnyx.api for ${number} (the file's or its tenant's)`);
    const askedAt = this.deps.clock();
    let now: boolean;
    try {
      now = await writeCallingSettings(api, number, enabled, this.deps.fetch);
    } catch (e) {
      if (e instanceof TelnyxApiError) this.deps.metrics.telnyxApiErrorsTotal.inc({ operation: 'calling_settings' });
      throw e;
    }
    await this.deps.permissions.setTelnyxCalling(number, askedAt, now);
    this.remember(number, { number, state: 'current', enabled: now });
    return now;
  }

  /** This instance's view for /readyz: every number and whether its state is current. */
  readiness(): CallingRead[] | undefined {
    const config = this.deps.config();
    const polled = config.numbers.filter(({ number }) => credentialsFor(config, number).telnyxApi);
    if (polled.length === 0) return undefined;
    return polled.map(({ number }) => this.reads.get(number) ?? { number, state: 'unknown' });
  }
}
