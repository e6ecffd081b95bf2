import {
  definePlugin, RUNTIME_COMMAND_SLOT, Stage, type FrontendState, type GatewayApi, type RuntimeCommand,
} from '@switchyard/sdk';
import { configSchema, frontendOptions } from './schema';
import { CacheErrors } from './errors';
import { HttpCache, type CacheCounters, type CacheStatus } from './http-cache';
import { MemoryCacheStore } from './memory-store';
import {
  CACHE_STORE_SLOT, type CacheConfig, type CachedResponse, type CacheRecord, type CacheStore, type CacheStoreFactory,
  type CacheStoreOptions, type VaryMarker,
} from './types';

export {
  CACHE_STORE_SLOT, CacheErrors, HttpCache, MemoryCacheStore,
  type CacheConfig, type CacheCounters, type CachedResponse, type CacheRecord, type CacheStatus, type CacheStore,
  type CacheStoreFactory, type CacheStoreOptions, type VaryMarker,
};

export const NAME = '@switchyard/plugin-cache';

const caches = new WeakMap<GatewayApi, HttpCache>();

/** The cache running in a gateway (throws SWY_ERR_CACHE_NOT_RUNNING when it has none). */
export function cacheOf(gateway: GatewayApi): HttpCache {
  const cache = caches.get(gateway);
  if (cache === undefined) throw CacheErrors.NOT_RUNNING();
  return cache;
}

/**
 * Purges a gateway's cache: `{ url }` one URL with all its variants, `{ prefix }` every URL
 * starting with it; `http://host/path` for one host, `/path` for any. Resolves to the
 * number of stored keys removed.
 */
export function purgeCache(gateway: GatewayApi, target: { url?: string; prefix?: string }): Promise<number> {
  if (!target.url && !target.prefix) return Promise.reject(CacheErrors.PURGE_ARGS());
  return cacheOf(gateway).purge(target);
}

const purgeCommand: RuntimeCommand = {
  summary: 'Remove cached responses: url=<url or /path> for one URL (all variants), prefix=<url or /path> for a subtree.',
  args: ['url', 'prefix'],
  async run(gateway, args) {
    const purged = await purgeCache(gateway, { url: args.url || undefined, prefix: args.prefix || undefined });
    return { purged };
  },
};

const statsCommand: RuntimeCommand = {
  summary: 'Cache counters (hits, misses, stale, revalidated, stored, tooBig, notReusable, coalesced) and the store size.',
  args: [],
  async run(gateway) {
    const cache = cacheOf(gateway);
    return { ...cache.counters, ...(await cache.store.stats()) };
  },
};

const memoryStore: CacheStoreFactory = (options) => new MemoryCacheStore(options);

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.5',
  core: '>=0.1.2 <1.0.0',
  description: 'Shared HTTP cache (RFC 9111): hits answered at the route stage, responses stored while they stream.',
  configKey: 'cache',
  schema: { config: configSchema, frontend: frontendOptions },
  register({ slots }) {
    slots.provide<CacheStoreFactory>(CACHE_STORE_SLOT, 'memory', memoryStore, {
      description: 'Objects in this process, least recently used evicted past cache.maxSize.',
    });
    slots.provide<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'cache purge', purgeCommand, { description: purgeCommand.summary });
    slots.provide<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'cache stats', statsCommand, { description: statsCommand.summary });
  },
  apply(gateway, config) {
    const factory = gateway.slots.get<CacheStoreFactory>(CACHE_STORE_SLOT, config.store);
    if (factory === undefined) throw CacheErrors.STORE_UNKNOWN(config.store, gateway.slots.names(CACHE_STORE_SLOT).join(', '));
    const store = factory({ maxSize: config.maxSize, maxObjectSize: config.maxObjectSize }, gateway);
    const frontends = new Set<FrontendState>();
    for (const fe of gateway.frontends.values()) if (fe.mode === 'http' && fe.config.cache !== false) frontends.add(fe);
    const cache = new HttpCache(gateway, config, store, frontends, gateway.logger.child({ plugin: NAME }));
    caches.set(gateway, cache);
    if (frontends.size > 0) {
      gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.CACHE }, (ex) =>
        ex.kind === 'http' ? cache.route(ex) : Promise.resolve(undefined),
      );
      // After compression (Stage.DEFAULT): what is stored is what clients get.
      gateway.hooks.respond.tap({ name: NAME, stage: Stage.CACHE }, (head, ex) => cache.respond(head, ex));
    }
    gateway.onStop(async () => {
      caches.delete(gateway);
      await cache.close();
    });
  },
});

export default plugin;
