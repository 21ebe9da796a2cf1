// Meta's account_update and Telnyx's whatsapp.account.* → restrictions and warnings per configured
// number (SPEC §3 account_restricted, §4 webhooks, §7). Pure.
import { describe, expect, it } from 'vitest';
import { expirationMs, parseMetaAccountUpdates, parseTelnyxAccountEvent, restrictsBusinessCalling, type AccountNumbers } from '../../src/domain/accountUpdates.js';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const DAY = 86_400_000;
const WEEK = 7 * DAY;
const A = '+447418613982';
const B = '+447418613983';
const numbers: AccountNumbers[] = [{ number: A, phoneNumberId: '111' }, { number: B, phoneNumberId: '222' }];

/** Meta's documented envelope around one account_update value. */
const update = (value: Record<string, unknown>, waba = 'WABA-1') => ({
  object: 'whatsapp_business_account',
  entry: [{ id: waba, time: T0 / 1000, changes: [{ field: 'account_update', value }] }],
});
const restriction = (info: unknown, extra: Record<string, unknown> = {}) => update({ event: 'ACCOUNT_RESTRICTION', restriction_info: info, ...extra });

describe('which restriction types stop business-initiated calls', () => {
  it.each([
    ['RESTRICTED_BIZ_INITIATED_CALLING', true],
    ['RESTRICTED_BUSINESS_INITIATED_CALLING', true],
    ['restricted_biz_initiated_calling', true],
    ['RESTRICTED_BIZ_INITIATED_MESSAGING', false],
    ['RESTRICTED_CUSTOMER_INITIATED_CALLING', false],
    ['RESTRICTED_USER_INITIATED_CALLING', false],
    ['RESTRICTED_ADD_PHONE_NUMBER_ACTION', false],
  ])('%s → %s', (type, stops) => expect(restrictsBusinessCalling(type)).toBe(stops));
});

describe('expiration: ISO 8601 or Unix seconds (or ms)', () => {
  it.each([
    ['2026-12-02T12:00:00Z', Date.UTC(2026, 11, 2, 12)],
    ['2026-12-02T12:00:00+0000', Date.UTC(2026, 11, 2, 12)],
    ['2026-12-02T13:00:00+01:00', Date.UTC(2026, 11, 2, 12)],
    [Date.UTC(2026, 11, 2, 12) / 1000, Date.UTC(2026, 11, 2, 12)],
    [String(Date.UTC(2026, 11, 2, 12) / 1000), Date.UTC(2026, 11, 2, 12)],
    [Date.UTC(2026, 11, 2, 12), Date.UTC(2026, 11, 2, 12)],
    ['<TIMESTAMP>', undefined],
    ['', undefined],
    [undefined, undefined],
    [null, undefined],
  ])('%s → %s', (raw, ms) => expect(expirationMs(raw)).toBe(ms));
});

