// What a softphone's REGISTER asks for and what the registrar chooses (SPEC §2 "A REGISTER that
// states no expiry gets the registrar's default", RFC 3261 §10.2.1.1, §10.3 steps 6-7).
import { describe, expect, it } from 'vitest';
import { planRegistration } from '../../src/domain/registration.js';

const limits = { minExpires: 60, maxExpires: 3600, defaultExpires: 3600 };
const alice = 'sip:alice@192.0.2.10:5060';

describe('a REGISTER\'s expiry', () => {
  it('neither Expires nor an expires parameter: the registrar\'s default, clamped to sip.registration', () => {
    expect(planRegistration({ contacts: [{ uri: alice }] }, limits)).toEqual({ kind: 'update', contacts: [{ uri: alice, expiresSeconds: 3600 }] });
    expect(planRegistration({ contacts: [{ uri: alice }] }, { ...limits, defaultExpires: 7200 })).toEqual({ kind: 'update', contacts: [{ uri: alice, expiresSeconds: 3600 }] });
    expect(planRegistration({ contacts: [{ uri: alice }] }, { ...limits, defaultExpires: 10 })).toEqual({ kind: 'update', contacts: [{ uri: alice, expiresSeconds: 60 }] });
  });

  it('each Contact\'s own expires parameter wins over the Expires header; above maxExpires is clamped', () => {
    const plan = planRegistration({ contacts: [{ uri: alice, expires: '120' }, { uri: 'sip:alice@198.51.100.1', expires: '99999999999' }, { uri: 'sip:alice@203.0.113.9' }], expiresHeader: '600' }, limits);
    expect(plan).toEqual({
      kind: 'update',
      contacts: [
        { uri: alice, expiresSeconds: 120 },
        { uri: 'sip:alice@198.51.100.1', expiresSeconds: 3600 },
        { uri: 'sip:alice@203.0.113.9', expiresSeconds: 600 },
      ],
    });
  });

  it('423 with Min-Expires only for an interval the softphone asked for', () => {
    expect(planRegistration({ contacts: [{ uri: alice }], expiresHeader: '30' }, limits)).toEqual({ kind: 'too_brief', minExpires: 60 });
    expect(planRegistration({ contacts: [{ uri: alice, expires: '59' }], expiresHeader: '3600' }, limits)).toEqual({ kind: 'too_brief', minExpires: 60 });
    // A default below minExpires is the registrar's own choice: clamped, never 423.
    expect(planRegistration({ contacts: [{ uri: alice }] }, { ...limits, defaultExpires: 1 }).kind).toBe('update');
  });

  it('0 removes that Contact (alone or among others); Contact: * with Expires: 0 removes all', () => {
    expect(planRegistration({ contacts: [{ uri: alice, expires: '0' }, { uri: 'sip:alice@203.0.113.9' }], expiresHeader: '300' }, limits)).toEqual({
      kind: 'update',
      contacts: [{ uri: alice, expiresSeconds: 0 }, { uri: 'sip:alice@203.0.113.9', expiresSeconds: 300 }],
    });
    expect(planRegistration({ contacts: [{ uri: '*' }], expiresHeader: '0' }, limits)).toEqual({ kind: 'clear' });
  });

  it('no Contact asks for the current bindings', () => {
    expect(planRegistration({ contacts: [] }, limits)).toEqual({ kind: 'query' });
  });

  it('400 for what cannot be read: a wildcard without Expires: 0 or with others, an expiry that is not delta-seconds', () => {
    for (const ask of [
      { contacts: [{ uri: '*' }] },
      { contacts: [{ uri: '*' }], expiresHeader: '3600' },
      { contacts: [{ uri: '*' }, { uri: alice }], expiresHeader: '0' },
      { contacts: [{ uri: alice }], expiresHeader: 'soon' },
      { contacts: [{ uri: alice }], expiresHeader: '-1' },
      { contacts: [{ uri: alice, expires: '' }] },
      { contacts: [{ uri: alice, expires: '1.5' }] },
    ]) expect(planRegistration(ask, limits).kind, JSON.stringify(ask)).toBe('invalid');
  });
});
