// bench/sip/profile.ts: summarises a V8 .cpuprofile (node --cpu-prof, e.g. from
// `npx tsx bench/sip/callRate.ts --prof DIR`): where the CPU time went, by package / source file
// (self time), and the functions with the most self and inclusive time.
//
//   npx tsx bench/sip/profile.ts FILE.cpuprofile [--top 25] [--calls N]
//
// --calls N also prints each line as microseconds per call (N = calls the profiled process handled).
import { readFileSync } from 'node:fs';
import { fmt, numArg } from './lib.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file || file.startsWith('--')) {
  console.error('usage: npx tsx bench/sip/profile.ts FILE.cpuprofile [--top 25] [--calls N]');
  process.exit(2);
}
const top = numArg('top', 25);
const calls = numArg('calls', 0);
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of prof.nodes) byId.set(n.id, n);
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function bucket(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native / builtin)';
  // The apps run compiled under node_modules/.cache/wa-edge-bench (lib.ts): that is the project's own code.
  const own = /node_modules\/\.cache\/wa-edge-bench\/(src|bench|test)\/(.*)$/.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `pkg ${nm[1]}`;
  const src = /\/(src|bench|test)\/(.*)$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\/([^/]+).*$/, 'node:internal/$1');
  return url;
}
const fnKey = (f: CallFrame) => `${f.functionName || '(anonymous)'}  ${bucket(f.url, f.functionName)}:${f.lineNumber + 1}`;

const selfByBucket = new Map<string, number>();
const selfByFn = new Map<string, number>();
const inclByFn = new Map<string, number>();
let total = 0;
let idle = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  const node = byId.get(prof.samples[i] as number);
  if (!node) continue;
  const f = node.callFrame;
  if (f.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  total += dt;
  const b = bucket(f.url, f.functionName);
  selfByBucket.set(b, (selfByBucket.get(b) ?? 0) + dt);
  selfByFn.set(fnKey(f), (selfByFn.get(fnKey(f)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const k = fnKey((byId.get(id) as ProfileNode).callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    inclByFn.set(k, (inclByFn.get(k) ?? 0) + dt);
  }
}

const wall = prof.endTime - prof.startTime;
const line = (k: string, us: number) =>
  `  ${fmt((100 * us) / total, 1).padStart(5)}%  ${fmt(us / 1000, 0).padStart(7)} ms${calls ? `  ${fmt(us / calls, 1).padStart(7)} µs/call` : ''}  ${k}`;
const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
console.log(`${file}\n  wall ${fmt(wall / 1e6, 1)} s, busy ${fmt(total / 1e6, 2)} s, idle ${fmt(idle / 1e6, 2)} s${calls ? `, ${calls} calls → ${fmt(total / calls, 0)} µs busy per call` : ''}`);
console.log('\nself time by package / file');
for (const [k, v] of sorted(selfByBucket).slice(0, top)) console.log(line(k, v));
console.log('\nself time by function');
for (const [k, v] of sorted(selfByFn).slice(0, top)) console.log(line(k, v));
console.log('\ninclusive time by function (src/ and drachtio-srf only)');
for (const [k, v] of sorted(inclByFn)
  .filter(([k]) => / src\/|drachtio-srf|pino|ioredis|sdp-transform|prom-client/.test(k))
  .slice(0, top))
  console.log(line(k, v));
