// bench/sip/plainB2bua.ts: the baseline of the SIP benchmarks, a plain drachtio-srf app with no
// policy at all. Every INVITE is createB2BUA'd to the Telnyx SIPp with the same dial string and
// proxy the edge would use, or, with --reject, answered 480 with the edge's no_permission Reason.
// With --pass-reason a failure from the B leg goes back with its Reason header (the call that
// Telnyx refuses). No Redis, no SDP rewriting, no logging, no metrics: what drachtio-srf alone costs.
//
//   npx tsx bench/sip/plainB2bua.ts --drachtio 127.0.0.1:9022 --secret cymru --target 127.0.0.2:5060 [--reject] [--pass-reason]
//
// Forked by the benchmarks with an IPC channel: it then sends {type:'ready'} once connected to
// drachtio-server, answers {type:'stats'} with its memory, CPU time and live call count, and
// exits on {type:'stop'} (so --cpu-prof can write its profile).
import { createSrf, type Dialog } from '../../src/sip/srf.js';
import { installIpc } from './ipc.js';

const arg = (name: string, dflt?: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const [host, port] = (arg('drachtio', '127.0.0.1:9022') as string).split(':');
const secret = arg('secret', 'cymru') as string;
const target = arg('target', '127.0.0.2:5060') as string;
const rejectAll = process.argv.includes('--reject');
const passReason = process.argv.includes('--pass-reason');
const business = arg('business', '+447418613982') as string;
const dialDomain = `whatsapp-${business.replace('+', '')}.sip.telnyx.com`;

const srf = createSrf();
let active = 0;
let connected = false;

srf.on('connect', (err: Error | null) => {
  if (err) {
    console.error(`plainB2bua: drachtio refused the connection: ${err.message}`);
    process.exit(1);
  }
  connected = true;
});
srf.on('error', () => {});

srf.invite((req, res) => {
  if (rejectAll) {
    res.send(480, { headers: { Reason: 'SIP;cause=480;text="no_permission"' } });
    return;
  }
  const user = /^sips?:([^@;]+)@/.exec(req.uri)?.[1] ?? 'unknown';
  srf
    .createB2BUA(req, res, `sip:${user}@${dialDomain}`, { proxy: `sip:${target}`, callingNumber: business, ...(passReason ? { proxyResponseHeaders: ['Reason'] } : {}) })
    .then(({ uas, uac }: { uas: Dialog; uac: Dialog }) => {
      active++;
      let done = false;
      const end = (other: Dialog) => {
        if (done) return;
        done = true;
        active--;
        other.destroy().catch(() => {});
      };
      uas.on('destroy', () => end(uac));
      uac.on('destroy', () => end(uas));
    })
    .catch(() => {});
});

srf.connect({ host: host as string, port: Number(port), secret });

installIpc({
  ready: () => connected,
  activeCalls: () => active,
  stop: async () => srf.disconnect(),
});
