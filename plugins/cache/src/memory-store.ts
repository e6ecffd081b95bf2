import { LRUCache } from 'lru-cache';
import type { CacheRecord, CacheStore, CacheStoreOptions } from './types';

const VARY_MARKER_SIZE = 64;
const RECORD_OVERHEAD = 256;

function sizeOf(record: CacheRecord): number {
  if (record.kind === 'vary') return VARY_MARKER_SIZE;
  let size = record.body.length + RECORD_OVERHEAD;
  for (const name in record.headers) {
    const v = record.headers[name]!;
    size += name.length + (Array.isArray(v) ? v.reduce((n, x) => n + x.length, 0) : v.length);
  }
  return size;
}

/**
 * Objects in this process's memory, least recently used evicted first once `maxSize`
 * bytes are held (lru-cache with a size per object).
 */
export class MemoryCacheStore implements CacheStore {
  readonly #lru: LRUCache<string, CacheRecord>;

  constructor(options: CacheStoreOptions) {
    this.#lru = new LRUCache<string, CacheRecord>({
      maxSize: Math.max(1, options.maxSize),
      maxEntrySize: Math.max(1, Math.min(options.maxObjectSize + RECORD_OVERHEAD * 4, options.maxSize)),
      sizeCalculation: sizeOf,
    });
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    return this.#lru.get(key);
  }

  async set(key: string, record: CacheRecord): Promise<void> {
    this.#lru.set(key, record);
  }

  async delete(key: string): Promise<boolean> {
    return this.#lru.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for (const k of this.#lru.keys()) if (k.startsWith(prefix)) out.push(k);
    return out;
  }

  async stats(): Promise<{ entries: number; bytes: number }> {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize };
  }
}
