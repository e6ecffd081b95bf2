import { definePlugin, type GatewayApi, type ServiceToken } from '@switchyard/sdk';
import type { PrometheusService } from '@switchyard/plugin-prometheus/contract';
import { Gauge, type Registry } from 'prom-client';
import { redisCacheStoreFactory, RedisCacheStore, encodeRecord, decodeRecord, type CacheStoreFactoryLike } from './cache-store';
import { redisConfigSchema, type RedisStateConfig } from './config';
import { connectionOf, NAME, RedisConnection, REDIS_STATE_SERVICE, type RedisStateService } from './connection';
import { ServerStateSync, REMOTE_REASON, type ServerStateMessage } from './server-sync';
import { redisStickStoreProvider, RedisStickStore, type StickStoreProviderLike } from './stick-store';

export {
  connectionOf, decodeRecord, encodeRecord, NAME, RedisCacheStore, RedisConnection, RedisStickStore, REDIS_STATE_SERVICE, REMOTE_REASON, ServerStateSync,
  type RedisStateConfig, type RedisStateService, type ServerStateMessage,
};

/**
 * A peer's contract entry (keys and types, no plugin code) when that optional peer is
 * installed: the stores go into the slots of the plugins that are there.
 */
function optionalContract<T>(load: () => T): T | undefined {
  try {
    return load();
  } catch {
    return undefined;
  }
}
const cache = optionalContract(() => require('@switchyard/plugin-cache/contract') as typeof import('@switchyard/plugin-cache/contract'));
const stickiness = optionalContract(() => require('@switchyard/plugin-stickiness/contract') as typeof import('@switchyard/plugin-stickiness/contract'));
/** The slots of the stores this plugin provides, owned by plugin-cache and plugin-stickiness (undefined when not installed). */
export const CACHE_STORE_SLOT = cache?.CACHE_STORE_SLOT;
export const STICK_STORE_SLOT = stickiness?.STICK_STORE_SLOT;

/** plugin-prometheus's service token, when that optional peer is installed (its contract entry loads no plugin code). */
function prometheusToken(): ServiceToken<PrometheusService> | undefined {
  return optionalContract(() => require('@switchyard/plugin-prometheus/contract') as typeof import('@switchyard/plugin-prometheus/contract'))?.PROMETHEUS;
}

/** True while the gateway's shared state goes through Redis; false while it serves on local state (or never connected). */
export function redisConnected(gateway: GatewayApi): boolean {
  return gateway.container.isRegistered(REDIS_STATE_SERVICE) && gateway.container.resolve<RedisStateService>(REDIS_STATE_SERVICE).connected;
}

/** Adds `<prefix>redis_connected` to plugin-prometheus's registry when that plugin is loaded. */
function addGauge(gateway: GatewayApi, conn: RedisConnection): void {
  const token = prometheusToken();
  if (token === undefined || !gateway.container.isRegistered(token.id)) return;
  const service = gateway.container.resolve<{ metrics?: { registry?: Registry } }>(token.id);
  const registry = service.metrics?.registry;
  if (registry === undefined) return;
  const prom = gateway.config['prometheus'] as { prefix?: string } | undefined;
  new Gauge({
    name: `${prom?.prefix ?? 'switchyard_'}redis_connected`,
    help: '1 while shared state (stick tables, cache, server state) goes through Redis, 0 while this gateway serves on local state.',
    registers: [registry],
    collect() {
      this.set(conn.connected ? 1 : 0);
    },
  });
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.4',
  core: '>=0.1.2 <1.0.0',
  description: 'Shared state through Redis: stick tables (stick.store: redis), the HTTP cache (cache.store: redis) and runtime server-state changes; local state while Redis is away.',
  configKey: 'redis',
  schema: { config: redisConfigSchema },
  register({ slots }) {
    if (STICK_STORE_SLOT !== undefined) slots.provide(STICK_STORE_SLOT, 'redis', redisStickStoreProvider, { description: redisStickStoreProvider.description });
    if (CACHE_STORE_SLOT !== undefined) slots.provide(CACHE_STORE_SLOT, 'redis', redisCacheStoreFactory, {
      description: 'HTTP cache objects in Redis, shared by every gateway with the same redis.keyPrefix; an in-process LRU while Redis is unreachable.',
    });
  },
  async apply(gateway, config) {
    const conn = connectionOf(gateway);
    gateway.events.once('started', () => addGauge(gateway, conn));
    await conn.ready(config.connectTimeout);
    if (!config.serverState.enabled) return;
    const sync = new ServerStateSync(gateway, conn, gateway.logger.child({ plugin: NAME, part: 'server-state' }));
    await sync.start();
    gateway.onStop(() => sync.stop());
  },
});

export default plugin;
