import {
  RUNTIME_COMMAND_SLOT, Stage, definePlugin, type RuntimeCommand, type BackendConfig, type BackendState, type Exchange, type GatewayApi, type ServerState,
} from '@switchyard/sdk';
import { CookiePersistence, type CookieConfig, type CookieSeen } from './cookie';
import { StickErrors } from './errors';
import { backendOptions, serverOptions, type StickinessBackendOptions } from './schema';
import { MemoryStickStore, memoryStoreProvider } from './memory-store';
import { STICK_STORE_SLOT, STICK_TABLE, type StickStore, type StickStoreProvider } from './store';
import { compileStickKey, type StickTable, type StickTableConfig } from './table';

export { CookiePersistence, MemoryStickStore, StickErrors, STICK_STORE_SLOT, type CookieConfig, type StickStore, type StickStoreProvider, type StickTableConfig };

const NAME = '@switchyard/plugin-stickiness';
const COOKIE_SEEN = 'stickiness.cookie';
const LOOKUP_PREFIX = 'stickiness.table:';
export { STICK_TABLE };
/** @deprecated STICK_TABLE's id; use the typed key STICK_TABLE. */
export const STICK_TABLE_DATA = STICK_TABLE.id;

/**
 * A server persistent clients may still reach: up, not in maint, under maxconn. Unlike
 * balanced traffic this ignores weight 0 and drain (HAProxy sends sticky users to a draining
 * server); the core has the last word on what it accepts.
 */
function reachable(s: ServerState): boolean {
  return s.health === 'up' && s.admin !== 'maint' && (s.maxconn === 0 || s.active < s.maxconn);
}

export type { StickinessBackendOptions };

function tableOf(gateway: GatewayApi, backend: string | undefined, command: string): { name: string; store: StickStore } {
  if (!backend) throw StickErrors.COMMAND_ARGS(command, 'backend=<name>');
  const t = gateway.backends.get(backend)?.data.get(STICK_TABLE_DATA) as { name: string; store: StickStore } | undefined;
  if (!t) throw StickErrors.NO_TABLE(backend, command);
  return t;
}

/** `stick show backend=<b> [key=<k>]`: a table's size, or where one key is stuck. */
const showCommand: RuntimeCommand = {
  summary: 'Stick table of a backend: its entry count, or with key=<k> the server that key is stuck to.',
  args: ['backend', 'key'],
  async run(gateway, args) {
    const t = tableOf(gateway, args.backend, 'stick show');
    if (args.key) return { backend: args.backend, table: t.name, key: args.key, server: (await t.store.get(t.name, args.key)) ?? null };
    return { backend: args.backend, table: t.name, entries: await t.store.size(t.name) };
  },
};

/** `stick clear backend=<b> key=<k>`: unsticks one key (its next request is balanced again). */
const clearCommand: RuntimeCommand = {
  summary: 'Forget one key of a backend\'s stick table: key=<k>; its next request is balanced again.',
  args: ['backend', 'key'],
  async run(gateway, args) {
    const t = tableOf(gateway, args.backend, 'stick clear');
    if (!args.key) throw StickErrors.COMMAND_ARGS('stick clear', 'key=<k>');
    const before = await t.store.get(t.name, args.key);
    await t.store.delete(t.name, args.key);
    return { backend: args.backend, table: t.name, key: args.key, cleared: before !== undefined };
  },
};

interface BackendSticky {
  cookie: CookiePersistence | null;
  table: StickTable | null;
}

