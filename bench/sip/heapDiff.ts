// bench/sip/heapDiff.ts: what grew between two V8 heap snapshots, by object type and constructor
// (self sizes), e.g. an idle edge against the same edge holding 1,000 calls.
//
//   npx tsx bench/sip/heapDiff.ts BASE.heapsnapshot FULL.heapsnapshot [--per 1000] [--top 30]
//
// --per N divides every figure by N (bytes per held call).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { fmt, numArg } from './lib.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface Group {
  count: number;
  bytes: number;
}

/** Self size and count of the heap's objects grouped by "type: constructor/name". */
export function groupHeap(path: string): Map<string, Group> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType] as number] ?? '?';
    let name = snap.strings[snap.nodes[i + iName] as number] ?? '?';
    // Strings, numbers and code are many distinct names: one group per type.
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'code') name = '';
    if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = name ? `${type}: ${name}` : type;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += snap.nodes[i + iSize] as number;
    out.set(key, g);
  }
  return out;
}

export function diffHeaps(basePath: string, fullPath: string, per: number, top: number): string[] {
  const a = groupHeap(basePath);
  const b = groupHeap(fullPath);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows = [...keys].map((k) => {
    const x = a.get(k) ?? { count: 0, bytes: 0 };
    const y = b.get(k) ?? { count: 0, bytes: 0 };
    return { k, dCount: y.count - x.count, dBytes: y.bytes - x.bytes };
  });
  rows.sort((p, q) => q.dBytes - p.dBytes);
  const total = rows.reduce((s, r) => s + r.dBytes, 0);
  const lines = [`  heap growth ${fmt(total / per, 0)} bytes${per > 1 ? ' per call' : ''} (self sizes of reachable objects), largest groups:`];
  for (const r of rows.slice(0, top)) {
    lines.push(`    ${fmt(r.dBytes / per, 0).padStart(7)} B  ${fmt(r.dCount / per, 2).padStart(7)} objects  ${r.k}`);
  }
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [base, full] = process.argv.slice(2);
  if (!base || !full) {
    console.error('usage: npx tsx bench/sip/heapDiff.ts BASE.heapsnapshot FULL.heapsnapshot [--per 1000] [--top 30]');
    process.exit(2);
  }
  for (const l of diffHeaps(base, full, numArg('per', 1), numArg('top', 30))) console.log(l);
}
