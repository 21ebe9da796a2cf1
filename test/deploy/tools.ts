// Shared helpers of the deployment tests: external tools (docker-compose, promtool, openssl) that
// CI installs from Debian. In CI (CI set) a missing tool fails its test; locally it is skipped
// with a loud line, so a developer without them still runs everything else.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';

export const read = (rel: string): string => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');
export const readYaml = <T = Record<string, unknown>>(rel: string): T => parseYaml(read(rel)) as T;

export interface Tool {
  name: string;
  /** The Debian package that provides it (what CI installs). */
  pkg: string;
  path: string | undefined;
  /** True only outside CI when the tool is missing: the test is skipped. */
  skip: boolean;
}

export function tool(name: string, pkg: string): Tool {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : undefined;
  if (!path && !CI) {
    console.warn(
      `\n*** test/deploy: \`${name}\` is not installed: SKIPPING the checks that need it. ` +
        `apt-get install ${pkg} to run them (CI installs it and fails without it). ***\n`,
    );
  }
  return { name, pkg, path, skip: !path && !CI };
}

/** Runs the tool from the repository root; throws (fails the test) in CI when it is missing. */
export function run(t: Tool, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  if (!t.path) throw new Error(`${t.name} is not installed: CI must \`apt-get install ${t.pkg}\``);
  return spawnSync(t.path, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: 'utf8', timeout: 60_000 });
}

export const output = (r: SpawnSyncReturns<string>): string => `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;

/** `KEY=value` lines of an env file (comments and blanks skipped; `# KEY=` lines listed as commented). */
export function envFile(text: string): { set: Map<string, string>; commented: Set<string> } {
  const set = new Map<string, string>();
  const commented = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) set.set(m[1] as string, m[2] as string);
    const c = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (c) commented.add(c[1] as string);
  }
  return { set, commented };
}

/** Every `${VAR}`, `${VAR:-x}`, `${VAR:?x}` in a text. */
export function referencedVars(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string));
}

/** Variables a compose text requires (`${VAR:?...}`). */
export function requiredVars(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):\?/g)].map((m) => m[1] as string));
}

/** A value for every variable of .env.example, with placeholders for the empty (required) ones. */
export function filledEnv(): Record<string, string> {
  const { set } = envFile(read('.env.example'));
  const fake: Record<string, string> = {
    WA_EDGE_ADMIN_TOKEN: 'test-admin-token-0123456789',
    WA_BUSINESS_NUMBER: '+447418613982',
    WA_PHONE_NUMBER_ID: '1234567890',
    PBX_SOURCE_CIDR: '203.0.113.10/32',
    PBX_INBOUND_URI: 'sip:100@pbx.example.com:5060',
    SIP_PUBLIC_IP: '198.51.100.7',
  };
  const out: Record<string, string> = {};
  for (const [k, v] of set) out[k] = v !== '' ? v : (fake[k] ?? `test-${k.toLowerCase().replace(/_/g, '-')}`);
  return out;
}

/**
 * The environment docs/quickstart.md has the operator write: .env.example with only its Required
 * values (those docker-compose.yml stops without) filled in; every optional value as shipped,
 * the empty ones (the Meta values) left empty.
 */
export function quickStartEnv(): Record<string, string> {
  const { set } = envFile(read('.env.example'));
  const required = requiredVars(read('docker-compose.yml'));
  const filled = filledEnv();
  return Object.fromEntries([...set].map(([k, v]) => [k, required.has(k) ? (filled[k] as string) : v]));
}

/** Fenced ```yaml blocks of a Markdown file, also those indented inside a list item. */
export function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^( *)```ya?ml\n([\s\S]*?)^\1```/gm)].map((m) => {
    const indent = (m[1] as string).length;
    return (m[2] as string)
      .split('\n')
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n');
  });
}
