import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { LimiterSpec, RateLimitStore, RateLimitStoreProvider } from '../types';
import { FlexibleLimiter } from './flexible';

/** Counters in this process only (each gateway instance counts on its own). */
export class MemoryStore implements RateLimitStore {
  readonly name = 'memory';

  limiter(spec: LimiterSpec): FlexibleLimiter {
    const rl = new RateLimiterMemory({
      keyPrefix: spec.keyPrefix,
      points: spec.points,
      duration: spec.durationSec,
      blockDuration: spec.blockDurationSec,
    });
    return new FlexibleLimiter(rl, spec.points);
  }

  async close(): Promise<void> {}
}

export const memoryStore: RateLimitStoreProvider = {
  description: 'Counters in process memory; every gateway process counts on its own.',
  open: () => new MemoryStore(),
};
