import * as cluster from 'node:cluster';
import { RateLimiterCluster, RateLimiterClusterMaster } from 'rate-limiter-flexible';
import type { LimiterSpec, RateLimitStore, RateLimitStoreProvider, StoreContext } from '../types';
import { FlexibleLimiter } from './flexible';
import { MemoryStore } from './memory';

/**
 * Counters kept by the node:cluster primary and shared by every worker
 * (rate-limiter-flexible's RateLimiterCluster). The primary must run
 * `startClusterStoreMaster()` before it forks the workers.
 */
export class ClusterStore implements RateLimitStore {
  readonly name = 'cluster';
  readonly #timeout: number;
  readonly #prefix: string;

  constructor(timeoutMs: number, prefix: string) {
    this.#timeout = timeoutMs;
    this.#prefix = prefix;
  }

  limiter(spec: LimiterSpec): FlexibleLimiter {
    const rl = new RateLimiterCluster({
      keyPrefix: `${this.#prefix}:${spec.keyPrefix}`,
      points: spec.points,
      duration: spec.durationSec,
      blockDuration: spec.blockDurationSec,
      timeoutMs: this.#timeout,
    });
    return new FlexibleLimiter(rl, spec.points);
  }

  async close(): Promise<void> {}
}

/** Call once in the node:cluster primary, before forking, so workers' cluster stores have a home. */
export function startClusterStoreMaster(): void {
  new RateLimiterClusterMaster();
}

function isWorker(): boolean {
  return (cluster as unknown as { isWorker?: boolean }).isWorker === true || (cluster as unknown as { default?: { isWorker?: boolean } }).default?.isWorker === true;
}

/** rate-limiter-flexible's IPC channel between RateLimiterCluster workers and the primary. */
const CHANNEL = 'rate_limiter_flexible';

/**
 * Asks the primary to create a (tiny) limiter, as RateLimiterCluster does, and waits for its
 * answer: without a RateLimiterClusterMaster there, every consume would wait `timeoutMs`.
 */
function primaryAnswers(timeoutMs: number, prefix: string): Promise<boolean> {
  const keyPrefix = `${prefix}:probe:${process.pid}`;
  return new Promise((resolve) => {
    const onMessage = (msg: unknown): void => {
      const m = msg as { channel?: string; type?: string; keyPrefix?: string } | null;
      if (m && m.channel === CHANNEL && m.type === 'init' && m.keyPrefix === keyPrefix) done(true);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(ok);
    };
    process.on('message', onMessage);
    process.send!({ channel: CHANNEL, type: 'init', opts: { keyPrefix, points: 1, duration: 1 } });
  });
}

export const clusterStore: RateLimitStoreProvider = {
  description: 'Counters in the node:cluster primary, shared by every worker (RateLimiterCluster).',
  async open(ctx: StoreContext): Promise<RateLimitStore> {
    if (!isWorker() || typeof process.send !== 'function') {
      ctx.logger.warn('rate-limit store "cluster" needs a node:cluster worker; this process is not one, so limits are counted in this process only (memory store)');
      return new MemoryStore();
    }
    const { timeout, keyPrefix } = ctx.config.cluster;
    if (!(await primaryAnswers(timeout, keyPrefix))) {
      ctx.logger.warn(
        { store: 'cluster' },
        'rate-limit store "cluster": the primary does not answer (no startClusterStoreMaster() there), so limits are counted per worker (memory store)',
      );
      return new MemoryStore();
    }
    return new ClusterStore(timeout, keyPrefix);
  },
};
