// The identity classes of issue 13, as pure rules: SPEC §1 (softphone caller identity), §3
// "Numbers" (one number rule: possible length, metadata only for regions), §7 (BSUIDs).
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { callerIdentity, isBsuid, parseUserIdentity } from '../../src/domain/identity.js';
import { isRegionBlocked, normaliseDialled, parseBusinessNumber, rawUserPart } from '../../src/domain/numbers.js';
import { planOutbound, softphoneCallingNumber } from '../../src/domain/policy.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { baseConfigObject } from '../helpers/config.js';

/** Possible for +44 (12 digits) but in a range the bundled metadata does not list. */
const UNLISTED_GB = '+445912345678';
/** Possible for +1, area code 200 is unassigned: no region from the range, so the main region of +1. */
const UNLISTED_NANP = '+12003004000';
const BSUID = 'US.13491208655302741918';
const rules = { blockedRegions: ['US', 'CA', 'EG', 'VN', 'NG'], dialDomain: 'sip.telnyx.com' };
const trunk = { name: 'acme', numbers: ['+447418613982'], defaultRegion: 'GB' };

describe('a possible number the metadata does not list', () => {
  it.each([UNLISTED_GB, UNLISTED_NANP, '+882123456789'])('%s is a number, in every form a PBX dials it', (n) => {
    expect(normaliseDialled(n)?.e164).toBe(n);
    expect(normaliseDialled(`00${n.slice(1)}`)?.e164).toBe(n);
    expect(normaliseDialled(`sip:${n}@edge;user=phone`)?.e164).toBe(n);
    expect(parseBusinessNumber(n.slice(1))?.e164).toBe(n);
  });

  it('is dialled (no 484): the policy plans the WhatsApp dial string', () => {
    expect(planOutbound(UNLISTED_GB, '+447418613982', trunk, rules)).toMatchObject({ dialString: `sip:${UNLISTED_GB}@whatsapp-447418613982.sip.telnyx.com` });
    expect(planOutbound('05912345678', '+447418613982', trunk, rules)).toMatchObject({ user: { e164: UNLISTED_GB } });
  });

  it("as a business number its region falls back to the country code's main region", () => {
    expect(parseBusinessNumber(UNLISTED_NANP)?.region).toBe('US');
    expect(isRegionBlocked(parseBusinessNumber(UNLISTED_NANP)!, rules.blockedRegions)).toBe(true);
    expect(parseBusinessNumber(UNLISTED_GB)?.region).toBe('GB');
    expect(parseBusinessNumber('+882123456789')?.region).toBeUndefined(); // non-geographic: no region to block
  });

  it('the full metadata still resolves listed ranges inside a shared country code', () => {
    expect(parseBusinessNumber('+18765551234')?.region).toBe('JM');
    expect(parseBusinessNumber('+14165550123')?.region).toBe('CA');
  });

  it('is a user of the API and the webhook', () => {
    expect(parseUserIdentity(UNLISTED_GB)).toMatchObject({ kind: 'phone', key: UNLISTED_GB });
    expect(parseUserIdentity(UNLISTED_GB.slice(1))).toMatchObject({ kind: 'phone', key: UNLISTED_GB });
  });
});

describe('an impossible number', () => {
  it.each([
    ['too short for +44', '+4479111234'],
    ['too long for +44', '+44791112345678'],
    ['an unknown country code', '+99912345678'],
    ['letters', '+44791112345a'],
    ['a name', 'alice'],
    ['an escaped CR/LF', '+44791112\r\nX-Evil: yes'],
  ])('%s (%j) is no number: 484 / 400', (_what, n) => {
    expect(normaliseDialled(n)).toBeUndefined();
    expect(parseBusinessNumber(n)).toBeUndefined();
    expect(parseUserIdentity(n)).toBeUndefined();
    expect(planOutbound(n, '+447418613982', trunk, rules)).toEqual({ reason: 'invalid_destination', code: 484 });
  });
});

describe('a business-scoped user id (BSUID)', () => {
  it.each([BSUID, 'GB.1', 'BR.abcDEF0123', 'US.ENT.11815799212886844830'])('%s is a BSUID', (id) => {
    expect(isBsuid(id)).toBe(true);
    expect(parseUserIdentity(id)).toEqual({ kind: 'bsuid', key: id });
  });
  it.each(['us.1349', 'US.', 'USA.1349', 'US.13{49}', 'US.1349 ', '+447911123456', `US.${'1'.repeat(129)}`])('%j is not', (id) => {
    expect(isBsuid(id)).toBe(false);
  });
});

