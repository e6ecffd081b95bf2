import type CachePolicy from 'http-cache-semantics';
import { defineSlot, type GatewayApi } from '@switchyard/sdk';

/** A stored response: what a hit sends back, and the policy that says when it may. */
export interface CachedResponse {
  readonly kind: 'response';
  readonly status: number;
  /** Response headers as sent to clients, lower-case, without `age` or the status header. */
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
  /** RFC 9111 rules for this response (must-revalidate is tracked apart, see `mustRevalidate`). */
  readonly policy: CachePolicy;
  /** must-revalidate / proxy-revalidate: never served stale. */
  readonly mustRevalidate: boolean;
  /** Seconds past freshness the response may be served when the server fails (stale-if-error). */
  readonly staleIfError: number;
  /** Backend that produced it, for background revalidation. */
  readonly backend: string | null;
}

/** Marker stored under a URL whose responses vary: the request header names that select a variant. */
export interface VaryMarker {
  readonly kind: 'vary';
  readonly names: ReadonlyArray<string>;
}

export type CacheRecord = CachedResponse | VaryMarker;

/**
 * Where cached objects live (slot `cache.store`). Small and async so that a shared store
 * (Redis) fits the same shape: it serialises `policy` with `toObject()` / `CachePolicy.fromObject()`.
 */
export interface CacheStore {
  get(key: string): Promise<CacheRecord | undefined>;
  set(key: string, record: CacheRecord): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Every key that starts with `prefix` (all keys for ''). */
  keys(prefix: string): Promise<string[]>;
  /** Entries and bytes held, for `cache stats`. */
  stats(): Promise<{ entries: number; bytes: number }>;
  close?(): Promise<void>;
}

export interface CacheStoreOptions {
  /** Total bytes the store may hold before it evicts the least recently used objects. */
  maxSize: number;
  /** Largest single object (body plus headers) in bytes. */
  maxObjectSize: number;
}

/** What a `cache.store` slot entry is: a factory called once when the gateway starts. */
export type CacheStoreFactory = (options: CacheStoreOptions, gateway: GatewayApi) => CacheStore;

export const CACHE_STORE_SLOT = defineSlot<CacheStoreFactory>('cache.store', {
  kind: 'function',
  expected: 'a CacheStoreFactory (a function (options, gateway) => CacheStore)',
});

export type { CacheConfig } from './schema';