describe("Meta's account_update", () => {
  it('ACCOUNT_RESTRICTION of business-initiated calling, naming the number: restricted until its expiration', () => {
    const until = T0 + 3 * DAY;
    const r = parseMetaAccountUpdates(restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', expiration: until / 1000 }], { phone_number: A.slice(1) }), numbers, T0, WEEK);
    expect(r).toEqual({ notices: [{ kind: 'restriction', numbers: [A], until, expiryDefaulted: false, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }], unreadable: [] });
  });

  it('no expiration: 7 days (the configured default), said so', () => {
    const r = parseMetaAccountUpdates(restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING' }], { phone_number: A }), numbers, T0, WEEK);
    expect(r.notices).toEqual([{ kind: 'restriction', numbers: [A], until: T0 + WEEK, expiryDefaulted: true, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }]);
  });

  it('names no number: every number of the account (no wabaId configured: all of them)', () => {
    const r = parseMetaAccountUpdates(restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', expiration: '2026-12-02T12:00:00+0000' }]), numbers, T0, WEEK);
    expect(r.notices).toEqual([{ kind: 'restriction', numbers: [A, B], until: Date.UTC(2026, 11, 2, 12), expiryDefaulted: false, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }]);
  });

  it('names no number, wabaId configured: only the numbers of that account; another account is unknown_account', () => {
    const mapped: AccountNumbers[] = [{ number: A, wabaId: 'WABA-1' }, { number: B, wabaId: 'WABA-2' }];
    const info = [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING' }];
    expect(parseMetaAccountUpdates(restriction(info), mapped, T0, WEEK).notices[0]).toMatchObject({ numbers: [A] });
    const other = parseMetaAccountUpdates(update({ event: 'ACCOUNT_RESTRICTION', restriction_info: info }, 'WABA-9'), mapped, T0, WEEK);
    expect(other).toEqual({ notices: [], unreadable: [{ reason: 'unknown_account', why: expect.stringContaining('WABA-9') }] });
  });

  it('a number that is not configured: unknown_business_number, nothing restricted', () => {
    const r = parseMetaAccountUpdates(restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING' }], { phone_number: '+447911123456' }), numbers, T0, WEEK);
    expect(r).toEqual({ notices: [], unreadable: [{ reason: 'unknown_business_number', why: expect.stringContaining('+447911123456') }] });
  });

  it('by phone_number_id too', () => {
    const r = parseMetaAccountUpdates(restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING' }], { phone_number_id: '222' }), numbers, T0, WEEK);
    expect(r.notices[0]).toMatchObject({ kind: 'restriction', numbers: [B] });
  });

  it('a restriction of messaging only is a warning, never a refusal of calls', () => {
    const until = T0 + DAY;
    const r = parseMetaAccountUpdates(restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration: until / 1000 }], { phone_number: A }), numbers, T0, WEEK);
    expect(r.notices).toEqual([{ kind: 'warning', numbers: [A], text: `Meta restricted RESTRICTED_BIZ_INITIATED_MESSAGING until ${new Date(until).toISOString()} (calls are not refused for it)` }]);
  });

  it('several restrictions: calling ones enforced until the latest of them, the others shown', () => {
    const r = parseMetaAccountUpdates(
      restriction(
        [
          { restriction_type: 'RESTRICTED_ADD_PHONE_NUMBER_ACTION', expiration: (T0 + DAY) / 1000 },
          { restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', expiration: (T0 + 2 * DAY) / 1000 },
          { restriction_type: 'RESTRICTED_BUSINESS_INITIATED_CALLING', expiration: (T0 + 5 * DAY) / 1000 },
        ],
        { phone_number: A },
      ),
      numbers,
      T0,
      WEEK,
    );
    expect(r.notices.map((n) => n.kind)).toEqual(['warning', 'restriction']);
    expect(r.notices[1]).toMatchObject({ until: T0 + 5 * DAY, types: ['RESTRICTED_BIZ_INITIATED_CALLING', 'RESTRICTED_BUSINESS_INITIATED_CALLING'] });
  });

  it('a restriction already over when it arrives restricts nothing', () => {
    const r = parseMetaAccountUpdates(restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', expiration: (T0 - 1000) / 1000 }], { phone_number: A }), numbers, T0, WEEK);
    expect(r).toEqual({ notices: [], unreadable: [] });
  });

  it('ACCOUNT_VIOLATION: a warning on the number, with its violation type', () => {
    const r = parseMetaAccountUpdates(update({ phone_number: A, event: 'ACCOUNT_VIOLATION', violation_info: { violation_type: 'SCAM' } }), numbers, T0, WEEK);
    expect(r.notices).toEqual([{ kind: 'warning', numbers: [A], text: 'Meta reported a policy violation (SCAM): a restriction of business-initiated calls may follow' }]);
  });

  it('ACCOUNT_RESTRICTION without restriction_info: shown, not enforced, and reported as malformed', () => {
    const r = parseMetaAccountUpdates(update({ phone_number: A, event: 'ACCOUNT_RESTRICTION' }), numbers, T0, WEEK);
    expect(r.notices).toEqual([{ kind: 'warning', numbers: [A], text: expect.stringContaining('without saying what') }]);
    expect(r.unreadable).toEqual([{ reason: 'malformed', why: expect.stringContaining('restriction_info') }]);
  });

  it('tolerant: camelCase names, one object instead of a list, a change without field', () => {
    const payload = { object: 'whatsapp_business_account', entry: [{ id: 'W', changes: [{ value: { phoneNumber: A, event: 'ACCOUNT_RESTRICTION', restrictionInfo: { restrictionType: 'RESTRICTED_BIZ_INITIATED_CALLING', expiresAt: '2026-12-02T12:00:00Z' } } }] }] };
    expect(parseMetaAccountUpdates(payload, numbers, T0, WEEK).notices).toEqual([{ kind: 'restriction', numbers: [A], until: Date.UTC(2026, 11, 2, 12), expiryDefaulted: false, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }]);
  });

  it('other account events, messages and junk: nothing, and nothing unreadable', () => {
    for (const p of [
      update({ event: 'PARTNER_APP_INSTALLED', waba_info: { waba_id: 'W' } }),
      { object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: { messages: [] } }] }] },
      { object: 'page', entry: [] },
      { object: 'whatsapp_business_account', entry: 'x' },
      { object: 'whatsapp_business_account', entry: [null, 1, { changes: [null, { value: 3 }] }] },
      'text',
      null,
    ]) {
      expect(parseMetaAccountUpdates(p, numbers, T0, WEEK)).toEqual({ notices: [], unreadable: [] });
    }
  });

  it('each change on its own: a broken one hides none of the others', () => {
    const good = restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING' }], { phone_number: A });
    const payload = { ...good, entry: [{ id: 'W', changes: [{ field: 'account_update', value: { event: 'ACCOUNT_RESTRICTION', phone_number: '+15550001111', restriction_info: [] } }] }, ...good.entry] };
    const r = parseMetaAccountUpdates(payload, numbers, T0, WEEK);
    expect(r.notices).toHaveLength(1);
    expect(r.unreadable).toHaveLength(1);
  });
});

describe("Telnyx's whatsapp.account.restricted", () => {
  it("Meta's fields in the payload (waba_id, phone_number, restriction_info)", () => {
    const r = parseTelnyxAccountEvent('whatsapp.account.restricted', { record_type: 'whatsapp_account', waba_id: 'W', phone_number: A, restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING', expiration: '2026-12-02T12:00:00Z' }] }, numbers, T0, WEEK);
    expect(r.notices).toEqual([{ kind: 'restriction', numbers: [A], until: Date.UTC(2026, 11, 2, 12), expiryDefaulted: false, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }]);
  });

  it('a whole Meta envelope inside the payload is read as Meta\'s', () => {
    const r = parseTelnyxAccountEvent('whatsapp.account.restricted', { meta_webhook: restriction([{ restriction_type: 'RESTRICTED_BIZ_INITIATED_CALLING' }], { phone_number: B }) }, numbers, T0, WEEK);
    expect(r.notices[0]).toMatchObject({ kind: 'restriction', numbers: [B], until: T0 + WEEK });
  });

  it('restrictions[] with type / expires_at and phone_numbers[] with ids', () => {
    const r = parseTelnyxAccountEvent('whatsapp.account.restricted', { business_account_id: 'W', phone_numbers: [{ id: '222', display_phone_number: '+44 7418 613983' }], restrictions: [{ type: 'RESTRICTED_BIZ_INITIATED_CALLING', expires_at: (T0 + DAY) / 1000 }] }, numbers, T0, WEEK);
    expect(r.notices).toEqual([{ kind: 'restriction', numbers: [B], until: T0 + DAY, expiryDefaulted: false, types: ['RESTRICTED_BIZ_INITIATED_CALLING'] }]);
  });

  it("Telnyx's documented example (waba_id and ban_info only): shown as a warning on every number, not enforced, reported", () => {
    const r = parseTelnyxAccountEvent('whatsapp.account.restricted', { record_type: 'whatsapp_account', waba_id: 'W', ban_info: { waba_ban_state: 'SCHEDULE_FOR_DISABLE', waba_ban_date: '2026-04-10' } }, numbers, T0, WEEK);
    expect(r.notices).toEqual([{ kind: 'warning', numbers: [A, B], text: expect.stringContaining('without saying what') }]);
    expect(r.unreadable).toHaveLength(1);
  });

  it('whatsapp.account.violation is a warning; another event type is nothing', () => {
    expect(parseTelnyxAccountEvent('whatsapp.account.violation', { phone_number: A, violation_info: { violation_type: 'SPAM' } }, numbers, T0, WEEK).notices).toEqual([
      { kind: 'warning', numbers: [A], text: expect.stringContaining('(SPAM)') },
    ]);
    expect(parseTelnyxAccountEvent('message.received', { phone_number: A }, numbers, T0, WEEK)).toEqual({ notices: [], unreadable: [] });
    expect(parseTelnyxAccountEvent('whatsapp.account.restricted', 'junk', numbers, T0, WEEK).unreadable).toEqual([{ reason: 'malformed', why: expect.any(String) }]);
  });
});
