/**
 * What other plugins import from this one without loading it: `@switchyard/plugin-cache/contract`
 * (declare this package a peer dependency). A store plugin provides a CacheStoreFactory in CACHE_STORE_SLOT.
 */
export { CACHE_STORE_SLOT, type CacheStore, type CacheStoreFactory, type CacheStoreOptions, type CachedResponse, type CacheRecord } from './types';
