// The console's modules import one way (App → sections → helpers): no cycle, so a section can be
// read, tested and replaced alone.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '../../src/console');

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of readdirSync(DIR).filter((n) => /\.tsx?$/.test(n))) {
    const text = readFileSync(join(DIR, f), 'utf8');
    const deps = [...text.matchAll(/from '\.\/([A-Za-z]+)\.js'/g)].map((m) => m[1] as string);
    g.set(f.replace(/\.tsx?$/, ''), deps);
  }
  return g;
}

function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const visit = (node: string, path: string[]) => {
    for (const next of g.get(node) ?? []) {
      if (path.includes(next)) found.push([...path.slice(path.indexOf(next)), next]);
      else visit(next, [...path, next]);
    }
  };
  for (const node of g.keys()) visit(node, [node]);
  return found;
}

describe('console imports', () => {
  it('form no cycle; only the entry imports App', () => {
    const g = graph();
    expect(g.size).toBeGreaterThan(5);
    expect(cycles(g)).toEqual([]);
    expect([...g].filter(([, deps]) => deps.includes('App')).map(([f]) => f)).toEqual(['main']);
  });
});
