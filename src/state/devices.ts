// Softphone registrations in Redis, so every instance can ring a device wherever it registered.
import { replyList } from './scripts.js';
import type { StateStore } from './store.js';

export interface Binding {
  /** The Contact URI the softphone registered. */
  uri: string;
  /** Where the REGISTER came from: the softphone is reached there, not at a private Contact (NAT). */
  source: { address: string; port: number; transport: string };
  userAgent?: string;
  callId?: string;
}

export interface RegisteredBinding extends Binding {
  expiresAt: number;
}

const keys = (username: string) => ({
  contacts: `wa:{dev:${username}}:contacts`,
  expiry: `wa:{dev:${username}}:expiry`,
});

export class DeviceRegistry {
  constructor(private readonly store: StateStore) {}

  private clock(): number {
    return this.store.clock();
  }

  private async run(username: string, op: 'set' | 'remove' | 'clear' | 'list', contacts: (string | number)[]): Promise<RegisteredBinding[]> {
    const k = keys(username);
    const reply = await this.store.script('registerContacts', { keys: { contacts: k.contacts, expiry: k.expiry }, args: { nowMs: this.clock(), op }, rest: contacts });
    const flat = replyList('registerContacts', reply);
    const out: RegisteredBinding[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ ...(JSON.parse(flat[i] ?? '{}') as Binding), expiresAt: Number(flat[i + 1]) });
    return out;
  }

  /** Adds or refreshes bindings; returns every live binding of the device. */
  set(username: string, bindings: { binding: Binding; expiresSeconds: number }[]): Promise<RegisteredBinding[]> {
    const now = this.clock();
    return this.run(
      username,
      'set',
      bindings.flatMap(({ binding, expiresSeconds }) => [binding.uri, JSON.stringify(binding), now + expiresSeconds * 1000]),
    );
  }

  remove(username: string, uris: string[]): Promise<RegisteredBinding[]> {
    return this.run(username, 'remove', uris);
  }

  clear(username: string): Promise<RegisteredBinding[]> {
    return this.run(username, 'clear', []);
  }

  list(username: string): Promise<RegisteredBinding[]> {
    return this.run(username, 'list', []);
  }
}

export interface DeviceContacts {
  username: string;
  numbers: string[];
  contacts: RegisteredBinding[];
}

/** Every configured softphone with its live bindings (GET /v1/devices). */
export function listDevices(devices: readonly { username: string; numbers: string[] }[], registry: DeviceRegistry): Promise<DeviceContacts[]> {
  return Promise.all(devices.map(async (d) => ({ username: d.username, numbers: d.numbers, contacts: await registry.list(d.username) })));
}
