// Every Lua script's KEYS and ARGV, as its `-- KEYS:` / `-- ARGV:` header names them, are the ones
// src/state/scripts.ts declares, in the same order; and the script's body reads no KEYS[n] or
// ARGV[n] beyond them. Callers pass values by those names, so a script that gains, loses or
// reorders an argument fails here until both sides agree.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCRIPTS, positional, scriptFileName, type ScriptName } from '../../src/state/scripts.js';

const dir = new URL('../../src/state/lua/', import.meta.url);

/** The names a header section lists: `1 nowMs  2 user (…)`, continued on `--` lines; `3.. name` is the variadic tail. */
function header(lua: string, section: 'KEYS' | 'ARGV'): { names: string[]; rest?: string } {
  const lines = lua.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`-- ${section}:`));
  if (start < 0) return { names: [] };
  let text = lines[start]!.slice(`-- ${section}:`.length);
  for (let i = start + 1; i < lines.length && /^--\s{3,}\d/.test(lines[i]!); i++) text += ' ' + lines[i]!.slice(2);
  const names = [...text.matchAll(/(?:^|\s)(\d+)\s+([A-Za-z][A-Za-z0-9]*)/g)].map((m) => ({ n: Number(m[1]), name: m[2]! }));
  names.forEach((x, i) => expect(x.n, `${section} numbering`).toBe(i + 1));
  const rest = /(?:^|\s)\d+\.\.\s+([A-Za-z][A-Za-z0-9]*)/.exec(text)?.[1];
  return { names: names.map((x) => x.name), ...(rest ? { rest } : {}) };
}

const highest = (lua: string, section: 'KEYS' | 'ARGV') => Math.max(0, ...[...lua.matchAll(new RegExp(`${section}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1])));

describe('Lua scripts and their TypeScript declarations', () => {
  it('every .lua file is declared, and every declaration has its file', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.lua')).sort();
    expect(Object.keys(SCRIPTS).map(scriptFileName).sort()).toEqual(files);
  });

  for (const [name, shape] of Object.entries(SCRIPTS)) {
    it(`${name}: KEYS and ARGV by name and order, and nothing read beyond them`, () => {
      const lua = readFileSync(new URL(scriptFileName(name), dir), 'utf8');
      expect(header(lua, 'KEYS').names).toEqual(shape.keys);
      const argv = header(lua, 'ARGV');
      expect(argv.names).toEqual(shape.args);
      expect(argv.rest).toBe('rest' in shape ? shape.rest : undefined);
      expect(highest(lua, 'KEYS')).toBe(shape.keys.length);
      if (!('rest' in shape)) expect(highest(lua, 'ARGV')).toBeLessThanOrEqual(shape.args.length);
    });
  }

  it('named values go where the script reads them', () => {
    const { keys, argv } = positional('renewLeases', { keys: { inflight: 'I', active: 'A' }, args: { leaseMs: 90, nowMs: 1 }, rest: ['c1', 'c2'] });
    expect(keys).toEqual(['A', 'I']);
    expect(argv).toEqual([1, 90, 'c1', 'c2']);
    expect(() => positional('settle' as ScriptName, { keys: {}, args: {}, rest: ['x'] } as never)).toThrow(/no variadic/);
  });
});
