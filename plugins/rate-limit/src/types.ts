import type { GatewayApi, Logger } from '@switchyard/sdk';

/** Slot where rate-limit stores live: `rateLimit.store` in the config names one. */
export const RATELIMIT_STORE_SLOT = 'ratelimit.store';

/** One limiter a store is asked for: rate-limiter-flexible's points / duration / block duration. */
export interface LimiterSpec {
  /** Unique per limit, identical across instances that must share it. */
  readonly keyPrefix: string;
  readonly points: number;
  /** Window length in whole seconds (rate-limiter-flexible's unit). */
  readonly durationSec: number;
  /** Once over the limit, deny for this many seconds (0 = until the window ends). */
  readonly blockDurationSec: number;
}

/** What consuming points answered. */
export interface LimitOutcome {
  readonly allowed: boolean;
  /** Points left in the current window. */
  readonly remaining: number;
  /** Points consumed in the current window (this request included). */
  readonly consumed: number;
  /** Milliseconds until the window (or block) ends. */
  readonly msBeforeNext: number;
}

export interface Limiter {
  /** Resolves with the outcome; rejects only when the store itself fails. */
  consume(key: string, points?: number): Promise<LimitOutcome>;
}

/** An opened store: makes limiters, closed at gateway stop. */
export interface RateLimitStore {
  readonly name: string;
  limiter(spec: LimiterSpec): Limiter;
  close(): Promise<void>;
}

export interface StoreContext {
  readonly gateway: GatewayApi;
  readonly logger: Logger;
  readonly config: RateLimitConfig;
}

/** What a plugin provides in the `ratelimit.store` slot. */
export interface RateLimitStoreProvider {
  readonly description: string;
  open(ctx: StoreContext): RateLimitStore | Promise<RateLimitStore>;
}

/** The top-level `rateLimit` key. */
export type { RateLimitConfig, RateLimitRule, StickCounterRule, TrackRule } from './schema';
import type { RateLimitConfig } from './schema';
