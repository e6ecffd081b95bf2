import {
  definePlugin, FETCH_SLOT, RUNTIME_COMMAND_SLOT, Stage, type BackendState, type FetchDefinition, type FrontendState, type GatewayApi, type RuntimeCommand,
} from '@switchyard/sdk';
import { backendOptions, configSchema, frontendOptions } from './schema';
import { CacheErrors } from './errors';
import { HttpCache, servedFromCache, type CacheCounters, type CacheStatus } from './http-cache';
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
  version: '0.1.6',
  core: '>=0.1.2 <1.0.0',
  description: 'Shared HTTP cache (RFC 9111): hits answered at the route stage, responses stored while they stream.',
  configKey: 'cache',
  schema: { config: configSchema, frontend: frontendOptions, backend: backendOptions },
  register({ slots }) {
    slots.provide<CacheStoreFactory>(CACHE_STORE_SLOT, 'memory', memoryStore, {
      description: 'Objects in this process, least recently used evicted past cache.maxSize.',
    });
    slots.provide<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'cache purge', purgeCommand, { description: purgeCommand.summary });
    slots.provide<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'cache stats', statsCommand, { description: statsCommand.summary });
    // HAProxy's fetches: 1 when the response came from the cache, and that cache's name.
    const hit: FetchDefinition = {
      description: 'res.cache_hit: 1 when the response was served from the cache, else 0 (HAProxy\'s boolean, as it prints)',
      arg: 'none',
      modes: ['http'],
      defaultMatch: 'bool',
      compile: () => (ex) => (servedFromCache(ex) !== undefined ? 1 : 0),
    };
    const name: FetchDefinition = {
      description: 'res.cache_name: the name of the cache that served the response, empty otherwise (HAProxy)',
      arg: 'none',
      modes: ['http'],
      compile: () => (ex) => servedFromCache(ex),
    };
    slots.provide(FETCH_SLOT, 'res.cache_hit', hit, { description: hit.description });
    slots.provide(FETCH_SLOT, 'res.cache_name', name, { description: name.description });
  },
  apply(gateway, config) {
    const factory = gateway.slots.get<CacheStoreFactory>(CACHE_STORE_SLOT, config.store);
    if (factory === undefined) throw CacheErrors.STORE_UNKNOWN(config.store, gateway.slots.names(CACHE_STORE_SLOT).join(', '));
    const store = factory({ maxSize: config.maxSize, maxObjectSize: config.maxObjectSize }, gateway);
    const frontends = new Set<FrontendState>();
    for (const fe of gateway.frontends.values()) if (fe.mode === 'http' && fe.config.cache !== false) frontends.add(fe);
    const backends = new Set<BackendState>();
    for (const be of gateway.backends.values()) if (be.mode === 'http' && be.config.cache === true) backends.add(be);
    const cache = new HttpCache(gateway, config, store, frontends, gateway.logger.child({ plugin: NAME }));
    caches.set(gateway, cache);
    if (frontends.size > 0) {
      gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.CACHE }, (ex) =>
        ex.kind === 'http' ? cache.route(ex) : Promise.resolve(undefined),
      );
    }
    if (backends.size > 0) {
      // Once the backend is chosen, before its request rules and the forwarder: a hit owns the exchange.
      gateway.hooks.forward.tapPromise({ name: `${NAME}:backend`, stage: Stage.CACHE }, async (ex) => {
        if (ex.kind !== 'http' || ex.backend === null || !backends.has(ex.backend) || frontends.has(ex.frontend)) return undefined;
        return (await cache.lookup(ex)) === undefined ? undefined : true;
      });
    }
    if (frontends.size > 0 || backends.size > 0) {
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
