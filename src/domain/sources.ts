// Which side a request comes from, by its source IP (SPEC §1).
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Ranges parsed before, by their text: ipaddr.js takes tens of µs for a CIDR, and every tenant
 * change compares its trunks with every other tenant's (1,000 tenants: a tenth of a second a change
 * without this). Configured ranges are few; the bound only keeps hostile input from growing it.
 */
const parsedRanges = new LRUCache<string, Range | false>({ max: 100_000 });

/** A CIDR, or a bare address meaning a single host (the result is shared: never changed). */
function parseRange(text: string): Range | undefined {
  let range = parsedRanges.get(text);
  if (range === undefined) parsedRanges.set(text, (range = parseRangeOnce(text) ?? false));
  return range || undefined;
}

function parseRangeOnce(text: string): Range | undefined {
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const addr = ipaddr.parse(text);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

export function isValidCidr(text: string): boolean {
  return parseRange(text) !== undefined;
}

/**
 * The first pair (one of `mine`, one of `theirs`) of source ranges that share an address, if any:
 * two tenants' trunks told apart by source must not (SPEC §2a). CIDR blocks either nest or are
 * disjoint, so two overlap exactly when one contains the other's network address (ipaddr.js's own
 * prefix match: a /24 holds a /32 inside it, a /16 holds that /24). Different families never
 * overlap: a source address is matched in its own family (an IPv4-mapped IPv6 source as IPv4), so
 * an IPv6 range never takes an IPv4 caller. An entry that is not a range overlaps nothing.
 */
export function overlappingRanges(mine: readonly string[], theirs: readonly string[]): [string, string] | undefined {
  const parsed = theirs.map((text) => ({ text, range: parseRange(text) }));
  for (const text of mine) {
    const a = parseRange(text);
    if (!a) continue;
    const hit = parsed.find(({ range: b }) => b !== undefined && b[0].kind() === a[0].kind() && (a[0].match(b as never) || b[0].match(a as never)));
    if (hit) return [text, hit.text];
  }
  return undefined;
}

function normalise(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    const a = ipaddr.parse(address.replace(/^\[|\]$/g, ''));
    // An IPv4-mapped IPv6 source (::ffff:1.2.3.4) must match IPv4 ranges.
    return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
  } catch {
    return undefined;
  }
}

/** A set of CIDRs parsed once at start-up, matched on every request. */
export class CidrSet {
  private readonly ranges: Range[];
  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map((c) => {
      const r = parseRange(c);
      if (!r) throw new Error(`not a CIDR: ${c}`);
      return r;
    });
  }
  has(address: string): boolean {
    const a = normalise(address);
    if (!a) return false;
    return this.ranges.some(([net, bits]) => net.kind() === a.kind() && a.match([net, bits] as never));
  }
}

export type SourceClass<T> = { kind: 'telnyx' } | { kind: 'trunk'; trunk: T } | { kind: 'unknown' };

/**
 * Classifies source addresses against Telnyx's ranges and each trunk's ranges. Every request is
 * classified (twice for an INVITE: the scanner guard, then the router) from a few peer addresses,
 * so answers are kept per address; a new classifier (configuration reload) starts afresh.
 */
export class SourceClassifier<T extends { sources: readonly string[] }> {
  private readonly telnyx: CidrSet;
  private readonly trunks: { trunk: T; set: CidrSet }[];
  private readonly known = new LRUCache<string, SourceClass<T>>({ max: 10_000 });
  constructor(telnyxSources: readonly string[], trunks: readonly T[]) {
    this.telnyx = new CidrSet(telnyxSources);
    this.trunks = trunks.map((trunk) => ({ trunk, set: new CidrSet(trunk.sources) }));
  }
  classify(address: string): SourceClass<T> {
    let c = this.known.get(address);
    if (!c) this.known.set(address, (c = this.match(address)));
    return c;
  }
  private match(address: string): SourceClass<T> {
    // Telnyx first: a trunk range that overlaps Telnyx's must not turn user calls into business calls.
    if (this.telnyx.has(address)) return { kind: 'telnyx' };
    const hit = this.trunks.find((t) => t.set.has(address));
    return hit ? { kind: 'trunk', trunk: hit.trunk } : { kind: 'unknown' };
  }
}
