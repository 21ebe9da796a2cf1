// Users as Meta names them, end to end through drachtio-server, SIPp and Redis (SPEC §3
// "Numbers", §7): a possible number the metadata does not list (both directions), a caller
// that is no number at all, a BSUID caller, identities learned from a webhook followed by a call
// dialled by the phone number, and an impossible number.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { expectOk, expectRefused, inboundCall, outboundCall } from './call.js';

/** Possible for +44, in a range the bundled metadata does not list. */
const UNLISTED = '+445912345678';
const BSUID = 'US.13491208655302741918';

describeWithDrachtio('identities: every possible number, every user identity', () => {
  let fx: EdgeFixture;
  const target = () => `sip:100@${addrs.pbx}:${fx.pbxPort}`;

  beforeAll(async () => {
    fx = await startEdgeFixture();
  }, 60_000);
  afterAll(async () => fx?.stop());
  beforeEach(async () => {
    fx.reconfigure();
    await fx.edge.redis.flushall();
  });
  afterEach(async () => fx.expectIdle(15_000));

  const notGranted = async (reason: string) =>
    (await fx.edge.metrics.callbackNotGrantedTotal.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  const lastRecord = async () => {
    const [entry] = await fx.edge.redis.xrevrange('wa:calls', '+', '-', 'COUNT', 1);
    const flat = entry![1];
    return Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));
  };

  /** Telnyx calls the business number from `user`; the PBX answers and must see `expectedFrom`. */
  async function callFrom(user: string, expectedFrom: string) {
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { user, hold: 100 } }, [
      { scenario: 'pbx_uas_answer.xml', port: fx.pbxPort, vars: { expected_ruri: target(), expected_from: expectedFrom } },
    ]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    await fx.expectIdle();
  }

  it('a possible number the metadata does not list calls the business: routed (not 400), callback permission granted, and the PBX calls it back', async () => {
    await callFrom(UNLISTED, UNLISTED);
    expect((await fx.edge.permissions.read(BUSINESS, UNLISTED)).kind).toBe('temporary');
    const { pbx, telnyx } = await outboundCall(
      fx,
      { scenario: 'pbx_call.xml', service: UNLISTED, vars: { hold: 100 } },
      { scenario: 'telnyx_uas_answer.xml', vars: { expected_ruri: `sip:${UNLISTED}@whatsapp-447418613982.sip.telnyx.com`, expected_from: BUSINESS } },
    );
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });

  it.each([
    ['anonymous', 'anonymous', 'anonymous'],
    ['a name', 'alice.smith', 'not_a_number'],
    ['a number too short for its country', '+4479111234', 'not_a_number'],
  ])('a caller that is no number at all (%s) reaches the PBX as Telnyx sent it; no permission, counted', async (_what, user, reason) => {
    const before = await notGranted(reason);
    await callFrom(user, user);
    expect(await notGranted(reason)).toBe(before + 1);
    expect(await fx.edge.redis.keys('wa:*:perm:*')).toEqual([]);
    expect(await lastRecord()).toMatchObject({ direction: 'inbound', outcome: 'connected', user });
  });

  it('a BSUID caller reaches the PBX as its BSUID; the callback permission is kept under it', async () => {
    await callFrom(BSUID, BSUID);
    expect((await fx.edge.permissions.read(BUSINESS, BSUID)).kind).toBe('temporary');
    expect(await lastRecord()).toMatchObject({ user: BSUID });
  });

  it('a BSUID caller the edge knows to be a phone number reaches the PBX as that number, and the PBX calls it back', async () => {
    await fx.edge.permissions.link(BUSINESS, BSUID, USER);
    await callFrom(BSUID, USER);
    expect((await fx.edge.permissions.read(BUSINESS, USER)).source).toBe('callback');
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });

  it('a grant kept under a BSUID, then a webhook naming both: a call dialled by the phone number connects', async () => {
    await fx.edge.permissions.grant(BUSINESS, BSUID, 'permanent', 'webhook');
    await expectRefused(fx, 480, 'no_permission');
    await fx.edge.permissions.link(BUSINESS, BSUID, USER); // what the webhook route does for contacts[] naming both
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 } }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
  });

  it('header injection in the caller is still refused: 400 bad_request', async () => {
    const { telnyx } = await inboundCall(fx, {
      scenario: 'pbx_call_expect_reject.xml',
      localAddress: addrs.telnyx,
      vars: { from: '+44791112%0D%0AX-Evil:%20yes', code: '400', reason: 'bad_request' },
      service: BUSINESS,
    });
    expectOk(telnyx, fx);
  });

  it.each([
    ['too short', '+4479111234'],
    ['too long', '+44791112345678'],
    ['letters', 'alice'],
  ])('an impossible number dialled by the PBX (%s): 484 invalid_destination', async (_what, service) => {
    await expectRefused(fx, 484, 'invalid_destination', { service });
  });
});
