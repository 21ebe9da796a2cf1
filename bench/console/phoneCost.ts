// bench/console/phoneCost.ts: what one call of the console's phone costs, a browser call (ICE +
// DTLS-SRTP between Chromium and rtpengine, plain RTP to Telnyx) next to the same call from a SIP
// party (plain RTP both sides), both PCMU through the same anchoring rtpengine, each against an
// idle window of the same length in the same run. Prints figures; asserts nothing.
//
//   npx tsx bench/console/phoneCost.ts [--seconds 15]
//
// Per window (a call's from its INVITE until the edge is idle again, so a little longer than the
// idle one; the phone page stays open and registered throughout): CPU time (ms) of rtpengine, drachtio-server and this process (the edge runs in it,
// beside Playwright's driver: the idle window carries that driver's share too), rtpengine's
// resident memory in the call and after it. Chromium's own CPU is not counted. The rig is the
// phone test's (test/console/phoneRig.ts): needs chromium, rtpengine, sipp and drachtio-server.
import { readFileSync } from 'node:fs';
import { BUSINESS, USER } from '../../test/helpers/config.js';
import { addrs } from '../../test/helpers/drachtio.js';
import { sipp } from '../../test/helpers/sipp.js';
import { until } from '../../test/helpers/until.js';
import { WAIT_MS, startPhoneRig } from '../../test/console/phoneRig.js';
import { numArg, sleep } from '../sip/lib.js';

const seconds = numArg('seconds', 15);

/** CPU time (ms) and resident memory (kB) of a process, from /proc (Linux). */
function procFigures(pid: number | undefined): { cpuMs: number; rssKb: number } {
  if (!pid) return { cpuMs: NaN, rssKb: NaN };
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in 1/100 s
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return { cpuMs: ticks * 10, rssKb };
}

const rig = await startPhoneRig();
try {
  const { fx, rtp } = rig;
  const sample = () => ({ rtp: procFigures(rtp.pid()), engine: procFigures(fx.drachtio.pid()), edge: process.cpuUsage(), at: Date.now() });
  const cost = (a: ReturnType<typeof sample>, b: ReturnType<typeof sample>) => ({
    wallMs: b.at - a.at,
    rtpengineCpuMs: b.rtp.cpuMs - a.rtp.cpuMs,
    drachtioCpuMs: b.engine.cpuMs - a.engine.cpuMs,
    edgeProcessCpuMs: Math.round((b.edge.user + b.edge.system - a.edge.user - a.edge.system) / 1000),
    rtpengineRssAfterKb: b.rtp.rssKb,
  });
  await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'bench');
  const page = await rig.browser.context.newPage();
  await rig.signInToConsole(page);
  await rig.signInToPhone(page);
  await rig.registered(page);
  await rig.lookUp(page, USER);

  console.log(`idle: ${seconds} s, phone registered, no call`);
  let s0 = sample();
  await sleep(seconds * 1000);
  const idle = cost(s0, sample());

  console.log(`browser call: ${seconds} s in call`);
  const telnyx = sipp({ scenario: rig.scenario('uas_answer_media_browser.xml'), localAddress: addrs.telnyx, localPort: fx.telnyxPort, timeoutSec: seconds + 60, extraArgs: await rig.mediaArgs() });
  await telnyx.ready;
  s0 = sample();
  await page.getByRole('button', { name: `Call ${USER}` }).click();
  await page.locator('.call-state', { hasText: 'In call' }).waitFor();
  const [browserCallId] = await rtp.calls();
  const inCallRtpBrowser = procFigures(rtp.pid()).rssKb;
  await sleep(seconds * 1000);
  const browserMedia = browserCallId ? await rig.mediaOf(browserCallId) : undefined;
  await page.getByRole('button', { name: 'Hang up' }).click();
  await rig.finished(telnyx);
  await fx.expectIdle(15_000);
  const browserCall = { ...cost(s0, sample()), rtpengineRssInCallKb: inCallRtpBrowser, packets: browserMedia };

  // The same call from a SIP party: a PBX trunk on 127.0.0.5 streaming PCMU for as long.
  console.log(`SIP call: ${seconds} s in call`);
  fx.reconfigure({ trunks: [{ name: 'bench', sources: [`${addrs.unknown}/32`], numbers: [BUSINESS] }], sip: fx.edge.config.current.sip });
  const callee = sipp({ scenario: rig.scenario('uas_answer_media.xml'), localAddress: addrs.telnyx, localPort: fx.telnyxPort, timeoutSec: seconds + 60, extraArgs: await rig.mediaArgs() });
  await callee.ready;
  s0 = sample();
  const caller = sipp({ scenario: rig.scenario('uac_call_media.xml'), localAddress: addrs.unknown, remote: fx.sip, service: USER, vars: { hold: seconds * 1000 }, timeoutSec: seconds + 60, extraArgs: await rig.mediaArgs(addrs.unknown) });
  await until(async () => (await rtp.calls()).length === 1, WAIT_MS, 'the SIP call on rtpengine');
  const inCallRtpSip = procFigures(rtp.pid()).rssKb;
  await rig.finished(caller);
  await rig.finished(callee);
  await fx.expectIdle(15_000);
  const sipCall = { ...cost(s0, sample()), rtpengineRssInCallKb: inCallRtpSip };
  await page.close();

  const row = (name: string, c: ReturnType<typeof cost> & { rtpengineRssInCallKb?: number }) =>
    `  ${name.padEnd(13)} ${String(c.wallMs).padStart(6)} ms wall  rtpengine ${String(c.rtpengineCpuMs).padStart(5)} ms  drachtio ${String(c.drachtioCpuMs).padStart(5)} ms  edge process ${String(c.edgeProcessCpuMs).padStart(5)} ms  rtpengine RSS in call ${c.rtpengineRssInCallKb ?? '-'} kB, after ${c.rtpengineRssAfterKb} kB`;
  console.log(`\nCPU over ${seconds} s windows (load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}):`);
  console.log(row('idle', idle));
  console.log(row('browser call', browserCall));
  console.log(row('SIP call', sipCall));
  if (browserMedia) console.log(`  browser call packets at rtpengine: from the browser ${browserMedia.fromBrowser}, from Telnyx ${browserMedia.fromTelnyx}`);
  console.log(JSON.stringify({ seconds, idle, browserCall, sipCall }));
} finally {
  await rig.stop();
}
