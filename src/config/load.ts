// Reads the YAML configuration, substitutes ${VAR} / ${VAR:-default} from the environment and
// validates it into one frozen object. Every problem is reported at once, each with its key path.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { ZodError } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Path = (string | number)[];

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} in every string of the parsed tree, so an unset variable is reported with its key path. */
export function substituteEnv(node: unknown, env: NodeJS.ProcessEnv, problems: string[], path: Path = []): unknown {
  if (typeof node === 'string') {
    return node.replace(VAR, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(node)) return node.map((v, i) => substituteEnv(v, env, problems, [...path, i]));
  if (node !== null && typeof node === 'object') {
    // A block switched off (`enabled: "${WA_EDGE_META_WEBHOOK:-false}"`) needs none of its variables.
    if ('enabled' in node) {
      const enabled = substituteEnv((node as { enabled: unknown }).enabled, env, problems, [...path, 'enabled']);
      if (enabled === false || (typeof enabled === 'string' && enabled.trim() === 'false')) return { enabled: false };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substituteEnv(v, env, problems, [...path, k])]));
  }
  return node;
}

export function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function zodProblems(err: ZodError): string[] {
  return err.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

/** Validates configuration text; throws ConfigError listing every problem. */
export function parseConfig(text: string, file = '(config)', env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    const msg = e instanceof YAMLParseError ? e.message.split('\n')[0] : String(e);
    throw new ConfigError(file, [`not valid YAML: ${msg}`]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, ['the file must be a YAML mapping']);
  const problems: string[] = [];
  const substituted = substituteEnv(raw, env, problems);
  const result = configSchema.safeParse(substituted);
  if (!result.success) problems.push(...zodProblems(result.error));
  if (problems.length > 0 || !result.success) throw new ConfigError(file, problems);
  return deepFreeze(result.data);
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`]);
  }
  return parseConfig(text, file, env);
}

/** `--config FILE`, else WA_EDGE_CONFIG, else config/default.yaml. */
export function configPath(argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  const i = argv.indexOf('--config');
  if (i >= 0 && argv[i + 1]) return argv[i + 1] as string;
  return env.WA_EDGE_CONFIG ?? 'config/default.yaml';
}
