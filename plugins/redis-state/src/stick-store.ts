import { LRUCache } from 'lru-cache';
import type { GatewayApi, Logger } from '@switchyard/sdk';
import { connectionOf, type RedisConnection } from './connection';

/**
 * The stickiness plugin's store contract (plugins/stickiness/src/store.ts), restated
 * structurally so this package does not depend on that one.
 */
export interface StickStoreLike {
  readonly sync: boolean;
  get(table: string, key: string): string | undefined | Promise<string | undefined>;
  set(table: string, key: string, server: string, ttlMs: number, maxEntries: number): void | Promise<void>;
  delete(table: string, key: string): void | Promise<void>;
  size(table: string): number | Promise<number>;
  close(): void | Promise<void>;
}

export interface StickStoreProviderLike {
  readonly description: string;
  create(ctx: { gateway: GatewayApi; logger: Logger }): StickStoreLike;
}

/**
 * One entry: `SET <entry> <server> PX <ttl>`; the table's index is a sorted set of entry
 * keys scored by their last write, so the table's size bound (oldest written first out) and
 * its count hold across every gateway that shares it. One round trip per write.
 */
const SET_SCRIPT = `
local ttl = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[1], now, KEYS[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
if max > 0 then
  local n = redis.call('ZCARD', KEYS[1])
  if n > max then
    local old = redis.call('ZRANGE', KEYS[1], 0, n - max - 1)
    redis.call('DEL', unpack(old))
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - max - 1)
  end
end
return 1
`;

interface StickCommands {
  swyStickSet(index: string, entry: string, server: string, ttl: number, now: number, max: number): Promise<number>;
}

/** Entries kept in this process while Redis is unreachable (same expiry and size rules). */
class LocalTables {
  readonly #tables = new Map<string, Map<string, { server: string; expires: number }>>();

  get(table: string, key: string): string | undefined {
    const t = this.#tables.get(table);
    const e = t?.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= Date.now()) {
      t!.delete(key);
      return undefined;
    }
    return e.server;
  }

  set(table: string, key: string, server: string, ttlMs: number, maxEntries: number): void {
    let t = this.#tables.get(table);
    if (t === undefined) this.#tables.set(table, (t = new Map()));
    t.delete(key);
    t.set(key, { server, expires: Date.now() + ttlMs });
    if (maxEntries > 0) {
      for (const k of t.keys()) {
        if (t.size <= maxEntries) break;
        t.delete(k);
      }
    }
  }

  delete(table: string, key: string): void {
    this.#tables.get(table)?.delete(key);
  }

  size(table: string): number {
    const t = this.#tables.get(table);
    if (t === undefined) return 0;
    const now = Date.now();
    for (const [k, e] of t) if (e.expires <= now) t.delete(k);
    return t.size;
  }

  clear(): void {
    this.#tables.clear();
  }
}

/**
 * Stick tables in Redis, shared by every gateway with the same key prefix. Asynchronous
 * (`sync: false`): the stickiness plugin reads the entry before routing ends. While Redis
 * is unreachable, or when a command fails, entries go to and come from local memory; they
 * are not copied to Redis when it comes back (those clients may be balanced once more).
 */
export class RedisStickStore implements StickStoreLike {
  readonly sync = false;
  readonly #conn: RedisConnection;
  readonly #logger: Logger;
  readonly #local = new LocalTables();
  readonly #ttl = new Map<string, number>();
  /**
   * Last write per table/key from this gateway. Every request refreshes its entry; a refresh
   * of the same server within a tenth of the expiry is skipped (one Redis write per key per
   * ttl/10 instead of one per request), so an entry lives between 0.9 and 1 × expire after
   * the last request. A lookup that finds another server or none forgets the mark.
   */
  readonly #written = new LRUCache<string, { server: string; at: number }>({ max: 100_000 });
  #failures = 0;

  constructor(conn: RedisConnection, logger: Logger) {
    this.#conn = conn;
    this.#logger = logger;
    if (!('swyStickSet' in conn.client)) conn.client.defineCommand('swyStickSet', { numberOfKeys: 2, lua: SET_SCRIPT });
  }

  #entry(table: string, key: string): string {
    return this.#conn.key('stick', table, 'e', key);
  }

  #index(table: string): string {
    return this.#conn.key('stick', table, 'i');
  }

  #failed(err: unknown, op: string): void {
    // One line per burst, not per request: the connection itself logs loss and recovery.
    if (this.#failures++ % 1000 === 0) this.#logger.warn({ err, op }, 'redis stick table command failed; using local state for it');
  }

  async get(table: string, key: string): Promise<string | undefined> {
    if (!this.#conn.connected) return this.#local.get(table, key);
    try {
      const v = await this.#conn.client.get(this.#entry(table, key));
      const mark = table + '\0' + key;
      if (v === null || this.#written.get(mark)?.server !== v) this.#written.delete(mark);
      return v ?? undefined;
    } catch (err) {
      this.#failed(err, 'get');
      return this.#local.get(table, key);
    }
  }

  async set(table: string, key: string, server: string, ttlMs: number, maxEntries: number): Promise<void> {
    this.#ttl.set(table, ttlMs);
    if (!this.#conn.connected) return this.#local.set(table, key, server, ttlMs, maxEntries);
    const mark = table + '\0' + key;
    const now = Date.now();
    const last = this.#written.get(mark);
    if (last !== undefined && last.server === server && now - last.at < ttlMs / 10) return;
    try {
      const ttl = Math.max(1, Math.round(ttlMs));
      await (this.#conn.client as unknown as StickCommands).swyStickSet(this.#index(table), this.#entry(table, key), server, ttl, now, maxEntries);
      this.#written.set(mark, { server, at: now });
    } catch (err) {
      this.#failed(err, 'set');
      this.#local.set(table, key, server, ttlMs, maxEntries);
    }
  }

  async delete(table: string, key: string): Promise<void> {
    this.#local.delete(table, key);
    this.#written.delete(table + '\0' + key);
    if (!this.#conn.connected) return;
    const entry = this.#entry(table, key);
    await this.#conn.client.multi().del(entry).zrem(this.#index(table), entry).exec();
  }

  async size(table: string): Promise<number> {
    if (!this.#conn.connected) return this.#local.size(table);
    const ttl = this.#ttl.get(table);
    const index = this.#index(table);
    return ttl === undefined ? this.#conn.client.zcard(index) : this.#conn.client.zcount(index, Date.now() - ttl, '+inf');
  }

  close(): void {
    // The connection is the gateway's; it closes after the stores.
    this.#local.clear();
    this.#written.clear();
  }
}

export const redisStickStoreProvider: StickStoreProviderLike = {
  description: 'Stick tables in Redis (shared by every gateway with the same redis.keyPrefix); local memory while Redis is unreachable.',
  create: ({ gateway, logger }) => new RedisStickStore(connectionOf(gateway), logger),
};
