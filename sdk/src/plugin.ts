import type { JsonSchema, SwitchyardConfig } from './config';
import type { Services } from './contracts';
import type { Hooks } from './hooks';
import type { SlotRegistry } from './slots';
import type { BackendState, FrontendState, ServerChange, ServerState } from './state';
import type { Exchange } from './exchange';
import { SdkErrors, type ConfigLocation } from './errors';
import type { Static, TSchema } from './options';
import type { Socket } from 'node:net';

/** A pino-compatible logger (the core passes a pino child logger per plugin). */
export interface Logger {
  fatal(obj: unknown, msg?: string, ...args: unknown[]): void;
  error(obj: unknown, msg?: string, ...args: unknown[]): void;
  warn(obj: unknown, msg?: string, ...args: unknown[]): void;
  info(obj: unknown, msg?: string, ...args: unknown[]): void;
  debug(obj: unknown, msg?: string, ...args: unknown[]): void;
  trace(obj: unknown, msg?: string, ...args: unknown[]): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface GatewayEventMap {
  /** A server's weight, admin state or health changed. */
  'server-change': [ServerChange];
  /** Every listener is bound. */
  started: [];
  /** Stop (or the old side of a reload) has begun: stop accepting, finish in-flight work. */
  stopping: [];
  /** Log files should be reopened (SIGUSR2, after logrotate moved them). */
  'reopen-logs': [];
}

/** What a reload answered. */
export interface ReloadResult {
  ok: boolean;
  message: string;
  /** Config problems, one per line, when the new config was refused (the old one keeps serving). */
  errors: string[];
}

export interface GatewayEvents {
  on<E extends keyof GatewayEventMap>(event: E, listener: (...args: GatewayEventMap[E]) => void): this;
  off<E extends keyof GatewayEventMap>(event: E, listener: (...args: GatewayEventMap[E]) => void): this;
  once<E extends keyof GatewayEventMap>(event: E, listener: (...args: GatewayEventMap[E]) => void): this;
}

/**
 * The string-keyed value map earlier plugins used for services.
 * @deprecated offer and consume services through typed tokens: `gateway.services`.
 */
export interface ServiceContainer {
  register(token: string | symbol, provider: { useValue: unknown }): this;
  isRegistered(token: string | symbol, recursive?: boolean): boolean;
  resolve<T>(token: string | symbol): T;
}

/** A key path in the config: `['backends', 'api', 'servers', 0, 'address']` or `'backends.api.servers[0].address'`. */
export type ConfigPath = string | ReadonlyArray<string | number>;

/** What a plugin's `provision`, `validate`, `apply` and `stop` steps get: the gateway generation. */
/** Where a plugin's own listener listens (`gateway.openListener`): TCP, a unix socket, or an inherited descriptor. */
export type PluginListenAddress = { host: string; port: number } | { path: string } | { fd: number };

/** A listening socket of a plugin (a stats page, a metrics endpoint, a CLI socket), managed by the core. */
export interface PluginListener {
  /** What it listens on: host, port and family for TCP, the path of a unix socket, or the descriptor. */
  readonly address: { host: string; port: number; family: string } | { path: string } | { fd: number };
  /** True when the previous generation handed this socket over on a reload (nothing was bound again). */
  readonly inherited: boolean;
  /**
   * Stops handing connections to this generation. The socket closes (a unix socket's file is
   * removed) unless the next generation took it over; connections already accepted are the
   * plugin's to end.
   */
  close(): Promise<void>;
}

export interface GatewayApi {
  /** The running core's version: what plugins' `core` ranges are checked against (HAProxy's `show info` Version). */
  readonly coreVersion: string;
  readonly hooks: Hooks;
  readonly config: SwitchyardConfig;
  /** This generation's services (typed tokens): two gateways, or two generations, share nothing. */
  readonly services: Services;
  /** @deprecated string-keyed view of `services`; use typed tokens. */
  readonly container: ServiceContainer;
  readonly slots: SlotRegistry;
  /**
   * Where a config key is: file, line and key path, for a coded error's `location`
   * (`MyErrors.BAD.with({ location: gateway.locate(['backends', name, 'myKey']) }, …)`). A
   * coded error thrown from a plugin step with only `location.path` gets file and line filled in.
   */
  locate(path: ConfigPath): ConfigLocation;
  readonly logger: Logger;
  readonly events: GatewayEvents;
  readonly frontends: ReadonlyMap<string, FrontendState>;
  readonly backends: ReadonlyMap<string, BackendState>;
  /** Config file the gateway was started from, if any. */
  readonly configFile: string | undefined;
  /** Directory relative paths in the config resolve from (the config file's, or the embedder's). */
  readonly baseDir: string;
  /** True once stop (or a reload's drain) has begun. */
  readonly stopping: boolean;
  /**
   * Picks a server for an exchange with a backend: the `selectServer` hook, then the
   * backend's policy over primaries, then over backups. No queueing; undefined when
   * no server is usable now.
   */
  selectServer(exchange: Exchange): ServerState | undefined;
  /**
   * Picks a server and takes a slot on it (counts the exchange as active), waiting in the
   * backend queue when every usable server is at maxconn. Rejects with a coded error
   * (status 503) when no server is available or the queue times out.
   */
  acquireServer(exchange: Exchange): Promise<ServerState>;
  /** Gives back the slot taken by acquireServer (the core does this when an exchange ends). */
  releaseServer(exchange: Exchange): void;
  /** Runs at stop, in reverse order of registration. */
  onStop(fn: () => void | Promise<void>): void;
  /**
   * Asks for a hitless reload of the config file, in a single process (a new gateway
   * generation takes over the listening sockets) or in master mode (new workers start, the
   * old ones drain). Resolves once the new generation serves, or with the reasons the new
   * config was refused (the running one keeps serving). A gateway started without a reloader
   * (`Gateway.start` by an embedder) resolves `{ ok: false }` saying so.
   */
  reload(): Promise<ReloadResult>;
  /**
   * Listens for a plugin on its own address (outside the frontends) and hands each accepted
   * connection to `onConnection` (an http.Server takes it with `server.emit('connection', s)`).
   * The core keeps the socket across reloads as it keeps the frontends' binds: when the same
   * plugin (`owner`, its package name) of the next generation asks for the same address, it takes
   * the listening socket over in one step, so the port is never closed and never refused; an
   * address the next generation no longer asks for closes when the old generation stops. Port 0
   * keeps the port it got. Rejects with the socket's error (EADDRINUSE, EACCES) for the plugin to code.
   */
  openListener(owner: string, where: PluginListenAddress, onConnection: (socket: Socket) => void): Promise<PluginListener>;
}

/** What a plugin's `register` step gets. */
export interface RegisterContext {
  /** This generation's services: offer the ones that need no config here, or in `provision`. */
  readonly services: Services;
  /** @deprecated string-keyed view of `services`. */
  readonly container: ServiceContainer;
  readonly slots: SlotRegistry;
  readonly logger: Logger;
}

/** Schema fragments a plugin adds to the composed config schema. */
export interface PluginSchema {
  /** Schema of the plugin's own top-level key (`configKey`). */
  config?: JsonSchema;
  /** Extra properties on every frontend, backend, server, bind or `bind.tls` object. */
  frontend?: Record<string, JsonSchema>;
  backend?: Record<string, JsonSchema>;
  server?: Record<string, JsonSchema>;
  bind?: Record<string, JsonSchema>;
  tls?: Record<string, JsonSchema>;
  /** Extra properties on `defaults` (inherited by frontends and backends by the plugin itself). */
  defaults?: Record<string, JsonSchema>;
}

export interface PluginDefinition<C = unknown> {
  readonly kind: 'plugin';
  /** Package-style name, unique in a gateway: `@switchyard/plugin-roundrobin`. */
  readonly name: string;
  readonly version: string;
  /** Semver range of @switchyard/core this plugin supports, checked at load. */
  readonly core: string;
  readonly description?: string;
  /** Top-level config key the plugin reads (its `schema.config` validates it). */
  readonly configKey?: string;
  readonly schema?: PluginSchema;
  /** Provide slot implementations (and config-free services). No hooks yet: the config is not composed. */
  register?(ctx: RegisterContext): void;
  /**
   * Build what the plugin needs from its validated config: compile rules, read files (CA
   * bundles, user lists), build TLS contexts, offer services and resolve other plugins'
   * services, tap hooks. No sockets, no timers, no background work: `switchyard validate`
   * runs this step too, so a problem found here is a problem `validate` reports. Throw coded
   * errors with `location: gateway.locate(path)` (file:line of the key).
   */
  provision?(gateway: GatewayApi, config: C): void | Promise<void>;
  /**
   * Checks that need every plugin provisioned (cross-plugin references). Runs under
   * `switchyard validate` and `run`, after every plugin's `provision`.
   */
  validate?(gateway: GatewayApi, config: C): void | Promise<void>;
  /**
   * Start: open sockets, start timers and background work (and, in older plugins, tap
   * hooks). Runs under `run`, never under `validate`.
   */
  apply?(gateway: GatewayApi, config: C): void | Promise<void>;
  /**
   * Stop and dispose: runs once when the generation stops (shutdown, or the old side of a
   * reload once it has drained), in reverse plugin order, before services are disposed.
   * Runs even when `apply` never did (a `validate`, a failed start).
   */
  stop?(gateway: GatewayApi): void | Promise<void>;
}

/** A plugin list published as a package. Names resolve from the preset's own directory. */
export interface PresetDefinition {
  readonly kind: 'preset';
  readonly name: string;
  readonly version: string;
  readonly plugins: ReadonlyArray<string>;
  readonly description?: string;
}

/** A definition whose `schema.config` is a TypeBox schema: its steps get `Static<S>`. */
export type TypedPluginInput<S extends TSchema> = Omit<PluginDefinition<Static<S>>, 'kind' | 'schema'> & {
  readonly configKey: string;
  readonly schema: Omit<PluginSchema, 'config'> & { readonly config: S };
};

/**
 * Declares a plugin. With a TypeBox schema (`schema.config: Type.Object({...})`) the options
 * type of `provision`/`validate`/`apply` is derived from it; otherwise pass it explicitly
 * (`definePlugin<Options>({...})`).
 */
export function definePlugin<S extends TSchema>(plugin: TypedPluginInput<S>): PluginDefinition<Static<S>>;
export function definePlugin<C = unknown>(plugin: Omit<PluginDefinition<C>, 'kind'>): PluginDefinition<C>;
export function definePlugin<C = unknown>(plugin: Omit<PluginDefinition<C>, 'kind'>): PluginDefinition<C> {
  if (!plugin || typeof plugin.name !== 'string' || plugin.name === '') {
    throw SdkErrors.PLUGIN_INVALID('a plugin needs a non-empty name');
  }
  for (const key of ['version', 'core'] as const) {
    if (typeof plugin[key] !== 'string' || plugin[key] === '') {
      throw SdkErrors.PLUGIN_INVALID(`plugin ${plugin.name} needs a ${key} string`);
    }
  }
  for (const step of ['register', 'provision', 'validate', 'apply', 'stop'] as const) {
    if (plugin[step] !== undefined && typeof plugin[step] !== 'function') {
      throw SdkErrors.PLUGIN_INVALID(`plugin ${plugin.name}: ${step} must be a function`);
    }
  }
  if (plugin.schema?.config && !plugin.configKey) {
    throw SdkErrors.PLUGIN_INVALID(`plugin ${plugin.name} has a config schema but no configKey`);
  }
  return Object.freeze({ kind: 'plugin', ...plugin }) as PluginDefinition<C>;
}

export function definePreset(preset: Omit<PresetDefinition, 'kind'>): PresetDefinition {
  if (!preset || typeof preset.name !== 'string' || !Array.isArray(preset.plugins)) {
    throw SdkErrors.PLUGIN_INVALID('a preset needs a name and a plugins list');
  }
  return Object.freeze({ kind: 'preset', ...preset, plugins: Object.freeze([...preset.plugins]) });
}

export type { ServerState };