function compileBackend(gateway: GatewayApi, be: BackendState, stores: Map<string, StickStore>): BackendSticky | null {
  const cfg = be.config as BackendConfig & StickinessBackendOptions;
  if (!cfg.cookie && !cfg.stickTable) return null;
  let cookie: CookiePersistence | null = null;
  if (cfg.cookie) {
    if (be.mode !== 'http') throw StickErrors.CONFIG(be.name, 'cookie persistence needs an http backend (use stickTable with key src in tcp mode)');
    try {
      cookie = new CookiePersistence(be, cfg.cookie);
    } catch (err) {
      throw StickErrors.CONFIG.with({ cause: err }, be.name, (err as Error).message);
    }
  }
  let table: StickTable | null = null;
  if (cfg.stickTable) {
    const t = cfg.stickTable;
    let store = stores.get(t.store);
    if (!store) {
      const provider = gateway.slots.get<StickStoreProvider>(STICK_STORE_SLOT, t.store);
      if (!provider) throw StickErrors.STORE_UNKNOWN(be.name, t.store, gateway.slots.names(STICK_STORE_SLOT).join(', ') || 'none');
      store = provider.create({ gateway, logger: gateway.logger.child({ plugin: NAME, store: t.store }) });
      stores.set(t.store, store);
    }
    table = { name: t.table ?? be.name, store, key: compileStickKey(t.key, be.name, cfg, gateway.slots), expire: t.expire, size: t.size };
  }
  return { cookie, table };
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.5',
  core: '>=0.1.2 <1.0.0',
  description: 'Session persistence: cookie insert/rewrite/prefix and stick tables on any fetch, with a pluggable store.',
  schema: { backend: backendOptions, server: serverOptions },
  register({ slots }) {
    slots.provide(STICK_STORE_SLOT, 'memory', memoryStoreProvider, { description: memoryStoreProvider.description });
    slots.provide<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'stick show', showCommand, { description: showCommand.summary });
    slots.provide<RuntimeCommand>(RUNTIME_COMMAND_SLOT, 'stick clear', clearCommand, { description: clearCommand.summary });
  },
  apply(gateway) {
    const stores = new Map<string, StickStore>();
    const rules = new Map<BackendState, BackendSticky>();
    try {
      for (const be of gateway.backends.values()) {
        const r = compileBackend(gateway, be, stores);
        if (r === null) continue;
        rules.set(be, r);
        if (r.table) be.data.set(STICK_TABLE_DATA, { name: r.table.name, store: r.table.store });
      }
    } catch (err) {
      for (const s of stores.values()) void s.close();
      throw err;
    }
    if (rules.size === 0) return;
    gateway.onStop(async () => {
      for (const s of stores.values()) await s.close();
    });
    const log = gateway.logger.child({ plugin: NAME });
    const tap = { name: NAME, stage: Stage.DEFAULT };

    // An async store is read before the (synchronous) server selection: once per table, before routing ends.
    const asyncTables = [...new Map([...rules.values()].flatMap((r) => (r.table && !r.table.store.sync ? [[r.table.name, r.table] as const] : []))).values()];
    if (asyncTables.length > 0) {
      gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.ROUTING - 10 }, async (ex) => {
        for (const t of asyncTables) {
          const key = t.key(ex);
          if (key === undefined) continue;
          try {
            ex.vars.set(LOOKUP_PREFIX + t.name, await t.store.get(t.name, key));
          } catch (err) {
            log.warn({ err, table: t.name }, 'stick table lookup failed; balancing without it');
          }
        }
        return undefined;
      });
    }

    const stored = (ex: Exchange, t: StickTable, key: string): string | undefined => {
      if (!t.store.sync) return ex.vars.get(LOOKUP_PREFIX + t.name) as string | undefined;
      const v = t.store.get(t.name, key);
      return typeof v === 'string' ? v : undefined;
    };

    gateway.hooks.selectServer.tap(tap, (ex): ServerState | undefined => {
      const be = ex.backend;
      const r = be === null ? undefined : rules.get(be);
      if (r === undefined) return undefined;
      if (r.cookie !== null && ex.kind === 'http') {
        const seen = r.cookie.read(ex);
        ex.vars.set(COOKIE_SEEN, seen);
        if (seen.server !== null && reachable(seen.server)) return seen.server;
      }
      if (r.table !== null) {
        const key = r.table.key(ex);
        const name = key === undefined ? undefined : stored(ex, r.table, key);
        const s = name === undefined ? undefined : be!.server(name);
        if (s !== undefined && reachable(s)) return s;
      }
      return undefined;
    });

    gateway.hooks.forward.tap({ name: NAME, stage: Stage.REWRITE - 50 }, (ex) => {
      const be = ex.backend;
      const r = be === null ? undefined : rules.get(be);
      const server = ex.server;
      if (r === undefined || server === null) return undefined;
      if (r.table !== null) {
        const t = r.table;
        const key = t.key(ex);
        if (key !== undefined) {
          const done = t.store.set(t.name, key, server.name, t.expire, t.size);
          if (done instanceof Promise) done.catch((err: unknown) => log.warn({ err, table: t.name }, 'stick table store failed'));
        }
      }
      if (r.cookie !== null && ex.kind === 'http') {
        const header = r.cookie.upstreamCookie(ex);
        if (header === null) delete ex.upstream.headers.cookie;
        else if (header !== undefined) ex.upstream.headers.cookie = header;
      }
      return undefined;
    });

    gateway.hooks.respond.tap(tap, (head, ex) => {
      const be = ex.backend;
      const r = be === null ? undefined : rules.get(be);
      if (r === undefined || r.cookie === null || ex.server === null) return head;
      return r.cookie.respond(head, ex.server, ex.vars.get(COOKIE_SEEN) as CookieSeen | undefined);
    });
  },
});

export default plugin;
