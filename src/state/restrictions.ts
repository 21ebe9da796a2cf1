// Meta's restriction of business-initiated calling, and its warnings, per business number (SPEC §3
// account_restricted, §4). Kept in the number's hash beside the calling toggle, so every instance
// sees it and it outlives a restart; admit_outbound.lua refuses while it holds. Every change is also
// appended to the `wa:restrictions` stream (restricted, warned, lifted), the record of who did what.
import type { AccountNotice } from '../domain/accountUpdates.js';
import { numberKeys, STREAMS, STREAM_MAXLEN } from './keys.js';
import { replyFields } from './scripts.js';
import type { StateStore } from './store.js';

export interface NumberRestriction {
  /** Set while a restriction of business-initiated calling holds. */
  restriction?: { until: number; types: string[]; source: string; since?: number };
  /** Meta's latest warning, shown for whatsapp.accountRestrictionHours after it came. */
  warning?: { text: string; source: string; at: number };
  /** The last time an operator lifted a restriction by hand. */
  lifted?: { at: number; by: string };
}

export type RestrictionEvent = 'restricted' | 'warned' | 'lifted';

const FIELDS = ['restrictedUntil', 'restrictionTypes', 'restrictionSource', 'restrictedAt', 'warning', 'warningSource', 'warningAt', 'liftedAt', 'liftedBy'] as const;

export class NumberRestrictions {
  constructor(private readonly store: StateStore) {}

  private hoursMs(): number {
    return this.store.config().whatsapp.accountRestrictionHours * 3_600_000;
  }

  /** Applies one notice to each number it names; `source` says who sent it (meta, telnyx). */
  async apply(notice: AccountNotice, source: string): Promise<void> {
    const now = this.store.clock();
    for (const number of notice.numbers) {
      const detail = notice.kind === 'restriction' ? notice.types.join(',') : notice.text;
      await this.store.script('restrictNumber', {
        keys: { number: numberKeys(number).number },
        args: { nowMs: now, kind: notice.kind === 'restriction' ? 'restrict' : 'warn', untilMs: notice.kind === 'restriction' ? notice.until : '', detail, source },
      });
      await this.record(notice.kind === 'restriction' ? 'restricted' : 'warned', number, source, notice.kind === 'restriction' ? { until: notice.until, types: detail } : { text: detail });
    }
  }

  /** Lifts a restriction by hand; false when none was in force. */
  async lift(number: string, by: string): Promise<boolean> {
    const reply = await this.store.script('liftRestriction', { keys: { number: numberKeys(number).number }, args: { nowMs: this.store.clock(), by } });
    const [status, until] = replyFields('liftRestriction', reply, 2);
    if (status !== 'lifted') return false;
    await this.record('lifted', number, by, { until: Number(until) });
    return true;
  }

  /** What holds for the number now: a live restriction, a recent warning, the last lift. */
  async read(number: string): Promise<NumberRestriction> {
    const now = this.store.clock();
    const [until, types, source, since, warning, warningSource, warningAt, liftedAt, liftedBy] = await this.store.redis.hmget(numberKeys(number).number, ...FIELDS);
    const out: NumberRestriction = {};
    if (until && Number(until) > now) {
      out.restriction = { until: Number(until), types: types ? types.split(',') : [], source: source ?? '', ...(since ? { since: Number(since) } : {}) };
    }
    if (warning && warningAt && Number(warningAt) > now - this.hoursMs()) out.warning = { text: warning, source: warningSource ?? '', at: Number(warningAt) };
    if (liftedAt) out.lifted = { at: Number(liftedAt), by: liftedBy ?? '' };
    return out;
  }

  private async record(event: RestrictionEvent, number: string, source: string, extra: Record<string, string | number>): Promise<void> {
    const fields = Object.entries({ event, number, source, at: this.store.clock(), ...extra }).flatMap(([k, v]) => [k, String(v)]);
    await this.store.redis.xadd(STREAMS.restrictions, 'MAXLEN', '~', STREAM_MAXLEN, '*', ...fields);
  }
}
