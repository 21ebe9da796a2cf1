// SPEC §7 (Meta's SIP guide, "Custom SIP headers") and §2 `numbers[].inboundRoutes`: what Meta tells
// the PBX on a user's call. SIPp as Telnyx on 127.0.0.2 sends Meta's x-wa-meta-* headers (whether
// Telnyx forwards them is not documented: without them the feature is inert); SIPp as the PBX on
// 127.0.0.1 receives them; a real drachtio-server, real Redis, the edge app.
import { expect, it } from 'vitest';
import { describeWithDrachtio, addrs } from '../helpers/drachtio.js';
import { useEdgeFixture } from '../helpers/edge.js';
import { BUSINESS, USER } from '../helpers/config.js';
import { recentCalls } from '../../src/state/records.js';
import { messagesOf } from '../helpers/sipp.js';
import { expectOk, inboundCall } from './call.js';

describeWithDrachtio("inbound: Meta's x-wa-meta-* headers and the targets a payload chooses", () => {
  const target = (port: number, user: string) => `sip:${user}@${addrs.pbx}:${port}`;
  const fx = useEdgeFixture(({ pbxPort, pbxPort2 }) => ({
    numbers: [
      {
        number: BUSINESS,
        inbound: [target(pbxPort, '100')],
        inboundRoutes: [
          { payload: 'sales', targets: [target(pbxPort, 'sales')] },
          { payload: 'support', targets: [target(pbxPort2, 'support')] },
        ],
      },
    ],
  }));
  const lastRecord = async () => (await recentCalls(fx.edge.redis, 1))[0];

  it('a "sales" call button: every Meta header reaches the PBX unchanged, the sales route rings, the record has them', async () => {
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call_meta.xml', vars: { hold: 200, payload: 'sales' } }, [
      { scenario: 'pbx_uas_answer.xml', port: fx.pbxPort, vars: { expected_ruri: target(fx.pbxPort, 'sales'), expected_from: USER } },
    ]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    const invite = messagesOf(pbx[0]!).find((m) => /message received/.test(m) && /^INVITE /m.test(m)) ?? '';
    expect(invite).toMatch(/^x-wa-meta-wacid: wacid\.HBgLMTIxOTU1NTA3MTQVAgASGCA5\r?$/im);
    expect(invite).toMatch(/^x-wa-meta-user-id: US\.13491208655302741918\r?$/im);
    expect(invite).toMatch(/^x-wa-meta-parent-user-id: US\.ENT\.11815799212886844830\r?$/im);
    expect(invite).toMatch(/^x-wa-meta-username: jane_doe\r?$/im);
    expect(invite).toMatch(/^x-wa-meta-cta-payload: sales\r?$/im);
    await fx.expectIdle();
    await expect.poll(lastRecord).toMatchObject({
      direction: 'inbound',
      outcome: 'connected',
      waCallId: 'wacid.HBgLMTIxOTU1NTA3MTQVAgASGCA5',
      waUserId: 'US.13491208655302741918',
      waParentUserId: 'US.ENT.11815799212886844830',
      waUsername: 'jane_doe',
      ctaPayload: 'sales',
      inboundRoute: 'sales',
    });
  });

  it('a "support" deep link rings the support route, another target than "sales"', async () => {
    const { telnyx, pbx } = await inboundCall(
      fx,
      { scenario: 'telnyx_call_meta.xml', vars: { hold: 200, payload_header: 'x-wa-meta-deeplink-payload', payload: 'support' } },
      [{ scenario: 'pbx_uas_answer.xml', port: fx.pbxPort2, vars: { expected_ruri: target(fx.pbxPort2, 'support') } }],
    );
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    expect(pbx[0]!.messages).toMatch(/^x-wa-meta-deeplink-payload: support\r?$/im);
    await fx.expectIdle();
    await expect.poll(lastRecord).toMatchObject({ outcome: 'connected', deeplinkPayload: 'support', inboundRoute: 'support' });
  });

  it('no payload (or no Meta headers at all): the plain inbound list rings, the record names no route', async () => {
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call.xml', vars: { hold: 200 } }, [
      { scenario: 'pbx_uas_answer.xml', port: fx.pbxPort, vars: { expected_ruri: target(fx.pbxPort, '100') } },
    ]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    await fx.expectIdle();
    await expect.poll(lastRecord).toMatchObject({ direction: 'inbound', outcome: 'connected' });
    const record = await lastRecord();
    for (const field of ['inboundRoute', 'ctaPayload', 'deeplinkPayload', 'waCallId', 'waUserId']) expect(record).not.toHaveProperty(field);
  });

  it('a payload no route names: the plain inbound list', async () => {
    const { telnyx, pbx } = await inboundCall(fx, { scenario: 'telnyx_call_meta.xml', vars: { hold: 200, payload: 'billing' } }, [
      { scenario: 'pbx_uas_answer.xml', port: fx.pbxPort, vars: { expected_ruri: target(fx.pbxPort, '100') } },
    ]);
    expectOk(telnyx, fx);
    expectOk(pbx[0], fx);
    await fx.expectIdle();
    await expect.poll(lastRecord).toMatchObject({ outcome: 'connected', ctaPayload: 'billing' });
    expect(await lastRecord()).not.toHaveProperty('inboundRoute');
  });
});
