import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import type { GatewayApi, Logger } from '@switchyard/sdk';
import type { RedisStateConfig } from './config';

export const NAME = '@switchyard/plugin-redis-state';

/** Container token under which a gateway's RedisConnection is registered (read `connected`). */
export const REDIS_STATE_SERVICE = 'switchyard.redis-state';

/** What other plugins may read of the shared connection. */
export interface RedisStateService {
  /** True while Redis answers: shared state is in use. False: every store serves from local memory. */
  readonly connected: boolean;
  readonly instanceId: string;
  /** Called with `true` on (re)connection and `false` on loss. Returns an unsubscribe function. */
  onChange(fn: (connected: boolean) => void): () => void;
}

function where(config: RedisStateConfig): string {
  return config.url !== undefined ? config.url.replace(/\/\/[^@/]*@/, '//***@') : `redis://${config.host}:${config.port}/${config.db}`;
}

/**
 * One gateway's connection to Redis, shared by every store this plugin provides. Commands
 * never queue while Redis is away (a request must not wait for it): callers check
 * `connected` and use their local fallback. ioredis reconnects with a doubling backoff; the
 * loss is logged once as a warning and the recovery once as info.
 */
export class RedisConnection implements RedisStateService {
  readonly client: Redis;
  readonly config: RedisStateConfig;
  readonly instanceId: string;
  readonly #logger: Logger;
  readonly #options: RedisOptions;
  readonly #listeners = new Set<(connected: boolean) => void>();
  #state: 'init' | 'up' | 'down' = 'init';
  #closing = false;
  #subscriber: Redis | null = null;

  constructor(config: RedisStateConfig, logger: Logger) {
    this.config = config;
    this.#logger = logger;
    this.instanceId = config.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: config.connectTimeout,
      commandTimeout: config.commandTimeout,
      retryStrategy: (times: number) => Math.min(config.retryMin * 2 ** Math.min(times - 1, 20), config.retryMax),
      ...(config.url === undefined
        ? {
            host: config.host,
            port: config.port,
            db: config.db,
            ...(config.username !== undefined ? { username: config.username } : {}),
            ...(config.password !== undefined ? { password: config.password } : {}),
            ...(config.tls ? { tls: {} } : {}),
          }
        : {}),
    };
    this.client = config.url === undefined ? new Redis(this.#options) : new Redis(config.url, this.#options);
    this.client.on('ready', () => {
      const again = this.#state === 'down';
      if (this.#state === 'up') return;
      this.#state = 'up';
      if (again) this.#logger.info({ redis: where(config) }, 'redis reachable again: shared state (stick tables, cache, server state) resumed');
      else this.#logger.info({ redis: where(config), instance: this.instanceId }, 'redis connected: state is shared');
      this.#emit(true);
    });
    const lost = (err?: Error): void => {
      if (this.#closing || this.#state === 'down') return;
      this.#state = 'down';
      this.#logger.warn(
        { redis: where(config), err: err ? { message: err.message, code: (err as Error & { code?: string }).code } : undefined },
        'redis unreachable: serving on local state (stick tables, cache and server-state changes stay on this instance until it is back)',
      );
      this.#emit(false);
    };
    this.client.on('error', lost);
    this.client.on('close', () => lost());
  }

  get connected(): boolean {
    return this.#state === 'up' && this.client.status === 'ready';
  }

  onChange(fn: (connected: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emit(connected: boolean): void {
    for (const fn of this.#listeners) {
      try {
        fn(connected);
      } catch (err) {
        this.#logger.error({ err }, 'a redis state listener failed');
      }
    }
  }

  /** `<keyPrefix>:<part>:<part>…` */
  key(...parts: string[]): string {
    return this.config.keyPrefix === '' ? parts.join(':') : `${this.config.keyPrefix}:${parts.join(':')}`;
  }

  /** Resolves true once connected, or false after `ms` (start-up goes on either way). */
  ready(ms: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const off = this.onChange((up) => {
        if (!up) return;
        clearTimeout(t);
        off();
        resolve(true);
      });
      const t = setTimeout(() => {
        off();
        resolve(false);
      }, ms);
      t.unref();
    });
  }

  /** A second connection in subscriber mode (created on first use; resubscribes after reconnects). */
  subscriber(): Redis {
    if (this.#subscriber === null) {
      // Subscriber commands may queue: SUBSCRIBE is sent once the connection is up.
      const sub = this.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
      sub.on('error', () => undefined); // the main client reports loss and recovery
      this.#subscriber = sub;
    }
    return this.#subscriber;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#listeners.clear();
    for (const c of [this.#subscriber, this.client]) {
      if (c === null) continue;
      try {
        if (c.status === 'ready') await c.quit();
        else c.disconnect();
      } catch {
        c.disconnect();
      }
    }
  }
}

const connections = new WeakMap<GatewayApi, RedisConnection>();

/**
 * The gateway's connection, opened on first use (a store may be created before this
 * plugin's own apply step runs). It is closed when the gateway stops, after the stores.
 */
export function connectionOf(gateway: GatewayApi): RedisConnection {
  let c = connections.get(gateway);
  if (c === undefined) {
    const config = gateway.config['redis'] as RedisStateConfig | undefined;
    if (config === undefined) throw new Error('redis-state: the `redis` config key is missing (is @switchyard/plugin-redis-state listed in plugins?)');
    c = new RedisConnection(config, gateway.logger.child({ plugin: NAME }));
    connections.set(gateway, c);
    gateway.container.register(REDIS_STATE_SERVICE, { useValue: c });
    const conn = c;
    gateway.onStop(() => {
      connections.delete(gateway);
      return conn.close();
    });
  }
  return c;
}
