// The IPC side of an app process the SIP benchmarks fork (the edge or the plain B2BUA): one
// {type:'ready'} once it can take calls, {type:'stats'} answers with memory (after a full GC
// when asked and node runs with --expose-gc), CPU time and live calls, {type:'stop'} exits
// cleanly so --cpu-prof writes its profile. Without an IPC channel it does nothing.

export interface AppStats {
  type: 'stats';
  id: number;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  /** process.cpuUsage(), microseconds since start. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Calls the app holds right now (edge: sessions; plain: bridged dialog pairs). */
  active: number;
  gcAvailable: boolean;
  extra: Record<string, number>;
}

export type AppRequest = { type: 'stats'; id: number; gc?: boolean } | { type: 'snapshot'; id: number; path: string } | { type: 'stop' };

export interface AppHooks {
  ready(): boolean;
  activeCalls(): number;
  extra?(): Record<string, number>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function installIpc(hooks: AppHooks): void {
  const send = process.send?.bind(process);
  if (!send) return;
  void (async () => {
    while (!hooks.ready()) await sleep(20);
    send({ type: 'ready' });
  })();
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (m: AppRequest) => {
    void (async () => {
      if (m.type === 'stats') {
        if (m.gc && gc) {
          // Twice, with a turn of the event loop between: what the first frees may unblock more.
          gc();
          await sleep(50);
          gc();
        }
        const mu = process.memoryUsage();
        const cpu = process.cpuUsage();
        const stats: AppStats = {
          type: 'stats',
          id: m.id,
          heapUsed: mu.heapUsed,
          heapTotal: mu.heapTotal,
          rss: mu.rss,
          external: mu.external,
          arrayBuffers: mu.arrayBuffers,
          cpuUserUs: cpu.user,
          cpuSystemUs: cpu.system,
          active: hooks.activeCalls(),
          gcAvailable: gc !== undefined,
          extra: hooks.extra?.() ?? {},
        };
        send(stats);
      } else if (m.type === 'snapshot') {
        // writeHeapSnapshot runs a full GC first; only reachable objects are written.
        const { writeHeapSnapshot } = await import('node:v8');
        writeHeapSnapshot(m.path);
        send({ type: 'snapshot', id: m.id });
      } else if (m.type === 'stop') {
        await hooks.stop();
        process.exit(0);
      }
    })();
  });
  // The benchmark died: do not outlive it.
  process.on('disconnect', () => process.exit(0));
}
