// A small, realistic edge for the console's tests and its README screenshot: three numbers, calls
// of every outcome, a customer whose permission was revoked after four unanswered calls, and a
// softphone with two contacts. Written through the state layer, as calls and webhooks write it.
import { telnyxEndReason } from '../../src/domain/endReasons.js';
import { DeviceRegistry } from '../../src/state/devices.js';
import { appendCallRecord, type CallRecord } from '../../src/state/records.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { newCallId } from '../helpers/state.js';
import type { HttpFixture } from '../http/fixture.js';

export const DE_NUMBER = '+4930901820';
export const US_NUMBER = '+12024561111';
export const OTHER_USER = '+447700900123';

export const SEEDED_NUMBERS = [
  { number: BUSINESS, calling: true, inbound: [] },
  { number: DE_NUMBER, calling: true, inbound: [] },
  { number: US_NUMBER, calling: false, inbound: [] },
];

const MINUTE = 60_000;

/** Admits and settles one outbound call as the SIP side would; returns its call id. */
async function outboundCall(f: HttpFixture, business: string, user: string, outcome: 'connected' | 'unanswered' | 'open') {
  const callId = newCallId();
  const a = await f.calls.admitOutbound({ business, user, callId, regionBlocked: false });
  if (!a.admitted) throw new Error(`seed: call ${business} → ${user} refused ${a.refusal.reason}`);
  if (outcome === 'open') return callId;
  await f.calls.settle(business, user, callId, outcome);
  if (outcome === 'connected') await f.calls.settle(business, user, callId, 'ended');
  return callId;
}

export async function seedEdge(f: HttpFixture, registry: DeviceRegistry): Promise<void> {
  const now = f.clock.now;
  // 37 connected calls on the UK number today, 4 on the German one, one call in progress.
  for (let i = 0; i < 37; i++) {
    const user = `+4479112${String(10000 + i).slice(1)}`;
    await f.permissions.grant(BUSINESS, user, 'permanent', 'webhook');
    await outboundCall(f, BUSINESS, user, 'connected');
  }
  for (let i = 0; i < 4; i++) {
    const user = `+4915112${String(10000 + i).slice(1)}`;
    await f.permissions.grant(DE_NUMBER, user, 'temporary', 'callback');
    await outboundCall(f, DE_NUMBER, user, 'connected');
  }
  await f.permissions.grant(BUSINESS, OTHER_USER, 'temporary', 'webhook', now + 3 * 24 * 60 * MINUTE);
  await outboundCall(f, BUSINESS, OTHER_USER, 'open');

  // USER did not answer four calls in a row: Meta revoked the permission (SPEC §7).
  await f.permissions.grant(BUSINESS, USER, 'temporary', 'callback');
  const records: CallRecord[] = [];
  const codes = [480, 486, 487, 480];
  for (const [i, sipStatus] of codes.entries()) {
    await outboundCall(f, BUSINESS, USER, 'unanswered');
    const startedAt = now - (50 - i * 10) * MINUTE;
    records.push({ callId: newCallId(), direction: 'outbound', number: BUSINESS, user: USER, outcome: 'unanswered', sipStatus, reason: telnyxEndReason(sipStatus), startedAt, endedAt: startedAt + 30_000 });
  }
  records.push({ callId: newCallId(), direction: 'inbound', number: BUSINESS, user: OTHER_USER, outcome: 'connected', sipStatus: 200, reason: 'bye_from_callee', startedAt: now - 8 * MINUTE, answeredAt: now - 8 * MINUTE + 4000, endedAt: now - 3 * MINUTE });
  records.push({ callId: newCallId(), direction: 'outbound', number: DE_NUMBER, user: '+4915112000', outcome: 'failed', sipStatus: 503, reason: 'refused_by_telnyx', startedAt: now - 2 * MINUTE, endedAt: now - 2 * MINUTE + 800 });
  records.push({ callId: newCallId(), direction: 'outbound', number: BUSINESS, user: '+447911200001', outcome: 'connected', sipStatus: 200, reason: 'bye_from_caller', startedAt: now - MINUTE, answeredAt: now - MINUTE + 6000, endedAt: now - 10_000 });
  for (const r of records) await appendCallRecord(f.redis, r);

  await registry.set('alice', [
    { binding: { uri: 'sip:alice@192.168.1.20:5060', source: { address: '203.0.113.40', port: 41022, transport: 'udp' }, userAgent: 'Zoiper rv2.10.20.5' }, expiresSeconds: 3000 },
    { binding: { uri: 'sip:alice@10.0.0.7:5061;transport=tls', source: { address: '198.51.100.23', port: 50611, transport: 'tls' }, userAgent: 'Linphone/5.2.5' }, expiresSeconds: 540 },
  ]);
}

export const SEEDED_DEVICES = [
  { username: 'alice', password: 'alice-secret-123', numbers: [BUSINESS] },
  { username: 'bob', password: 'bob-secret-4567', numbers: [DE_NUMBER] },
];
