// Header hygiene: only listed headers cross the edge, and nothing with line breaks.
import { perConfig } from '../config/derived.js';

/** `X-Wa-Meta-*` matches every header with that prefix; names compare case-insensitively. Built once per list. */
export const headerMatcher = perConfig(buildMatcher);

function buildMatcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    const l = p.toLowerCase();
    if (l.endsWith('*')) prefixes.push(l.slice(0, -1));
    else exact.add(l);
  }
  return (name) => {
    const l = name.toLowerCase();
    return exact.has(l) || prefixes.some((p) => l.startsWith(p));
  };
}

/** The headers of `all` whose names match, with values free of CR/LF. */
export function pickHeaders(all: Record<string, string | string[] | undefined>, matches: (name: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) {
    if (value === undefined || !matches(name)) continue;
    const v = Array.isArray(value) ? value.join(', ') : value;
    if (/[\r\n\0]/.test(v) || v.length > 1024) continue;
    out[name] = v;
  }
  return out;
}
