// Configuration of the keys for permissions the edge has not seen (SPEC §2):
// whatsapp.cloudApi.permissionLookup and telnyx.webhook.publicKey.
import { describe, expect, it } from 'vitest';
import { BUSINESS, configProblems, testConfig } from '../helpers/config.js';
import { lookupSettings } from '../../src/permissionLookup.js';

const cloudApi = (permissionLookup?: unknown) => ({ whatsapp: { cloudApi: { baseUrl: 'https://graph.facebook.com/v23.0', token: 't', ...(permissionLookup === undefined ? {} : { permissionLookup }) } } });
const telnyx = (webhook: unknown) => ({ telnyx: { sources: ['127.0.0.2/32'], webhook } });

describe('whatsapp.cloudApi.permissionLookup', () => {
  it('off by default, and without cloudApi', () => {
    expect(lookupSettings(testConfig(cloudApi()), BUSINESS)).toBeUndefined();
    expect(lookupSettings(testConfig(), BUSINESS)).toBeUndefined();
  });

  it('true: an 800 ms deadline, a "no" reused 60 s; an object sets either', () => {
    expect(lookupSettings(testConfig(cloudApi(true)), BUSINESS)).toMatchObject({ timeoutMs: 800, negativeCacheSeconds: 60 });
    expect(lookupSettings(testConfig(cloudApi('true')), BUSINESS)).toMatchObject({ timeoutMs: 800 });
    expect(lookupSettings(testConfig(cloudApi({ timeoutMs: 300 })), BUSINESS)).toMatchObject({ timeoutMs: 300, negativeCacheSeconds: 60 });
  });

  it('refuses a deadline outside 50–10000 ms and unknown keys', () => {
    expect(configProblems(() => testConfig(cloudApi({ timeoutMs: 20000 })))).toEqual([expect.stringMatching(/^whatsapp\.cloudApi\.permissionLookup/)]);
    expect(configProblems(() => testConfig(cloudApi({ ttl: 5 })))).toEqual([expect.stringMatching(/^whatsapp\.cloudApi\.permissionLookup/)]);
  });
});

describe('telnyx.webhook.publicKey', () => {
  it('the base64 32-byte key Telnyx shows; anything else is refused with its path', () => {
    expect(testConfig(telnyx({ publicKey: Buffer.alloc(32, 7).toString('base64') })).telnyx.webhook?.publicKey).toBeDefined();
    expect(configProblems(() => testConfig(telnyx({ publicKey: 'c2hvcnQ=' })))).toEqual(['telnyx.webhook.publicKey: not a base64 Ed25519 public key (32 bytes)']);
  });
});
