// A real Kamailio (Debian's kamailio + kamailio-tls-modules) per test, in the foreground, from a
// config file with its settings given as pre-processor defines (`-A NAME=value`), on free
// loopback ports, stopped afterwards. Debian's SIPp has no TLS: Kamailio is the TLS party of
// the TLS tests. `startTlsPeer` plays Telnyx's TLS side (a TLS listener relaying to a SIPp over
// UDP and logging the transport of everything it receives); `startKamailio` runs any config,
// e.g. the shipped verifying hop deploy/kamailio/telnyx-tls-hop.cfg.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { portInUse } from '../../src/sip/ports.js';
import { freeSipPort } from './drachtio.js';
import { freePort } from './ports.js';

function findKamailio(): string | undefined {
  for (const bin of [process.env.KAMAILIO_BIN, '/usr/sbin/kamailio', '/usr/local/sbin/kamailio']) if (bin && existsSync(bin)) return bin;
  return undefined;
}

/** Directory of Kamailio's modules that holds tls.so (Debian's multiarch path, or the plain one). */
function findTlsModules(): string | undefined {
  const dirs = ['/usr/lib/kamailio/modules', '/usr/local/lib64/kamailio/modules', '/usr/local/lib/kamailio/modules'];
  try {
    for (const arch of readdirSync('/usr/lib')) dirs.unshift(join('/usr/lib', arch, 'kamailio/modules'));
  } catch {
    // no /usr/lib: nothing found
  }
  return dirs.find((d) => existsSync(join(d, 'tls.so')));
}

export const kamailioBin: string | undefined = findKamailio();
const modulesDir = findTlsModules();
export const hasKamailio: boolean = kamailioBin !== undefined && modulesDir !== undefined;

let warned = false;

/** `describe` when Kamailio with its TLS module is installed; else a failure in CI, a loud skip elsewhere. */
export function describeWithKamailio(name: string, fn: () => void): void {
  if (hasKamailio) {
    describe(name, fn);
    return;
  }
  const missing = 'Kamailio with TLS not found (apt-get install kamailio kamailio-tls-modules, or KAMAILIO_BIN)';
  if (process.env.CI) {
    describe(name, () => {
      it('needs kamailio and kamailio-tls-modules', () => {
        throw new Error(`${missing} and CI is set: the TLS suites must run`);
      });
    });
    return;
  }
  if (!warned) {
    warned = true;
    console.warn(`SKIPPED: ${missing}`);
  }
  describe.skip(name, fn);
}

/** A pre-processor define's string value, quoted as Kamailio's config language wants it. */
export const kamailioString = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

export interface KamailioOptions {
  /** The config file to run. */
  configFile: string;
  /** `-A NAME=value` each: numbers and addresses as they are, strings through kamailioString. */
  defines?: Record<string, string | number>;
  /** The sockets it opens; start() resolves once all of them are. */
  listens: { proto: 'udp' | 'tcp'; address: string; port: number }[];
}

