import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Logger } from '@switchyard/sdk';
import type { LimiterSpec, RateLimitStore, RateLimitStoreProvider, StoreContext } from '../types';
import { FlexibleLimiter } from './flexible';

/**
 * Counters in Redis, shared by every gateway that names the same server and key prefix
 * (rate-limiter-flexible's RateLimiterRedis over ioredis). While Redis is unreachable each
 * limiter falls back to an in-memory insurance limiter with the same limits, so the
 * gateway keeps serving (limits then count per instance) and logs the switch both ways.
 */
export class RedisStore implements RateLimitStore {
  readonly name = 'redis';
  readonly client: Redis;
  readonly #prefix: string;
  readonly #insurance: boolean;
  readonly #logger: Logger;
  #state: 'init' | 'up' | 'down' = 'init';
  #closing = false;

  constructor(options: StoreContext['config']['redis'], logger: Logger) {
    this.#prefix = options.keyPrefix;
    this.#insurance = options.insurance;
    this.#logger = logger;
    // ioredis only when a redis store is configured: a config without one never loads it (idle RSS).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
    this.client = new RedisClient(options.url, {
      // Never queue commands while disconnected: a request must not wait for Redis to come back.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeout,
      commandTimeout: options.commandTimeout,
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
      lazyConnect: false,
    });
    this.client.on('ready', () => {
      if (this.#state === 'up') return;
      const again = this.#state === 'down';
      this.#state = 'up';
      this.#logger.info(
        // The logger given to a store is already a child with `store` set: do not set it twice.
        { url: redactUrl(options.url) },
        again ? 'redis rate-limit store reachable again: limits are shared again' : 'redis rate-limit store connected',
      );
    });
    const down = (err?: Error): void => {
      if (this.#closing || this.#state === 'down') return;
      this.#state = 'down';
      this.#logger.warn(
        { url: redactUrl(options.url), err: err ? { message: err.message, code: (err as Error & { code?: string }).code } : undefined },
        this.#insurance
          ? 'redis rate-limit store unreachable: still serving, with per-instance in-memory insurance limits until it is back'
          : 'redis rate-limit store unreachable: still serving, without these limits (insurance is off)',
      );
    };
    this.client.on('error', down);
    this.client.on('close', () => down());
  }

  /** Resolves when connected, or after `ms` (the gateway starts either way). */
  ready(ms: number): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.client.off('ready', onReady);
        resolve(false);
      }, ms);
      const onReady = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      this.client.once('ready', onReady);
    });
  }

  limiter(spec: LimiterSpec): FlexibleLimiter {
    const insurance = this.#insurance
      ? new RateLimiterMemory({ keyPrefix: spec.keyPrefix, points: spec.points, duration: spec.durationSec, blockDuration: spec.blockDurationSec })
      : undefined;
    const rl = new RateLimiterRedis({
      storeClient: this.client,
      keyPrefix: `${this.#prefix}:${spec.keyPrefix}`,
      points: spec.points,
      duration: spec.durationSec,
      blockDuration: spec.blockDurationSec,
      rejectIfRedisNotReady: true,
      insuranceLimiter: insurance,
    });
    return new FlexibleLimiter(rl, spec.points);
  }

  async close(): Promise<void> {
    this.#closing = true;
    try {
      if (this.client.status === 'ready') await this.client.quit();
      else this.client.disconnect();
    } catch {
      this.client.disconnect();
    }
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export const redisStore: RateLimitStoreProvider = {
  description: 'Counters in Redis (ioredis), shared across gateways; in-memory insurance limits while Redis is unreachable.',
  async open(ctx: StoreContext): Promise<RateLimitStore> {
    const store = new RedisStore(ctx.config.redis, ctx.logger);
    await store.ready(ctx.config.redis.connectTimeout);
    return store;
  },
};
