// Debian's sipvicious (0.3.3) against a running edge with one softphone `alice` and a trunk on
// another address (issue 34), with the shipped scanner defences (sip.scannerBan defaults): svwar
// cannot tell alice from made-up names by REGISTER or INVITE, svcrack is cut off by
// authFailuresPer10m before it reaches the right password, the tools as shipped (User-Agent
// friendly-scanner) are banned on sight, and the trunk's calls and the real softphone go on.
// "Disguised" runs are the same tools with another User-Agent (sipvicious has no option for it:
// a few lines of Python set makeRequest's default) and from an address of their own: sipvicious
// 0.3.3 parses -b (bind address) but never uses it, so the same lines bind its socket. As shipped
// the kernel picks the source, 127.0.0.1 towards the edge: the trunk here is on another address
// (TRUNK), as in the issue, and the as-shipped runs come last (they get 127.0.0.1 banned).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addrs, freeSipPort, hasDrachtio } from '../helpers/drachtio.js';
import { startEdgeFixture, type EdgeFixture } from '../helpers/edge.js';
import { ALICE, BUSINESS, SOFTPHONE_REALM, USER, aliceRingsForBusiness } from '../helpers/config.js';
import { describeSipp, sipp } from '../helpers/sipp.js';
import { expectOk, outboundCall } from './call.js';

const SVWAR = '/usr/bin/svwar';
const SVCRACK = '/usr/bin/svcrack';
const DISGUISE = 'Zoiper rv2.10.20.4';
/** Made-up names around the real one: the enumeration must find none of them, alice included. */
const NAMES = ['admin', 'alice', 'bob', 'carol', 'dave', 'eve', 'test', 'guest', '100', '101', '1000', 'operator', 'reception', 'sales', 'support'];
const SOURCES = { register: '127.0.0.21', invite: '127.0.0.22', crack: '127.0.0.23', control: '127.0.0.24' };
/** Where the PBX trunk sends from: not 127.0.0.1, where sipvicious as shipped comes from. */
const TRUNK = '127.0.0.9';

/** Runs a sipvicious tool as shipped, or disguised (another User-Agent, from `source`); resolves with its output. */
function runTool(tool: 'svwar' | 'svcrack', args: string[], disguise?: { userAgent: string; source: string }, timeoutMs = 90_000): Promise<string> {
  const cmd = disguise
    ? ['python3', '-c', DISGUISED, disguise.userAgent, disguise.source, tool, ...args, '-x', disguise.source]
    : [tool === 'svwar' ? SVWAR : SVCRACK, ...args];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (out += String(d)));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${tool} did not finish in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    p.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** sipvicious's own entry points with makeRequest's default User-Agent replaced and its socket bound to one address. */
const DISGUISED = `
import importlib, socket, sys
sys.path.insert(0, '/usr/share/sipvicious')
import sipvicious.libs.svhelper as helper
ua, source, tool = sys.argv[1], sys.argv[2], sys.argv[3]
helper.makeRequest.__defaults__ = tuple(ua if d == 'friendly-scanner' else d for d in helper.makeRequest.__defaults__)
bind = socket.socket.bind
socket.socket.bind = lambda self, addr: bind(self, (source,) + tuple(addr[1:]) if addr[0] in ('', '0.0.0.0') else addr)
sys.argv = [tool] + sys.argv[4:]
importlib.import_module('sipvicious.' + tool).main()
`;

function describeWithSipvicious(name: string, fn: () => void): void {
  const missing = [existsSync(SVWAR) && existsSync(SVCRACK) ? undefined : 'sipvicious (apt-get install sipvicious)', hasDrachtio ? undefined : 'drachtio-server'].filter(Boolean).join(' and ');
  if (!missing) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => it(`needs ${missing}`, () => { throw new Error(`${missing} not found: CI must run the sipvicious tests`); }));
    return;
  }
  console.warn(`SKIPPED: ${name}: ${missing} not found`);
  describe.skip(name, fn);
}

/** The extensions svwar reports (its result table: `| alice | reqauth |`). */
const foundBySvwar = (out: string) => [...out.matchAll(/^\|\s*(\S+)\s*\|\s*(reqauth|noauth|weird)\s*\|/gm)].map((m) => `${m[1]} ${m[2]}`);

