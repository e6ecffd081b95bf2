import { definePlugin, type GatewayApi } from '@switchyard/sdk';
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

/** Slot names of the stores this plugin provides (owned by plugin-stickiness and plugin-cache). */
export const STICK_STORE_SLOT = 'stick.store';
export const CACHE_STORE_SLOT = 'cache.store';
/** Container token of plugin-prometheus's service (read structurally). */
const PROMETHEUS_SERVICE = 'switchyard.prometheus';

/** True while the gateway's shared state goes through Redis; false while it serves on local state (or never connected). */
export function redisConnected(gateway: GatewayApi): boolean {
  return gateway.container.isRegistered(REDIS_STATE_SERVICE) && gateway.container.resolve<RedisStateService>(REDIS_STATE_SERVICE).connected;
}

/** Adds `<prefix>redis_connected` to plugin-prometheus's registry when that plugin is loaded. */
function addGauge(gateway: GatewayApi, conn: RedisConnection): void {
  if (!gateway.container.isRegistered(PROMETHEUS_SERVICE)) return;
  const service = gateway.container.resolve<{ metrics?: { registry?: Registry } }>(PROMETHEUS_SERVICE);
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

export const plugin = definePlugin<RedisStateConfig>({
  name: NAME,
  version: '0.1.2',
  core: '^0.1.0',
  description: 'Shared state through Redis: stick tables (stick.store: redis), the HTTP cache (cache.store: redis) and runtime server-state changes; local state while Redis is away.',
  configKey: 'redis',
  schema: { config: redisConfigSchema },
  register({ slots }) {
    slots.provide<StickStoreProviderLike>(STICK_STORE_SLOT, 'redis', redisStickStoreProvider, { description: redisStickStoreProvider.description });
    slots.provide<CacheStoreFactoryLike>(CACHE_STORE_SLOT, 'redis', redisCacheStoreFactory, {
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
