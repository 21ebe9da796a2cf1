// The shipped compose stack booted under podman (test/deploy/containers.test.ts): Debian's
// docker-compose against a `podman system service` socket of the test's own, the stand-in base
// images (scripts/podman-base-images.sh), and two peers, "PBX" and "Telnyx", each in a network
// namespace of its own on a podman network the test creates: they reach the stack only through
// its published ports, from addresses of their own, as remote peers do.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './tools.js';

const execFileP = promisify(execFile);

export interface Ran {
  code: number;
  out: string;
  ms: number;
}

/** Runs a command to its end (never throws): exit code, stdout+stderr, duration. */
export async function runCmd(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<Ran> {
  const started = Date.now();
  try {
    const r = await execFileP(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}\n${err.message}`, ms: Date.now() - started };
  }
}

export async function mustRun(cmd: string, args: string[], opts: Parameters<typeof runCmd>[2] = {}): Promise<Ran> {
  const r = await runCmd(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.out.slice(-4000)}`);
  return r;
}

/** `podman system service` on a socket of its own: the Docker API docker-compose talks to. */
export async function startPodmanService(): Promise<{ dockerHost: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-podman-'));
  const sock = join(dir, 'podman.sock');
  const child = spawn('podman', ['system', 'service', '--time=0', `unix://${sock}`], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  while (!existsSync(sock)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`podman system service did not open ${sock}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dockerHost: `unix://${sock}`,
    stop: async () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Where systemd is not PID 1, podman cannot start the timers that run healthchecks ("unable to
 * get systemd connection to add healthchecks"): no container ever turns healthy and compose's
 * `condition: service_healthy` waits forever. This runs every healthcheck of the project's
 * containers every 2 s instead (the status, the retries and start_period stay podman's).
 */
export function startHealthcheckTicker(project: string): ChildProcess | undefined {
  if (existsSync('/run/systemd/private')) return undefined;
  const loop = `while :; do for c in $(podman ps -q --filter label=com.docker.compose.project=${project}); do podman healthcheck run "$c" >/dev/null 2>&1 & done; wait; sleep 2; done`;
  return spawn('bash', ['-c', loop], { stdio: 'ignore', detached: true });
}

export function stopTicker(t: ChildProcess | undefined): void {
  if (t?.pid) {
    try {
      process.kill(-t.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
}

/**
 * docker/Dockerfile.drachtio builds from docker/drachtio-src/*.tar.gz when one is there (its
 * README): put the vendored archive there (DRACHTIO_SOURCE, or ../shared/vendor beside the
 * checkout, as .ci/run finds it). Returns a function that removes what it put there.
 */
export function placeDrachtioSource(): () => void {
  const dir = join(ROOT, 'docker/drachtio-src');
  if (readdirSync(dir).some((f) => f.endsWith('.tar.gz'))) return () => {};
  const candidates = [process.env.DRACHTIO_SOURCE, resolve(ROOT, '../shared/vendor/drachtio-server-v0.9.10.tar.gz')];
  const src = candidates.find((c) => c !== undefined && c.endsWith('.tar.gz') && existsSync(c));
  if (!src) throw new Error(`no drachtio-server source archive (DRACHTIO_SOURCE, ../shared/vendor): docker/Dockerfile.drachtio would clone from GitHub, which this machine cannot reach`);
  const placed = join(dir, src.split('/').pop() as string);
  copyFileSync(src, placed);
  return () => rmSync(placed, { force: true });
}

/** A compose project: `docker-compose -p P --env-file E -f ... ARGS` against the podman socket. */
export class ComposeProject {
  constructor(
    readonly project: string,
    readonly envFile: string,
    readonly dockerHost: string,
    readonly files: string[] = ['docker-compose.yml'],
  ) {}

  withFiles(files: string[]): ComposeProject {
    return new ComposeProject(this.project, this.envFile, this.dockerHost, files);
  }

  run(args: string[], timeoutMs = 120_000): Promise<Ran> {
    const fileArgs = this.files.flatMap((f) => ['-f', f]);
    return runCmd('docker-compose', ['-p', this.project, '--env-file', this.envFile, ...fileArgs, ...args], {
      env: { ...process.env, DOCKER_HOST: this.dockerHost, COMPOSE_INTERACTIVE_NO_CLI: '1' },
      timeoutMs,
    });
  }

  async must(args: string[], timeoutMs = 120_000): Promise<Ran> {
    const r = await this.run(args, timeoutMs);
    if (r.code !== 0) throw new Error(`docker-compose ${args.join(' ')} exited ${r.code}:\n${r.out.slice(-6000)}`);
    return r;
  }

  /** The podman container id of a service's (first) container. */
  async container(service: string): Promise<string> {
    const format = '{{.ID}} {{index .Labels "com.docker.compose.project"}} {{index .Labels "com.docker.compose.service"}}';
    const r = await mustRun('podman', ['ps', '-a', '--format', format]);
    const id = r.out
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .find(([, project, name]) => project === this.project && name === service)?.[0];
    if (!id) throw new Error(`no container for service ${service} of ${this.project}`);
    return id;
  }

  async logs(service: string): Promise<string> {
    return (await this.run(['logs', '--no-color', service])).out;
  }

  async health(service: string): Promise<string> {
    const r = await runCmd('podman', ['inspect', '--format', '{{.State.Health.Status}}', await this.container(service)]);
    return r.out.trim();
  }
}

/** An env file written from key/values (the .env the quick start has the operator write). */
export function writeEnvFile(values: Record<string, string>): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edge-env-'));
  const path = join(dir, '.env');
  writeFileSync(path, `${Object.entries(values).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A podman network of the test's own, and one idle container per peer holding its namespace. */
export class Peers {
  private constructor(
    readonly network: string,
    readonly subnet: string,
    readonly pids: Record<string, number>,
  ) {}

  static async start(network: string, subnet: string, gateway: string, peers: Record<string, string>): Promise<Peers> {
    await Peers.remove(network, subnet, Object.keys(peers));
    await mustRun('podman', ['network', 'create', '--subnet', subnet, '--gateway', gateway, network]);
    // podman masquerades what leaves a container network, so the stack would see every peer as
    // the gateway of its own network. A remote PBX's packets arrive with its own address: this
    // network gets no NAT (the peers reach only this host's address on it, and through the
    // published ports the stack).
    // Likewise no isolation: networks created through podman's Docker API are isolated from other
    // bridges (and stale isolation rules outlive removed networks whose bridge names come back),
    // which drops what the peers send through the published ports.
    for (const rule of Peers.rules(subnet)) await mustRun('iptables', ['-I', ...rule.slice(0, 1), '1', ...rule.slice(1)]);
    const pids: Record<string, number> = {};
    for (const [name, ip] of Object.entries(peers)) {
      await mustRun('podman', ['run', '-d', '--pull=never', '--name', `${network}-${name}`, '--network', network, '--ip', ip, 'docker.io/library/debian:bookworm-slim', 'sleep', 'infinity']);
      const pid = await mustRun('podman', ['inspect', '--format', '{{.State.Pid}}', `${network}-${name}`]);
      pids[name] = Number(pid.out.trim());
    }
    return new Peers(network, subnet, pids);
  }

  static async remove(network: string, subnet: string, names: string[]): Promise<void> {
    for (const n of names) await runCmd('podman', ['rm', '-f', '-t', '0', `${network}-${n}`]);
    await runCmd('podman', ['network', 'rm', '-f', network]);
    for (const rule of Peers.rules(subnet)) while ((await runCmd('iptables', ['-D', ...rule])).code === 0);
  }

  /** The rules that make the peers' network behave as the outside world: no NAT, no isolation. */
  private static rules(subnet: string): string[][] {
    return [
      ['POSTROUTING', '-t', 'nat', '-s', subnet, '-j', 'RETURN'],
      ['FORWARD', '-s', subnet, '-j', 'ACCEPT'],
      ['FORWARD', '-d', subnet, '-j', 'ACCEPT'],
    ];
  }

  stop(): Promise<void> {
    return Peers.remove(this.network, this.subnet, Object.keys(this.pids));
  }

  pid(name: string): number {
    const p = this.pids[name];
    if (p === undefined) throw new Error(`no peer ${name}`);
    return p;
  }
}
