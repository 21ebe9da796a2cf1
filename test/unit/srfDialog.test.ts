// releaseSetupMessages (src/sip/srf.ts) replaces what a drachtio-srf Dialog keeps of its INVITE and
// final response with the few fields it reads afterwards. These tests hold that promise against the
// installed drachtio-srf: a new version that reads more of them fails here, not on a live call.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { releaseSetupMessages, type Dialog } from '../../src/sip/srf.js';

const require = createRequire(import.meta.url);
const dialogSource = readFileSync(require.resolve('drachtio-srf/lib/dialog.js'), 'utf8');
const DialogClass = require('drachtio-srf/lib/dialog.js') as { prototype: object };

describe("drachtio-srf's Dialog once its setup messages are released", () => {
  it('reads of req and res in lib/dialog.js are the known ones (constructor included)', () => {
    const reads = new Set(dialogSource.match(/this\.(?:req|res)\.\w+/g));
    expect([...reads].sort()).toEqual(
      [
        // constructor only, before the release
        'this.req.body', 'this.req.getParsedHeader', 'this.req.uri', 'this.res.body', 'this.res.get', 'this.res.getParsedHeader',
        // kept by releaseSetupMessages: method (dialogType), get('Event') (subscribeEvent), socket, stackDialogId (id), agent
        'this.req.get', 'this.req.method', 'this.req.socket', 'this.res.agent', 'this.res.stackDialogId',
      ].sort(),
    );
  });

  it('keeps id, dialogType, socket and the agent, and drops the messages', () => {
    const socket = { name: 'drachtio control socket' };
    const agent = { name: 'drachtio agent' };
    const dialog = Object.create(DialogClass.prototype) as Dialog & Record<string, unknown>;
    dialog.req = { method: 'INVITE', socket, get: () => 'never read', msg: { raw: 'INVITE sip:... (kB of text)' } };
    dialog.res = { stackDialogId: 'dialog-1', agent, msg: { raw: 'SIP/2.0 200 OK ...' } };
    releaseSetupMessages(dialog);
    expect(dialog.id).toBe('dialog-1');
    expect(dialog.dialogType).toBe('INVITE');
    expect(dialog.socket).toBe(socket);
    expect(dialog.subscribeEvent).toBeNull();
    expect((dialog.res as { agent: unknown }).agent).toBe(agent);
    expect(dialog.req).not.toHaveProperty('msg');
    expect(dialog.res).not.toHaveProperty('msg');
  });

  it('a SUBSCRIBE dialog keeps its Event', () => {
    const dialog = Object.create(DialogClass.prototype) as Dialog & Record<string, unknown>;
    dialog.req = { method: 'SUBSCRIBE', socket: {}, get: (h: string) => (h === 'Event' ? 'presence' : undefined) };
    dialog.res = { stackDialogId: 'dialog-2', agent: {} };
    releaseSetupMessages(dialog);
    expect(dialog.subscribeEvent).toBe('presence');
  });
});
