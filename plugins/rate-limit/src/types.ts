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
export interface RateLimitConfig {
  store: string;
  /** Deny (false) or allow (true) requests when the store fails and has no fallback. */
  failOpen: boolean;
  redis: {
    url: string;
    keyPrefix: string;
    connectTimeout: number;
    commandTimeout: number;
    insurance: boolean;
  };
  cluster: { timeout: number; keyPrefix: string };
  /** Options for third-party stores. */
  options: Record<string, unknown>;
  /** HAProxy stick tables held in this process. */
  tables?: import('./stick-table').StickTableConfig[];
}

/** One entry of a frontend's `rateLimits`. */
export interface RateLimitRule {
  name: string;
  key: string | string[];
  points: number;
  duration: number;
  blockDuration: number;
  cost: number;
  methods?: string[];
  pathPrefix?: string;
  /** ACL condition (needs @switchyard/plugin-acl). */
  if?: string;
  unless?: string;
  onMissingKey: 'skip' | 'shared';
  status: number;
  headers: boolean;
}

/** One entry of a frontend's `track` (HAProxy `http-request track-scN <key>`). */
export interface TrackRule {
  counter: number;
  key: string | string[];
  period: number;
  table?: string;
  denyAbove?: number;
  if?: string;
  unless?: string;
}
