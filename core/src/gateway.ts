import { EventEmitter } from 'node:events';
import pino from 'pino';
import {
  Slots, SwitchyardError, type BackendState, type BalancePolicyClass, type BindConfig, type Connection, type Exchange,
  type FrontendState, type GatewayApi, type GatewayEvents, type Hooks, type Logger, type ServerChange, type ServerState,
  type SwitchyardConfig, type TlsInfo, type ReloadResult, type AdminState, type HealthState, type ConfigLocation,
  type ConfigPath, type ServiceContainer, type PluginListenAddress, type PluginListener,
} from '@switchyard/sdk';
import type { Socket } from 'node:net';
import type { LoadedConfig } from './config/load';
import { CoreErrors } from './errors';
import { createHooks, hookUse } from './hooks';
import { locator, runStep, stopPlugins } from './lifecycle';
import { Listeners } from './listener';
import type { LoadedPlugin } from './loader';
import { Pipeline } from './pipeline';
import { CORE_VERSION } from './version';
import { ServerQueue } from './queue';
import type { ListeningServers } from './reload-handover';
import { PluginListeners, type PluginSockets } from './reload-listeners';
import type { ServiceRegistry } from './services';
import type { SlotTable } from './slots';
import { BackendRuntime, FrontendRuntime } from './state';

export const TOKENS = Object.freeze({
  GATEWAY: 'switchyard.gateway',
  CONFIG: 'switchyard.config',
  LOGGER: 'switchyard.logger',
});

export interface GatewayOptions {
  /** A pino logger (or compatible). Default: pino to stdout at the config's logLevel. */
  logger?: Logger;
  /** How `gateway.reload()` reaches what reloads (the master, or the single-process reloader). */
  reload?: () => Promise<ReloadResult>;
}

export interface ListenOptions {
  /** A previous generation's listening servers by bind key (reload): taken over, never closed. */
  inherit?: ListeningServers;
  /** A previous generation's plugin sockets (reload): taken over when its plugins ask again. */
  pluginSockets?: PluginSockets;
}

/**
 * One running gateway: its own services, hooks, state and listeners. Two gateways in a
 * process share nothing. The request path lives in ./pipeline (stages, error path, end of
 * exchange), server choice and queueing in ./queue (one Waiter), sockets in ./listener,
 * the per-connection state in ./connection.
 */
export class Gateway implements GatewayApi {
  readonly coreVersion: string = CORE_VERSION;
  readonly hooks: Hooks = createHooks();
  readonly config: SwitchyardConfig;
  readonly services: ServiceRegistry;
  readonly container: ServiceContainer;
  readonly slots: SlotTable;
  readonly locate: (path: ConfigPath) => ConfigLocation;
  readonly logger: Logger;
  readonly events: GatewayEvents & EventEmitter = new EventEmitter() as GatewayEvents & EventEmitter;
  readonly frontends = new Map<string, FrontendRuntime>();
  readonly backends = new Map<string, BackendRuntime>();
  readonly plugins: ReadonlyArray<LoadedPlugin>;
  readonly configFile: string | undefined;
  readonly warnings: ReadonlyArray<string>;
  stopping = false;
  readonly #queue: ServerQueue;
  readonly #pipeline: Pipeline;
  readonly #listeners: Listeners;
  readonly #pluginListeners: PluginListeners;
  #stopFns: Array<() => void | Promise<void>> = [];
  readonly baseDir: string;
  #applied = false;
  #reload: (() => Promise<ReloadResult>) | undefined;

  private constructor(loaded: LoadedConfig, options: GatewayOptions) {
    this.config = loaded.config;
    this.services = loaded.services;
    this.container = loaded.services.legacy();
    this.locate = locator(loaded.file, loaded.lineOf);
    this.slots = loaded.slots;
    this.plugins = loaded.plugins;
    this.configFile = loaded.file;
    this.warnings = loaded.warnings;
    this.baseDir = loaded.baseDir;
    this.#reload = options.reload;
    this.logger = options.logger ?? (pino({ level: loaded.config.global.logLevel, base: { pid: process.pid } }) as unknown as Logger);
    this.events.setMaxListeners(0);
    this.container.register(TOKENS.GATEWAY, { useValue: this });
    this.container.register(TOKENS.CONFIG, { useValue: this.config });
    this.container.register(TOKENS.LOGGER, { useValue: this.logger });
    this.#queue = new ServerQueue(this.hooks, this.backends);
    this.#pipeline = new Pipeline(this, this.#queue);
    this.#listeners = new Listeners(this, this.#pipeline);
    this.#pluginListeners = new PluginListeners(this.logger);
    this.#buildState();
  }