describeWithSipvicious('sipvicious against the edge, with the shipped scanner defences (issue 34)', () => {
  let fx: EdgeFixture;
  let dir: string;
  const target = () => ['-p', String(fx.drachtio.sipPort), fx.drachtio.sipAddress];
  const bans = async () => Object.fromEntries((await fx.edge.metrics.bannedSourcesTotal.get()).values.map((v) => [String(v.labels.cause), v.value]));

  beforeAll(async () => {
    // sip.scannerBan left at its defaults (50 requests per 10 s, 10 digest failures per 10 min, 600 s).
    fx = await startEdgeFixture(() => ({
      ...aliceRingsForBusiness(),
      trunks: [{ name: 'acme', sources: [`${TRUNK}/32`], numbers: [BUSINESS], defaultRegion: 'GB' }],
      numbers: [{ number: BUSINESS, calling: true, inbound: ['device:alice'] }],
    }));
    await fx.edge.permissions.grant(BUSINESS, USER, 'permanent', 'test');
    dir = mkdtempSync(join(tmpdir(), 'wa-edge-sipvicious-'));
    writeFileSync(join(dir, 'names.txt'), `${NAMES.join('\n')}\n`);
    // The right password 15th: the shipped limit (10 failures) must stop the guesser before it.
    const wrong = Array.from({ length: 14 }, (_, i) => `guess-${i + 1}`);
    writeFileSync(join(dir, 'passwords.txt'), `${[...wrong, ALICE.password].join('\n')}\n`);
    writeFileSync(join(dir, 'right-first.txt'), `${ALICE.password}\n`);
  }, 60_000);
  afterAll(async () => fx?.stop());

  for (const method of ['REGISTER', 'INVITE'] as const) {
    it(`svwar by ${method} (disguised): alice looks like every made-up name, nothing found`, async () => {
      const source = method === 'REGISTER' ? SOURCES.register : SOURCES.invite;
      const out = await runTool('svwar', ['-m', method, '-d', join(dir, 'names.txt'), '--force', '-P', '5060', '-t', '0.05', '--maximumtime', '10', ...target()], { userAgent: DISGUISE, source });
      console.log(`[svwar ${method}, disguised] ${NAMES.length} names incl. alice; found: ${JSON.stringify(foundBySvwar(out))}; bans ${JSON.stringify(await bans())}`);
      expect(out, out).toMatch(/found nothing/);
      expect(foundBySvwar(out)).toEqual([]);
    }, 120_000);
  }

  it('svcrack (disguised), control: with the right password first it is found (the tool works against this edge)', async () => {
    const out = await runTool('svcrack', ['-u', ALICE.username, '-d', join(dir, 'right-first.txt'), '-P', '5060', '--maximumtime', '10', ...target()], { userAgent: DISGUISE, source: SOURCES.control });
    expect(out, out).toContain(ALICE.password);
  }, 120_000);

  it('svcrack (disguised): cut off by authFailuresPer10m before the 15th guess, the right one', async () => {
    const before = (await bans()).auth_failures ?? 0;
    const out = await runTool('svcrack', ['-u', ALICE.username, '-d', join(dir, 'passwords.txt'), '-P', '5060', '-t', '0.05', '--maximumtime', '10', ...target()], { userAgent: DISGUISE, source: SOURCES.crack });
    const refused = (await fx.edge.metrics.rejectionsTotal.get()).values.filter((v) => v.labels.reason === 'auth_failed').reduce((s, v) => s + v.value, 0);
    console.log(`[svcrack, disguised] 14 wrong passwords then the right one: ${out.includes(ALICE.password) ? 'FOUND' : 'not found'}; digest failures refused ${refused}; bans ${JSON.stringify(await bans())}`);
    expect(out).not.toContain(ALICE.password);
    expect((await bans()).auth_failures).toBe(before + 1);
  }, 120_000);

  it('svwar and svcrack as shipped (User-Agent friendly-scanner, from 127.0.0.1): banned on sight, nothing learnt', async () => {
    const before = (await bans()).scanner ?? 0;
    // Bound to every address: a port of their own, so the 407s the edge still retransmits to the
    // disguised scans' 127.0.0.2x:5060 (they never ACK) cannot reach them.
    const war = await runTool('svwar', ['-m', 'INVITE', '-d', join(dir, 'names.txt'), '--force', '-P', '5062', '-t', '0.05', '--maximumtime', '10', ...target()]);
    const crack = await runTool('svcrack', ['-u', ALICE.username, '-d', join(dir, 'right-first.txt'), '-P', '5064', '--maximumtime', '10', ...target()]);
    console.log(`[as shipped] svwar found ${JSON.stringify(foundBySvwar(war))}; svcrack with the right password first: ${crack.includes(ALICE.password) ? 'FOUND' : 'not found'}; bans ${JSON.stringify(await bans())}`);
    expect(foundBySvwar(war)).toEqual([]);
    expect(crack).not.toContain(ALICE.password); // even the right password: the source is banned before it is checked
    expect((await bans()).scanner).toBe(before + 1); // one source, banned once: svcrack then meets the ban
  }, 120_000);

  it('meanwhile the trunk\'s calls connect and the real softphone registers', async () => {
    const { pbx, telnyx } = await outboundCall(fx, { scenario: 'pbx_call.xml', vars: { hold: 100 }, localAddress: TRUNK }, { scenario: 'telnyx_uas_answer.xml' });
    expectOk(pbx, fx);
    expectOk(telnyx, fx);
    const port = await freeSipPort(addrs.softphone);
    const r = await sipp({ scenario: 'phone_register.xml', localAddress: addrs.softphone, localPort: port, remote: fx.sip, vars: { user: ALICE.username, password: ALICE.password, realm: SOFTPHONE_REALM }, timeoutSec: 20 }).done;
    expect(r.code, describeSipp(r)).toBe(0);
    await fx.expectIdle(10_000);
  }, 60_000);
});
