// A valid configuration for tests, built in code so each test says only what it changes.
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { stringify } from 'yaml';

export const BUSINESS = '+447418613982';
export const USER = '+447911123456';

export function baseConfigObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    drachtio: { host: '127.0.0.1', port: 9022, secret: 'cymru' },
    redis: { url: 'redis://127.0.0.1:6379' },
    http: { host: '127.0.0.1', port: 8080, adminToken: 'test-admin-token-0123456789' },
    telnyx: { dialDomain: 'sip.telnyx.com', outboundProxy: 'sip:127.0.0.2:5060', sources: ['127.0.0.2/32'] },
    whatsapp: {},
    trunks: [{ name: 'acme', sources: ['127.0.0.1/32'], numbers: [BUSINESS], defaultRegion: 'GB' }],
    numbers: [{ number: BUSINESS, calling: true, inbound: ['sip:100@127.0.0.1:5070'] }],
    ...overrides,
  };
}

export function testConfig(overrides: Record<string, unknown> = {}): Readonly<Config> {
  return parseConfig(stringify(baseConfigObject(overrides)), 'test-config', {});
}

/** A softphone `alice` with digest credentials, ringing for the business number (real-client tests). */
export const ALICE = { username: 'alice', password: 'alice-secret-1' };
export const SOFTPHONE_REALM = 'edge.wa-test';
export const aliceRingsForBusiness = (): Record<string, unknown> => ({
  sip: { realm: SOFTPHONE_REALM, registration: { minExpires: 60, maxExpires: 3600 } },
  devices: [{ ...ALICE, numbers: [BUSINESS], defaultRegion: 'GB' }],
  numbers: [{ number: BUSINESS, calling: true, inbound: ['device:alice'] }],
});

/** The problems a configuration loader call reports (ConfigError), or none. */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}
