// NgClient (src/media/rtpengine.ts) reaches into rtpengine-client's private `_onParsedMessage` to
// drop replies that arrive after their timeout. This guards that seam against the installed
// package: a new version that routes replies elsewhere fails here, not as console noise and
// 'error' events on a loaded production edge. rtpengine is played by a UDP socket (the ng wire
// format is `<cookie> <bencoded dict>`).
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { NgClient, NgRefused } from '../../src/media/rtpengine.js';

let fake: Socket;
let port: number;
let replyDelayMs = 0;
let reply = 'd6:result4:ponge';

beforeEach(async () => {
  replyDelayMs = 0;
  reply = 'd6:result4:ponge';
  fake = createSocket('udp4');
  fake.on('message', (msg, from) => {
    const cookie = msg.toString().split(' ', 1)[0];
    setTimeout(() => fake.send(`${cookie} ${reply}`, from.port, from.address), replyDelayMs);
  });
  await new Promise<void>((resolve) => fake.bind(0, '127.0.0.1', resolve));
  port = fake.address().port;
});
afterEach(() => fake.close());

it('the private hook NgClient replaces still exists on the package', async () => {
  const { createRequire } = await import('node:module');
  const { Client } = createRequire(import.meta.url)('rtpengine-client') as { Client: { prototype: Record<string, unknown> } };
  expect(typeof Client.prototype._onParsedMessage).toBe('function');
});

it('a reply in time answers the command through the hook', async () => {
  const onError = vi.fn();
  const ng = new NgClient(1_000, onError);
  try {
    await expect(ng.ping({ host: '127.0.0.1', port })).resolves.toBeUndefined();
    reply = 'd6:result5:error12:error-reason4:nopee';
    await expect(ng.ping({ host: '127.0.0.1', port })).rejects.toBeInstanceOf(NgRefused);
    expect(onError).not.toHaveBeenCalled();
  } finally {
    ng.close();
  }
});

it('a reply after its timeout is dropped: no error event, nothing printed', async () => {
  const onError = vi.fn();
  const log = vi.spyOn(console, 'log');
  const ng = new NgClient(100, onError);
  let replied = false;
  fake.on('message', () => setTimeout(() => (replied = true), replyDelayMs + 50));
  replyDelayMs = 300;
  try {
    await expect(ng.ping({ host: '127.0.0.1', port })).rejects.toThrow();
    await vi.waitFor(() => expect(replied).toBe(true), { timeout: 3_000 });
    // The late reply reached the client's socket (it is delivered on the next turn of the loop).
    await new Promise((resolve) => setImmediate(resolve));
    expect(onError).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  } finally {
    log.mockRestore();
    ng.close();
  }
});
