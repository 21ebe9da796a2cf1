// Runs one call through the edge with SIPp on both sides: the far side first (it must be
// listening), then the near side; resolves with both results once both have exited.
import { expect } from 'vitest';
import { sipp, describeSipp, type SippResult } from '../helpers/sipp.js';
import { addrs } from '../helpers/drachtio.js';
import type { EdgeFixture } from '../helpers/edge.js';

export interface Leg {
  scenario: string;
  extraArgs?: string[];
  vars?: Record<string, string | number>;
  service?: string;
  timeoutSec?: number;
  localAddress?: string;
}

/** PBX (UAC on 127.0.0.1) → edge → Telnyx (UAS on 127.0.0.2). */
export async function outboundCall(fx: EdgeFixture, pbx: Leg, telnyx?: Leg): Promise<{ pbx: SippResult; telnyx?: SippResult }> {
  const uas = telnyx
    ? sipp({ scenario: telnyx.scenario, localAddress: addrs.telnyx, localPort: fx.telnyxPort, vars: telnyx.vars, timeoutSec: telnyx.timeoutSec ?? 20 })
    : undefined;
  await uas?.ready;
  const uac = sipp({
    scenario: pbx.scenario,
    localAddress: pbx.localAddress ?? addrs.pbx,
    remote: fx.sip,
    service: pbx.service ?? '+447911123456',
    vars: pbx.vars,
    timeoutSec: pbx.timeoutSec ?? 20,
    extraArgs: pbx.extraArgs,
  });
  const pbxResult = await uac.done;
  if (uas && pbxResult.code !== 0) uas.kill();
  const telnyxResult = await uas?.done;
  return { pbx: pbxResult, telnyx: telnyxResult };
}

/** Telnyx (UAC on 127.0.0.2) → edge → PBX (UAS on 127.0.0.1, one or two targets). */
export async function inboundCall(fx: EdgeFixture, telnyx: Leg, pbx: (Leg & { port: number })[] = []): Promise<{ telnyx: SippResult; pbx: SippResult[] }> {
  const uases = pbx.map((p) => sipp({ scenario: p.scenario, localAddress: addrs.pbx, localPort: p.port, vars: p.vars, timeoutSec: p.timeoutSec ?? 20 }));
  await Promise.all(uases.map((u) => u.ready));
  const uac = sipp({ scenario: telnyx.scenario, localAddress: telnyx.localAddress ?? addrs.telnyx, remote: fx.sip, service: telnyx.service, vars: telnyx.vars, timeoutSec: telnyx.timeoutSec ?? 20 });
  const telnyxResult = await uac.done;
  if (telnyxResult.code !== 0) uases.forEach((u) => u.kill());
  return { telnyx: telnyxResult, pbx: await Promise.all(uases.map((u) => u.done)) };
}

export function expectOk(r: SippResult | undefined, fx: EdgeFixture): void {
  expect(r, 'SIPp ran').toBeDefined();
  if (r!.code !== 0) console.error(describeSipp(r!), '\n--- edge log (tail)\n', fx.logs().split('\n').slice(-60).join('\n'));
  expect(r!.code, describeSipp(r!)).toBe(0);
}

/** A PBX call that must be refused with `code` and Reason text `reason`. */
export async function expectRefused(fx: EdgeFixture, code: number, reason: string, opts: { service?: string; from?: string; retryAfter?: boolean; localAddress?: string } = {}) {
  const vars: Record<string, string> = { code: String(code), reason };
  if (opts.from) vars.from = opts.from;
  if (opts.retryAfter !== undefined) vars.retry_after = opts.retryAfter ? 'yes' : 'no';
  const { pbx } = await outboundCall(fx, { scenario: 'pbx_call_expect_reject.xml', service: opts.service, vars, localAddress: opts.localAddress });
  expectOk(pbx, fx);
}