export interface Kamailio {
  /** Everything it logged (stderr), for assertions and failure messages. */
  logs(): string;
  /** SIGTERM, SIGKILL after 3 s; removes its runtime directory. Idempotent. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startKamailio(opts: KamailioOptions): Promise<Kamailio> {
  if (!kamailioBin || !modulesDir) throw new Error('Kamailio with its TLS module is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-kamailio-'));
  const args = [
    '-f', opts.configFile,
    '-DD', '-E', // foreground, log to stderr
    '-L', modulesDir,
    '-Y', dir, // runtime directory: nothing under /run
    '-w', dir,
    '-m', '48', '-M', '8', // MB of shared and private memory: plenty for a test
    ...Object.entries(opts.defines ?? {}).flatMap(([k, v]) => ['-A', `${k}=${v}`]),
  ];
  let output = '';
  // Its own process group: Kamailio forks workers, and a stop must end them all (a worker left
  // behind keeps the output pipes open, and the listening sockets).
  const proc: ChildProcess = spawn(kamailioBin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const capture = (c: Buffer) => {
    output += c.toString('utf8');
    if (output.length > 512 * 1024) output = output.slice(-512 * 1024);
  };
  proc.stdout?.on('data', capture);
  proc.stderr?.on('data', capture);
  // 'exit', not 'close': the pipes close only when the last worker has gone.
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(proc.pid as number), signal);
    } catch {
      // the group is gone already
    }
  };
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      signalGroup('SIGTERM');
      const t = setTimeout(() => signalGroup('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    signalGroup('SIGKILL'); // any worker still there
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await stop();
      throw new Error(`kamailio exited during start-up (${proc.exitCode ?? proc.signalCode}): ${kamailioBin} ${args.join(' ')}\n${output.slice(-4000)}`);
    }
    let up = true;
    for (const l of opts.listens) if (!(await portInUse(l.proto, l.address, l.port))) up = false;
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kamailio did not open ${JSON.stringify(opts.listens)}:\n${output.slice(-4000)}`);
    }
    await sleep(50);
  }
  return { logs: () => output, stop };
}

const PEER_CFG = `#!KAMAILIO
# Telnyx's TLS side in the tests: a TLS listener on PEER_ADDRESS:PEER_TLS_PORT (and UDP on
# PEER_UDP_PORT towards SIPp) that record-routes every new request to NEXT_HOP and logs how each
# request and reply arrived ("wa-peer: received <METHOD> from <ip>:<port> over <proto>").
# Inbound (PEER_TLS_OUT): SIPp's requests go on over TLS to the edge (NEXT_HOP ;transport=tls),
# verified against PEER_CA when set.
debug=2
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
enable_tls=yes
listen=udp:PEER_ADDRESS:PEER_UDP_PORT
listen=tls:PEER_ADDRESS:PEER_TLS_PORT

loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "maxfwd.so"

modparam("tls", "certificate", PEER_CERT)
modparam("tls", "private_key", PEER_KEY)
modparam("tls", "tls_method", "TLSv1.2+")
#!ifdef PEER_CA
# As Telnyx would: the server it connects to must show a certificate that chains to PEER_CA.
modparam("tls", "ca_list", PEER_CA)
modparam("tls", "verify_certificate", 1)
#!else
modparam("tls", "verify_certificate", 0)
#!endif
modparam("tls", "require_certificate", 0)

request_route {
  xlog("L_NOTICE", "wa-peer: received $rm from $si:$sp over $pr\\n");
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
#!ifdef PEER_TLS_OUT
  # Towards the edge over TLS, from this peer's own address (not the kernel's pick).
  if ($pr == "udp") force_send_socket(tls:PEER_ADDRESS:PEER_TLS_PORT);
#!endif
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  record_route();
  $du = NEXT_HOP;
  t_relay();
}

onreply_route {
  xlog("L_NOTICE", "wa-peer: reply $rs from $si:$sp over $pr\\n");
}
`;

export interface TlsPeer extends Kamailio {
  address: string;
  tlsPort: number;
  udpPort: number;
  /** Where the edge sends to reach it: `sip:<address>:<tlsPort>;transport=tls`. */
  uri: string;
  /** The requests it received, in order: method, source and transport (`tls`, `udp`, ...). */
  received(): { method: string; source: string; proto: string }[];
}

/**
 * Telnyx's TLS side: presents certFile/keyFile on a free TLS port and relays new requests to
 * `nextHop`: `host:port` (UDP, to a SIPp playing Telnyx), or `host:port;transport=tls` (to the
 * edge, for calls from a SIPp playing Telnyx sent to `udpPort`), the edge's certificate then
 * verified against `verifyWith` when given.
 */
export async function startTlsPeer(opts: { address: string; certFile: string; keyFile: string; nextHop: string; verifyWith?: string }): Promise<TlsPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-tls-peer-'));
  const configFile = join(dir, 'peer.cfg');
  writeFileSync(configFile, PEER_CFG);
  const tlsPort = await freePort(opts.address);
  const udpPort = await freeSipPort(opts.address);
  let k: Kamailio;
  try {
    k = await startKamailio({
      configFile,
      defines: {
        PEER_ADDRESS: opts.address,
        PEER_TLS_PORT: tlsPort,
        PEER_UDP_PORT: udpPort,
        PEER_CERT: kamailioString(opts.certFile),
        PEER_KEY: kamailioString(opts.keyFile),
        NEXT_HOP: kamailioString(`sip:${opts.nextHop}`),
        ...(/;transport=tls/i.test(opts.nextHop) ? { PEER_TLS_OUT: 1 } : {}),
        ...(opts.verifyWith ? { PEER_CA: kamailioString(opts.verifyWith) } : {}),
      },
      listens: [
        { proto: 'tcp', address: opts.address, port: tlsPort },
        { proto: 'udp', address: opts.address, port: udpPort },
      ],
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ...k,
    address: opts.address,
    tlsPort,
    udpPort,
    uri: `sip:${opts.address}:${tlsPort};transport=tls`,
    received: () =>
      [...k.logs().matchAll(/wa-peer: received (\S+) from (\S+) over (\S+)/g)].map((m) => ({ method: m[1]!, source: m[2]!, proto: m[3]! })),
    async stop() {
      await k.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
