import { defineKey, defineSlot, type GatewayApi, type Logger } from '@switchyard/sdk';

/** The slot stick-table stores live in: `memory` here; Redis and others from their own plugins. */
export const STICK_STORE_SLOT = defineSlot<StickStoreProvider>('stick.store', {
  kind: 'object',
  methods: ['create'],
  expected: 'a StickStoreProvider (an object with description and create(...))',
});

/** `backend.data` key of a backend's stick table, for stats, the runtime API and store plugins. */
export const STICK_TABLE = defineKey<{ readonly name: string; readonly store: StickStore }>('stickiness.table');

/**
 * Where stick tables keep `key → server name` entries with an expiry. Small on purpose so
 * that a networked store (Redis) is easy to write: three calls, each may answer at once or
 * with a promise. Table names are what the config says (default: the backend's name);
 * server names are the config's.
 */
export interface StickStore {
  /**
   * True when get() always answers synchronously: lookups then happen during server
   * selection with no extra step. An async store is read before routing ends instead.
   */
  readonly sync: boolean;
  /** The server stored under `key`, or undefined when absent or expired. */
  get(table: string, key: string): string | undefined | Promise<string | undefined>;
  /** Stores or refreshes `key → server` for `ttlMs`. `maxEntries` bounds the table (0 = unbounded); the oldest go first. */
  set(table: string, key: string, server: string, ttlMs: number, maxEntries: number): void | Promise<void>;
  delete(table: string, key: string): void | Promise<void>;
  /** Live entries in a table (stats, runtime API, tests). */
  size(table: string): number | Promise<number>;
  close(): void | Promise<void>;
}

/** What a plugin provides in the `stick.store` slot: one store per gateway is created at apply. */
export interface StickStoreProvider {
  readonly description: string;
  create(ctx: { gateway: GatewayApi; logger: Logger }): StickStore;
}