describe('an inbound caller (From user as Telnyx sent it)', () => {
  const fromUser = (from: string) => callerIdentity(rawUserPart(from));

  it('a possible number, listed or not, with or without +: keyed by E.164', () => {
    expect(fromUser('<sip:+447911123456@telnyx>')).toMatchObject({ kind: 'phone', key: '+447911123456' });
    expect(fromUser(`<sip:${UNLISTED_GB.slice(1)}@telnyx>`)).toMatchObject({ kind: 'phone', key: UNLISTED_GB });
  });

  it('a BSUID: keyed by it', () => {
    expect(fromUser(`<sip:${BSUID}@telnyx>`)).toEqual({ kind: 'bsuid', key: BSUID });
  });

  it.each([
    ['anonymous', '<sip:anonymous@anonymous.invalid>', 'anonymous', 'anonymous'],
    ['Restricted', '<sip:Restricted@telnyx>', 'anonymous', 'Restricted'],
    ['a name', '<sip:alice.smith@telnyx>', 'not_a_number', 'alice.smith'],
    ['a number too short', '<sip:+4479111234@telnyx>', 'not_a_number', '+4479111234'],
    ['escaped garbage', '<sip:%40%23weird@telnyx>', 'not_a_number', '%40%23weird'],
    ['no user at all', '<sip:telnyx.example>', 'no_user', ''],
  ])('%s: a caller that is no number at all, kept as sent, never keyed', (_what, from, reason, key) => {
    expect(fromUser(from)).toEqual({ kind: 'unkeyed', reason, key });
  });

  it.each([
    ['an escaped CR/LF', '<sip:+44791112%0D%0AX-Evil:%20yes@telnyx>'],
    ['an escaped quote', '<sip:%22x%22@telnyx>'],
    ['an escaped angle bracket', '<sip:%3Csip:x@y%3E@telnyx>'],
  ])('%s: header injection, refused (400)', (_what, from) => {
    expect(fromUser(from)).toBeUndefined();
  });
});

describe('a softphone calls as its business number (SPEC §1)', () => {
  const device = { name: 'device:alice', numbers: ['+447418613982', '+447418613983'], defaultRegion: 'GB', softphone: {} };

  it('its own address-of-record in From: its first number', () => {
    expect(softphoneCallingNumber([undefined, undefined, 'alice'], device)).toBe('+447418613982');
  });
  it('callerId when set', () => {
    expect(softphoneCallingNumber([undefined, undefined, 'alice'], { ...device, softphone: { callerId: '+447418613983' } })).toBe('+447418613983');
  });
  it('P-Preferred-Identity, then P-Asserted-Identity, then From, when one of its numbers', () => {
    expect(softphoneCallingNumber(['+447418613983', '+447418613982', '+447418613982'], device)).toBe('+447418613983');
    expect(softphoneCallingNumber(['+447000000000', '07418613983', 'alice'], device)).toBe('+447418613983');
    expect(softphoneCallingNumber([undefined, 'alice', '+447418613983'], device)).toBe('+447418613983');
  });
  it('a number that is not one of its own is passed over, never called from', () => {
    expect(softphoneCallingNumber(['+447418000000', undefined, '+447418000001'], device)).toBe('+447418613982');
  });
});

describe('devices[].callerId (SPEC §2)', () => {
  const withDevice = (device: Record<string, unknown>) =>
    stringify(baseConfigObject({ devices: [{ username: 'alice', password: 'secret-1', numbers: ['+447418613982'], ...device }] }));
  const problems = (yaml: string) => {
    try {
      parseConfig(yaml, 'x.yaml', {});
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  };

  it('is optional and stored as E.164', () => {
    expect(problems(withDevice({}))).toEqual([]);
    expect(parseConfig(withDevice({ callerId: '447418613982' }), 'x', {}).devices[0]?.callerId).toBe('+447418613982');
  });
  it('must be one of the device numbers, named by key path', () => {
    expect(problems(withDevice({ callerId: '+447911123456' }))).toEqual([expect.stringMatching(/^devices\[0\]\.callerId: not one of this device's numbers/)]);
    expect(problems(withDevice({ callerId: 'alice' }))).toEqual([expect.stringMatching(/^devices\[0\]\.callerId: /)]);
  });
});
