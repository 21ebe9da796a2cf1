// Every instance's view of the tenants (SPEC §2a): the file's configuration merged with the tenants
// stored in Redis (src/tenants/fleet.ts), and the tenant tokens. A change made through any instance
// moves wa:{tenants}:version; each instance polls that one key (`tenants.pollMs`, 250 ms by default)
// and, when it moved, reads the whole set at that version and swaps in the merged configuration, so
// a change applies everywhere within a poll and a read. A poll, not pub/sub: a missed message (a
// reconnect, a failover, a Cluster node moving) would leave an instance stale until the next change,
// while a missed poll is made up by the next one; and one GET per 250 ms per instance costs nothing.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { formatPath } from '../config/load.js';
import { mergeTenants } from './fleet.js';
import { tenantSchema, type Tenant } from './schema.js';
import type { Snapshot, TenantStore } from './store.js';
import { TokenBook } from './tokens.js';

export interface DirectoryDeps {
  store: TenantStore;
  logger: Logger;
  pollMs: () => number;
  /** Told the merged configuration whenever the file or the stored tenants change. */
  apply: (merged: Readonly<Config>) => void;
}

/** What a reader validated, by tenant: its stored text and what it gave. */
export type ReadCache = Map<string, { text: string; tenant: Tenant | undefined }>;

/**
 * Each stored tenant validated again as it is read (a newer edge may have written it); a bad one
 * is left out and logged. One whose stored text has not changed since the last read is taken from
 * `cache` as it was: a change to one tenant of 1,000 validates one (bench/RESULTS.md).
 */
export function readTenants(snap: Snapshot, logger: Logger, cache: ReadCache = new Map()): Tenant[] {
  const out: Tenant[] = [];
  for (const [name, stored] of snap.tenants) {
    const text = snap.texts.get(name) ?? JSON.stringify(stored);
    let known = cache.get(name);
    if (known?.text !== text) {
      const parsed = tenantSchema.safeParse(stored);
      if (!parsed.success) logger.error({ tenant: name, problems: parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`) }, 'stored tenant does not validate: left out');
      known = { text, tenant: parsed.success ? parsed.data : undefined };
      cache.set(name, known);
    }
    if (known.tenant) out.push(known.tenant);
  }
  for (const name of cache.keys()) if (!snap.tenants.has(name)) cache.delete(name);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export class TenantDirectory {
  readonly tokens = new TokenBook();
  private tenants: Tenant[] = [];
  private version: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Reads run one after another: a refresh asked for after a change must not share an earlier read. */
  private reads: Promise<void> = Promise.resolve();
  private busy = false;
  private failing = false;
  private stopped = false;
  private readonly cache: ReadCache = new Map();

  constructor(
    private file: Readonly<Config>,
    private readonly deps: DirectoryDeps,
  ) {}

  /** The configuration file as last loaded (tenant `default`). */
  get fileConfig(): Readonly<Config> {
    return this.file;
  }

  /** The version last applied on this instance ('' before the first read). */
  get appliedVersion(): string {
    return this.version ?? '';
  }

  /** A new file (SIGHUP): merged with the stored tenants as they are. */
  setFile(file: Readonly<Config>): void {
    this.file = file;
    this.applyMerged();
  }

  start(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const first = this.refresh();
    // A poll that finds the previous read still running skips its turn (a slow Redis is not piled on).
    this.timer = setInterval(() => void (this.busy || this.refresh()), this.deps.pollMs());
    this.timer.unref();
    return first;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Reads the stored tenants if their version moved (also right after this instance changed them). */
  refresh(): Promise<void> {
    this.busy = true;
    const read = this.reads.then(() => this.readIfMoved());
    const tail: Promise<void> = read.finally(() => {
      if (this.reads === tail) this.busy = false;
    });
    this.reads = tail;
    return read;
  }

  private async readIfMoved(): Promise<void> {
    try {
      const version = await this.deps.store.version();
      if (version === this.version) return;
      const snap = await this.deps.store.snapshot((what, err) => this.deps.logger.error({ err, what }, 'stored tenant data is not JSON: left out'));
      this.tenants = readTenants(snap, this.deps.logger, this.cache);
      this.tokens.replace(snap.tokens.values());
      this.version = snap.version;
      this.applyMerged();
      if (this.failing) this.deps.logger.info('tenant configuration readable again');
      this.failing = false;
    } catch (err) {
      // Redis away: the tenants as last read keep serving; said once per outage.
      if (!this.failing) this.deps.logger.warn({ err }, 'tenant configuration not read: the last one read stays in force');
      this.failing = true;
    }
  }

  private applyMerged(): void {
    const { config, problems } = mergeTenants(this.file, this.tenants);
    for (const p of problems) this.deps.logger.warn(p);
    this.deps.apply(config);
  }
}
