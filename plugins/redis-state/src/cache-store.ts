import CachePolicy from 'http-cache-semantics';
import { LRUCache } from 'lru-cache';
import type { GatewayApi, Logger } from '@switchyard/sdk';
import { connectionOf, NAME, type RedisConnection } from './connection';

/**
 * The cache plugin's record and store contract (plugins/cache/src/types.ts), restated
 * structurally so this package does not depend on that one.
 */
export interface CachedResponseLike {
  readonly kind: 'response';
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
  readonly policy: CachePolicy;
  readonly mustRevalidate: boolean;
  readonly staleIfError: number;
  readonly backend: string | null;
}

export interface VaryMarkerLike {
  readonly kind: 'vary';
  readonly names: ReadonlyArray<string>;
}

export type CacheRecordLike = CachedResponseLike | VaryMarkerLike;

export interface CacheStoreLike {
  get(key: string): Promise<CacheRecordLike | undefined>;
  set(key: string, record: CacheRecordLike): Promise<void>;
  delete(key: string): Promise<boolean>;
  keys(prefix: string): Promise<string[]>;
  stats(): Promise<{ entries: number; bytes: number }>;
  close?(): Promise<void>;
}

export interface CacheStoreOptionsLike {
  maxSize: number;
  maxObjectSize: number;
}

export type CacheStoreFactoryLike = (options: CacheStoreOptionsLike, gateway: GatewayApi) => CacheStoreLike;

type Meta =
  | { kind: 'response'; status: number; headers: Record<string, string | string[]>; policy: CachePolicy.CachePolicyObject; mustRevalidate: boolean; staleIfError: number; backend: string | null }
  | { kind: 'vary'; names: string[] };

/** Serialised as `<u32 length of JSON><JSON meta><body bytes>`: the body stays binary. */
export function encodeRecord(record: CacheRecordLike): Buffer {
  const meta: Meta = record.kind === 'vary'
    ? { kind: 'vary', names: [...record.names] }
    : {
        kind: 'response', status: record.status, headers: record.headers, policy: record.policy.toObject(),
        mustRevalidate: record.mustRevalidate, staleIfError: record.staleIfError, backend: record.backend,
      };
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.length, 0);
  return record.kind === 'vary' ? Buffer.concat([head, json]) : Buffer.concat([head, json, record.body]);
}

export function decodeRecord(buf: Buffer): CacheRecordLike {
  const n = buf.readUInt32BE(0);
  const meta = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as Meta;
  if (meta.kind === 'vary') return { kind: 'vary', names: meta.names };
  return {
    kind: 'response', status: meta.status, headers: meta.headers, body: buf.subarray(4 + n), policy: CachePolicy.fromObject(meta.policy),
    mustRevalidate: meta.mustRevalidate, staleIfError: meta.staleIfError, backend: meta.backend,
  };
}

/** Redis glob metacharacters escaped, for SCAN MATCH on a literal prefix. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}

const MARKER_TTL_MS = 3_600_000;
const SCAN_LIMIT = 1_000_000;

/**
 * HTTP cache objects in Redis, shared by every gateway with the same key prefix: what one
 * gateway stored, another serves as a HIT. Each object expires from Redis once it is stale
 * for longer than `redis.cache.keepStale`; bigger than `redis.cache.maxObjectSize` once
 * serialised, it is not stored. Redis's own `maxmemory` (with an LRU policy) bounds the
 * total. While Redis is unreachable the store works on an in-process LRU of `cache.maxSize`.
 */
export class RedisCacheStore implements CacheStoreLike {
  readonly #conn: RedisConnection;
  readonly #logger: Logger;
  readonly #prefix: string;
  readonly #maxObject: number;
  readonly #keepStale: number;
  readonly #local: LRUCache<string, CacheRecordLike>;
  #failures = 0;
  /** Objects refused because they were too big for Redis. */
  tooBig = 0;

  constructor(conn: RedisConnection, options: CacheStoreOptionsLike, logger: Logger) {
    this.#conn = conn;
    this.#logger = logger;
    this.#prefix = conn.key('cache', '');
    this.#maxObject = conn.config.cache.maxObjectSize;
    this.#keepStale = conn.config.cache.keepStale;
    this.#local = new LRUCache<string, CacheRecordLike>({
      maxSize: Math.max(1, options.maxSize),
      sizeCalculation: (r) => (r.kind === 'vary' ? 64 : r.body.length + 512),
    });
  }

  #failed(err: unknown, op: string): void {
    if (this.#failures++ % 1000 === 0) this.#logger.warn({ err, op }, 'redis cache command failed; using the local cache for it');
  }

  async get(key: string): Promise<CacheRecordLike | undefined> {
    if (!this.#conn.connected) return this.#local.get(key);
    let buf: Buffer | null;
    try {
      buf = await this.#conn.client.getBuffer(this.#prefix + key);
    } catch (err) {
      this.#failed(err, 'get');
      return this.#local.get(key);
    }
    if (buf === null) return undefined;
    try {
      return decodeRecord(buf);
    } catch (err) {
      // Written by an incompatible version, or corrupted: a miss, and the server's answer replaces it.
      this.#logger.debug({ err, key }, 'unreadable cache object in redis; treated as a miss');
      return undefined;
    }
  }

  async set(key: string, record: CacheRecordLike): Promise<void> {
    if (!this.#conn.connected) {
      this.#local.set(key, record);
      return;
    }
    const buf = encodeRecord(record);
    if (buf.length > this.#maxObject) {
      this.tooBig++;
      await this.delete(key);
      return;
    }
    const ttl = record.kind === 'vary'
      ? Math.max(MARKER_TTL_MS, this.#keepStale)
      : Math.max(0, record.policy.timeToLive()) + record.staleIfError * 1000 + this.#keepStale;
    try {
      await this.#conn.client.set(this.#prefix + key, buf, 'PX', Math.max(1000, Math.round(ttl)));
    } catch (err) {
      this.#failed(err, 'set');
      this.#local.set(key, record);
    }
  }

  async delete(key: string): Promise<boolean> {
    const local = this.#local.delete(key);
    if (!this.#conn.connected) return local;
    try {
      return (await this.#conn.client.del(this.#prefix + key)) > 0 || local;
    } catch (err) {
      this.#failed(err, 'delete');
      return local;
    }
  }

  async keys(prefix: string): Promise<string[]> {
    if (!this.#conn.connected) return [...this.#local.keys()].filter((k) => k.startsWith(prefix));
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#conn.client.scan(cursor, 'MATCH', this.#prefix + globEscape(prefix) + '*', 'COUNT', 1000);
      for (const k of batch) out.push(k.slice(this.#prefix.length));
      cursor = next;
    } while (cursor !== '0' && out.length < SCAN_LIMIT);
    return out;
  }

  async stats(): Promise<{ entries: number; bytes: number }> {
    if (!this.#conn.connected) return { entries: this.#local.size, bytes: this.#local.calculatedSize };
    const keys = await this.keys('');
    let bytes = 0;
    for (let i = 0; i < keys.length; i += 500) {
      const p = this.#conn.client.pipeline();
      for (const k of keys.slice(i, i + 500)) p.strlen(this.#prefix + k);
      for (const [err, n] of (await p.exec()) ?? []) if (err === null) bytes += Number(n);
    }
    return { entries: keys.length, bytes };
  }

  async close(): Promise<void> {
    this.#local.clear();
  }
}

export const redisCacheStoreFactory: CacheStoreFactoryLike = (options, gateway) =>
  new RedisCacheStore(connectionOf(gateway), options, gateway.logger.child({ plugin: NAME, store: 'cache' }));