  /**
   * Builds state and runs every plugin's provision and validate steps: everything but
   * starting (no sockets, no timers). What `switchyard validate` runs. Stop it when done.
   */
  static async provision(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const gw = new Gateway(loaded, options);
    try {
      await runStep(gw, 'provision');
      await runStep(gw, 'validate');
    } catch (err) {
      await gw.stop(0);
      throw err;
    }
    return gw;
  }

  /** provision(), then every plugin's apply step (taps hooks, starts background work), without listening. */
  static async prepare(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const gw = await Gateway.provision(loaded, options);
    try {
      await gw.#applyPlugins();
    } catch (err) {
      await gw.stop(0);
      throw err;
    }
    return gw;
  }

  /** prepare() then listen(). */
  static async start(loaded: LoadedConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const gw = await Gateway.prepare(loaded, options);
    try {
      await gw.listen();
    } catch (err) {
      await gw.stop(0);
      throw err;
    }
    return gw;
  }

  #buildState(): void {
    const onChange = (change: ServerChange): void => this.#onServerChange(change);
    for (const [name, cfg] of Object.entries(this.config.backends)) {
      const be = new BackendRuntime(name, cfg, onChange);
      const Policy = this.slots.get<BalancePolicyClass>(Slots.BALANCE, cfg.balance);
      if (!Policy) throw CoreErrors.SLOT_UNKNOWN(`backend ${name}: no balance policy "${cfg.balance}"`);
      be.usePolicy(Policy);
      this.backends.set(name, be);
    }
    for (const [name, cfg] of Object.entries(this.config.frontends)) {
      const fe = new FrontendRuntime(name, cfg);
      if (cfg.defaultBackend) fe.defaultBackend = this.backends.get(cfg.defaultBackend) ?? null;
      this.frontends.set(name, fe);
    }
  }

  async #applyPlugins(): Promise<void> {
    await runStep(this, 'apply');
    // Services are resolved by now; a look-up from here on would be per request.
    this.services.seal();
    // Every tap is in: compile which stages run (an untapped stage costs nothing per request).
    const use = hookUse(this.hooks);
    this.#pipeline.compile(use);
    this.#listeners.compile(use);
    this.#applied = true;
  }

  /** Which plugins tap which hooks, by tap name (plugins tap with their own name). */
  taps(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [hook, h] of Object.entries(this.hooks) as Array<[string, { taps: Array<{ name: string }> }]>) {
      for (const t of h.taps) (out[t.name] ??= []).push(hook);
    }
    return out;
  }

  onStop(fn: () => void | Promise<void>): void {
    this.#stopFns.push(fn);
  }

  reload(): Promise<ReloadResult> {
    if (this.#reload) return this.#reload();
    return Promise.resolve({
      ok: false,
      message: 'this gateway was started without a reloader (switchyard run has one in every mode; embedders use startReloadable())',
      errors: [],
    });
  }

  /**
   * Applies saved server states by id (`backend/server`): what a reload or another worker
   * knew. Servers no longer in the config are ignored.
   */
  applyServerStates(states: Readonly<Record<string, { admin: AdminState; health: HealthState; weight: number }>>): void {
    for (const [id, st] of Object.entries(states)) {
      const slash = id.indexOf('/');
      const server = this.backends.get(id.slice(0, slash))?.server(id.slice(slash + 1));
      if (!server) continue;
      server.setAdmin(st.admin, 'state carried over');
      server.setHealth(st.health, 'state carried over');
      server.setWeight(st.weight, 'state carried over');
    }
  }

  // ---------------------------------------------------------------- listeners

  /**
   * Listens on every bind; binds whose key is in `options.inherit` (a previous generation's
   * listening servers, reload) are taken over instead of bound again.
   */
  async listen(options: ListenOptions = {}): Promise<void> {
    if (!this.#applied) throw new Error('prepare() first');
    await this.#listeners.listen(this.frontends.values(), options.inherit);
    if (options.pluginSockets) this.#pluginListeners.inherit(options.pluginSockets);
    this.events.emit('started');
  }

  openListener(owner: string, where: PluginListenAddress, onConnection: (socket: Socket) => void): Promise<PluginListener> {
    return this.#pluginListeners.open(owner, where, onConnection);
  }

  /** The plugin sockets this generation still owns (for the next generation). */
  pluginSockets(): PluginSockets {
    return this.#pluginListeners.sockets();
  }

  /** The listening servers this generation still owns, by bind key (for the next generation). */
  listeningServers(): ListeningServers {
    return this.#listeners.listeningServers();
  }

  // ---------------------------------------------------------------- servers

  selectServer(ex: Exchange): ServerState | undefined {
    return this.#queue.select(ex, ex.backend as BackendRuntime);
  }

  acquireServer(ex: Exchange): Promise<ServerState> {
    const be = ex.backend as BackendRuntime | null;
    if (!be) return Promise.reject(CoreErrors.NO_BACKEND(ex.frontend.name));
    try {
      return Promise.resolve(this.#queue.acquire(ex, be));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  releaseServer(ex: Exchange): void {
    this.#queue.release(ex);
  }

  #onServerChange(change: ServerChange): void {
    const be = this.backends.get(change.server.backend);
    this.logger.info(
      { backend: change.server.backend, server: change.server.name, what: change.what, from: change.from, to: change.to, reason: change.reason },
      `server ${change.server.id} ${change.what} ${change.from} -> ${change.to}${change.reason ? ` (${change.reason})` : ''}`,
    );
    try {
      this.events.emit('server-change', change);
    } catch (err) {
      // A listener's bug must not stop the queue handling below, nor the caller (a health check).
      this.logger.error({ err }, 'a server-change listener failed');
    }
    if (be) this.#queue.serverChanged(be);
  }

  // ---------------------------------------------------------------- stop

  /** Listening addresses of a frontend (after listen()). */
  address(frontend: string, index = 0): { host: string; port: number } {
    const a = this.frontends.get(frontend)?.addresses[index];
    if (!a) throw new Error(`frontend ${frontend} has no address ${index}`);
    return a;
  }

  /**
   * Graceful stop: stop accepting, let in-flight exchanges finish for up to `graceMs`
   * (default global.gracePeriod), close idle keep-alive connections, then cut the rest.
   */
  async stop(graceMs: number = this.config.global.gracePeriod): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.events.emit('stopping');
    // Stop accepting now. (close()'s callback waits for every connection to end, which is
    // what the loop below brings about: don't wait for it here.)
    this.#listeners.stopAccepting();
    // Responses whose head is not out yet close their connection when done ("Connection:
    // close": the HTTP/1.1 front end reads `stopping` when it writes a head; HTTP/2 sessions
    // get GOAWAY), so keep-alive clients reconnect elsewhere instead of racing an idle-close.
    const started = Date.now();
    const deadline = started + graceMs;
    // Idle keep-alive connections are closed only after the keep-alive timeout: a client
    // about to reuse one would otherwise see it reset. Requests that arrive meanwhile
    // are answered with "Connection: close".
    const idleAfter = Math.min(this.#listeners.maxKeepAlive(), graceMs / 2);
    const sockets = this.#listeners.sockets;
    while (sockets.size > 0 && Date.now() < deadline) {
      if (Date.now() - started >= idleAfter) this.#listeners.closeIdle();
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#listeners.destroyAll();
    for (const be of this.backends.values()) this.#queue.rejectAll(be);
    for (const fn of this.#stopFns.reverse()) {
      try {
        await fn();
      } catch (err) {
        this.logger.error({ err }, 'a plugin stop step failed');
      }
    }
    await stopPlugins(this, this.logger);
    this.#pluginListeners.closeAll();
  }
}

export type { BackendState };
