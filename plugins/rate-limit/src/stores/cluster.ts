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

export const clusterStore: RateLimitStoreProvider = {
  description: 'Counters in the node:cluster primary, shared by every worker (RateLimiterCluster).',
  open(ctx: StoreContext): RateLimitStore {
    if (!isWorker() || typeof process.send !== 'function') {
      ctx.logger.warn({ store: 'cluster' }, 'rate-limit store "cluster" needs a node:cluster worker; this process is not one, so limits are counted in this process only (memory store)');
      return new MemoryStore();
    }
    return new ClusterStore(ctx.config.cluster.timeout, ctx.config.cluster.keyPrefix);
  },
};
