// What Meta's call_permissions answer means for a call refused no_permission locally (SPEC §7).
import { describe, expect, it } from 'vitest';
import { capAboveMeta, metaDailyCallCap, metaVerdict, type MetaPermissionView } from '../../src/domain/metaPermission.js';
import { parseCallPermissions } from '../../src/http/cloudApi.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const start = (canPerform: boolean, limits: NonNullable<MetaPermissionView['startCall']>['limits'] = []) => ({ canPerform, limits });

describe('metaVerdict', () => {
  it('temporary or permanent with start_call possible: allowed, with the kind and expiry Meta gave', () => {
    expect(metaVerdict({ status: 'temporary', expiresAt: NOW + 1000, startCall: start(true) }, NOW)).toEqual({ verdict: 'allowed', kind: 'temporary', expiresAt: NOW + 1000 });
    expect(metaVerdict({ status: 'permanent', startCall: start(true) }, NOW)).toEqual({ verdict: 'allowed', kind: 'permanent' });
  });

  it('no permission, an expired one, or start_call not listed: no_permission', () => {
    for (const v of [{ status: 'no_permission' }, { status: 'temporary', expiresAt: NOW, startCall: start(true) }, { status: 'permanent' }] as MetaPermissionView[]) {
      expect(metaVerdict(v, NOW)).toMatchObject({ verdict: 'refused', refusal: { reason: 'no_permission', code: 480 } });
    }
  });

  it('a used-up start_call limit: daily_limit, Retry-After until the last used-up limit frees', () => {
    const v: MetaPermissionView = {
      status: 'permanent',
      startCall: start(false, [
        { timePeriod: 'PT24H', maxAllowed: 100, currentUsage: 100, freesAt: NOW + 90_000 },
        { timePeriod: 'P7D', maxAllowed: 500, currentUsage: 12 },
      ]),
    };
    expect(metaVerdict(v, NOW)).toMatchObject({ verdict: 'refused', refusal: { reason: 'daily_limit', code: 480, retryAfter: 90 }, why: expect.stringMatching(/100\/100 per PT24H/) });
    expect(metaDailyCallCap(v)).toBe(100);
  });

  it('start_call refused with no limit used up: no_permission (Meta gives no reason)', () => {
    expect(metaVerdict({ status: 'permanent', startCall: start(false, [{ timePeriod: 'PT24H', maxAllowed: 100, currentUsage: 1 }]) }, NOW)).toMatchObject({ refusal: { reason: 'no_permission' } });
  });
});

describe('capAboveMeta', () => {
  it('flags a configured cap above Meta\'s, and no cap at all', () => {
    expect(capAboveMeta(100, 10)).toBe(true);
    expect(capAboveMeta(null, 10)).toBe(true);
    expect(capAboveMeta(10, 10)).toBe(false);
    expect(capAboveMeta(10, undefined)).toBeUndefined();
  });
});

describe('parseCallPermissions', () => {
  it("reads Meta's documented shape (seconds → ms) and ignores what it does not know", () => {
    const body = {
      messaging_product: 'whatsapp',
      permission: { status: 'temporary', expiration_time: 1745343479 },
      actions: [
        { action_name: 'send_call_permission_request', can_perform_action: true, limits: [{ time_period: 'PT24H', max_allowed: 1, current_usage: 0 }] },
        { action_name: 'start_call', can_perform_action: false, limits: [{ time_period: 'PT24H', max_allowed: 5, current_usage: 5, limit_expiration_time: 1745622600 }], extra: 1 },
      ],
    };
    expect(parseCallPermissions(body)).toEqual({
      status: 'temporary',
      expiresAt: 1745343479000,
      startCall: { canPerform: false, limits: [{ timePeriod: 'PT24H', maxAllowed: 5, currentUsage: 5, freesAt: 1745622600000 }] },
    });
    expect(parseCallPermissions({ data: [] })).toBeUndefined();
    expect(parseCallPermissions({ permission: { status: 'granted' } })).toBeUndefined();
  });
});
