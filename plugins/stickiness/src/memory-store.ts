import type { StickStore, StickStoreProvider } from './store';

interface Entry {
  server: string;
  expires: number;
}

/**
 * Stick tables in this process's memory. Each table is a Map in write order: a refresh
 * re-inserts the key at the end, so with one expiry per table the oldest entries are at
 * the front and both expiry sweeps and size eviction pop from there. Entries are lost on
 * restart and not shared between processes (use a networked store for that).
 */
export class MemoryStickStore implements StickStore {
  readonly sync = true;
  readonly #tables = new Map<string, Map<string, Entry>>();
  readonly #now: () => number;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(options: { now?: () => number; sweepMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    const sweepMs = options.sweepMs ?? 10_000;
    if (sweepMs > 0) {
      this.#sweeper = setInterval(() => this.sweep(), sweepMs);
      this.#sweeper.unref();
    }
  }

  #table(name: string): Map<string, Entry> {
    let t = this.#tables.get(name);
    if (!t) this.#tables.set(name, (t = new Map()));
    return t;
  }

  get(table: string, key: string): string | undefined {
    const t = this.#tables.get(table);
    const e = t?.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.#now()) {
      t!.delete(key);
      return undefined;
    }
    return e.server;
  }

  set(table: string, key: string, server: string, ttlMs: number, maxEntries: number): void {
    const t = this.#table(table);
    const e = t.get(key);
    const expires = this.#now() + ttlMs;
    if (e !== undefined) {
      t.delete(key);
      e.server = server;
      e.expires = expires;
      t.set(key, e);
    } else {
      t.set(key, { server, expires });
    }
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
    return this.#tables.get(table)?.size ?? 0;
  }

  /** Drops expired entries from the front of each table. */
  sweep(): void {
    const now = this.#now();
    for (const t of this.#tables.values()) {
      for (const [k, e] of t) {
        if (e.expires > now) break;
        t.delete(k);
      }
    }
  }

  close(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = null;
    this.#tables.clear();
  }
}

export const memoryStoreProvider: StickStoreProvider = {
  description: 'Stick tables in process memory (lost on restart, not shared between processes).',
  create: () => new MemoryStickStore(),
};
