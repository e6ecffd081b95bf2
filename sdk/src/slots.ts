import type { GatewayApi } from './plugin';
import type { BackendConfig, SwitchyardConfig } from './config';
import type { Exchange } from './exchange';
import type { BackendState, ServerState } from './state';
import type { JsonSchema } from './config';

/**
 * Named slots: "exactly one of several" implementations, chosen by config. A plugin
 * provides an implementation under a name in a slot at register time; the core (or the
 * plugin that owns the slot) resolves it once when the config loads.
 */
export interface SlotMeta {
  description?: string;
  /** Config properties this implementation reads, for docs and `switchyard plugins`. */
  options?: Record<string, JsonSchema>;
}

declare const kSlotType: unique symbol;

/**
 * A slot name that carries its implementation's type: `defineSlot<T>('acl.fetch', shape)`.
 * At run time it is the plain name (so listings and config show it); for the compiler it
 * is a key of T, so `provide(MY_SLOT, name, impl)` checks `impl` against T.
 */
export type SlotKey<T> = string & { readonly [kSlotType]: T };

/** What the loader checks an implementation against when it is provided (before any config is read). */
export interface SlotShape {
  /** 'class': a constructor whose prototype has `methods`; 'object': an object with `methods`; 'function': a function. */
  readonly kind: 'class' | 'object' | 'function';
  readonly methods?: ReadonlyArray<string>;
  /** How the error names the expected type: "a BalancePolicyClass (a class with select())". */
  readonly expected: string;
}

const shapes: Map<string, SlotShape> = ((globalThis as Record<symbol, unknown>)[Symbol.for('switchyard.slot-shapes')] ??=
  new Map<string, SlotShape>()) as Map<string, SlotShape>;

/** Declares a slot owned by the calling package; export the key for providers and consumers. */
export function defineSlot<T>(name: string, shape?: SlotShape): SlotKey<T> {
  if (typeof name !== 'string' || name === '') throw new TypeError('a slot needs a non-empty name');
  if (shape && !shapes.has(name)) shapes.set(name, Object.freeze({ ...shape }));
  return name as SlotKey<T>;
}

/** The shape declared for a slot, if its owner declared one. */
export function slotShape(name: string): SlotShape | undefined {
  return shapes.get(name);
}

/** Why `impl` does not fit `shape`, or undefined when it does. */
export function checkSlotShape(shape: SlotShape, impl: unknown): string | undefined {
  const got = impl === null ? 'null' : Array.isArray(impl) ? 'an array' : typeof impl === 'function'
    ? (impl.prototype === undefined ? 'an arrow function' : /^class[\s{]/.test(Function.prototype.toString.call(impl)) ? `class ${impl.name || '(anonymous)'}` : `function ${impl.name || '(anonymous)'}`)
    : typeof impl === 'object' ? 'an object' : `a ${typeof impl}`;
  if (shape.kind === 'class' || shape.kind === 'function') {
    if (typeof impl !== 'function' || (shape.kind === 'class' && impl.prototype === undefined)) return `got ${got}`;
    if (shape.kind === 'class') {
      const missing = (shape.methods ?? []).filter((m) => typeof (impl.prototype as Record<string, unknown>)[m] !== 'function');
      if (missing.length > 0) return `${got} has no ${missing.map((m) => `${m}()`).join(', ')} method`;
    }
    return undefined;
  }
  if (typeof impl !== 'object' || impl === null || Array.isArray(impl)) return `got ${got}`;
  const missing = (shape.methods ?? []).filter((m) => typeof (impl as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) return `the object has no ${missing.map((m) => `${m}()`).join(', ')} method`;
  return undefined;
}

/**
 * Slots whose names are plain strings, with their implementation types. An owner may add
 * its own by module augmentation (`declare module '@switchyard/sdk' { interface SlotTypes {…} }`),
 * though exporting a `defineSlot` key is simpler.
 */
export interface SlotTypes {
  balance: BalancePolicyClass;
  'config.adapter': ConfigAdapter;
  'cli.command': CliCommand;
  fetch: FetchDefinition;
  'cluster.master': ClusterMasterSetup;
  'runtime.command': RuntimeCommand;
}

/** A slot name that is not one of SlotTypes' (so a well-known name never falls back to untyped). */
type UntypedSlot<S extends string> = S & (S extends keyof SlotTypes ? never : S extends SlotKey<unknown> ? never : unknown);

export interface SlotRegistry {
  /**
   * Register `impl` as `name` in `slot`. Register step only; a duplicate is a coded error,
   * and so is an implementation of the wrong shape (`SWY_ERR_SLOT_SHAPE`, naming the plugin).
   */
  provide<K extends keyof SlotTypes>(slot: K, name: string, impl: SlotTypes[K], meta?: SlotMeta): void;
  provide<T>(slot: SlotKey<T>, name: string, impl: T, meta?: SlotMeta): void;
  /** @deprecated untyped: declare the slot with `defineSlot<T>()` and provide through its key. */
  provide<T = unknown, S extends string = string>(slot: UntypedSlot<S>, name: string, impl: T, meta?: SlotMeta): void;
  get<K extends keyof SlotTypes>(slot: K, name: string): SlotTypes[K] | undefined;
  get<T>(slot: SlotKey<T>, name: string): T | undefined;
  get<T = unknown>(slot: string, name: string): T | undefined;
  names(slot: string): string[];
  /** The plugin that provided `name` in `slot` (for the haproxy.cfg adapter's plugin list). */
  ownerOf?(slot: string, name: string): string | undefined;
}

/** Well-known slot names. Plugins define their own with `defineSlot` (`acl.fetch`, `health.check`…). */
export const Slots = Object.freeze({
  /** Balancing policies: a `BalancePolicyClass`, named by `backends.<b>.balance`. */
  BALANCE: defineSlot<BalancePolicyClass>('balance', {
    kind: 'class',
    methods: ['select'],
    expected: 'a BalancePolicyClass (a class whose instances have select(exchange))',
  }),
  /** Config adapters: a `ConfigAdapter`, chosen by file extension or `--adapter`. */
  CONFIG_ADAPTER: defineSlot<ConfigAdapter>('config.adapter', {
    kind: 'object',
    methods: ['adapt'],
    expected: 'a ConfigAdapter (an object with extensions and adapt(text, file, options))',
  }),
});

/** The servers one policy instance balances over: a backend's primaries, or its backups. */
export interface ServerGroup {
  readonly backend: BackendState;
  readonly servers: ReadonlyArray<ServerState>;
  /** 'primary' or 'backup'. */
  readonly role: 'primary' | 'backup';
}

/**
 * A balancing policy: one small class with one selection method. It reads only the shared
 * server state (usable, weight, active…) and does no I/O. `update()` is called when the
 * server set, a weight or an availability changes, to rebuild any lookup structure.
 */
export interface BalancePolicy {
  select(exchange: Exchange): ServerState | undefined;
  update?(): void;
}

export type BalancePolicyClass = new (group: ServerGroup, config: BackendConfig) => BalancePolicy;

export interface AdaptResult {
  /** The canonical config model (validated afterwards like YAML). */
  config: Record<string, unknown>;
  /** Things adapted approximately or ignored under `lenient`. */
  warnings: string[];
  /** Line of a canonical key path in the original file, when known. */
  lineOf?(path: ReadonlyArray<string | number>): number | undefined;
}

/** Turns another format (haproxy.cfg…) into the canonical model. */
export interface ConfigAdapter {
  /** File extensions it claims, with the dot: ['.cfg']. */
  readonly extensions: ReadonlyArray<string>;
  adapt(text: string, file: string, options: { lenient: boolean }): AdaptResult;
}

/** What a CLI command provided by a plugin gets. */
export interface CliContext {
  /** Arguments after the command name. */
  readonly argv: ReadonlyArray<string>;
  /** The `--config` file the CLI was given, if any (absolute). */
  readonly configFile: string | undefined;
  /** That file's config, already loaded and validated by the CLI (undefined without --config). */
  readonly config?: SwitchyardConfig;
  out(text: string): void;
  err(text: string): void;
  /**
   * Loads a config with the core's driver (plugins, schema, validation) and prepares a
   * gateway on it without listening: hooks tapped, state built. Stop it when done.
   */
  prepare(input: { file?: string; adapter?: string; lenient?: boolean }): Promise<GatewayApi & { stop(graceMs?: number): Promise<void> }>;
}

/**
 * A `switchyard <name>` subcommand provided by a plugin (slot `cli.command`). The CLI
 * looks it up among the plugins of `--config` (or the standard preset) when the name is
 * not one of the core's own commands. Returns the exit code.
 */
export interface CliCommand {
  readonly summary: string;
  readonly usage: string;
  run(ctx: CliContext): Promise<number>;
}

export const CLI_COMMAND_SLOT = defineSlot<CliCommand>('cli.command', { kind: 'object', methods: ['run'], expected: 'a CliCommand (an object with summary, usage and run(ctx))' });

/**
 * A sample fetch (HAProxy's word): reads one value from an exchange — `src`, `path`,
 * `hdr(host)`, `cookie(id)`, a JWT claim… Fetches live in the `fetch` slot under their
 * name; anything that needs a value from a request (ACLs, hash balancing, rate-limit keys,
 * log formats) compiles `name(arg)` once at load and calls the result per exchange.
 */
export type FetchValue = string | number | boolean | null | undefined | ReadonlyArray<string>;

export interface FetchDefinition {
  readonly description: string;
  /** 'required' when `name(arg)` needs its argument, 'none' when it takes none. */
  readonly arg: 'none' | 'optional' | 'required';
  /** Modes it works in; an HTTP-only fetch on a TCP exchange yields undefined. */
  readonly modes: ReadonlyArray<'http' | 'tcp'>;
  /** Called once at load with the argument; returns the per-exchange reader. Throw to reject the argument. */
  compile(arg: string | undefined): (exchange: Exchange) => FetchValue;
  /**
   * How an ACL matches this fetch's values when no `-m` is given: `int` for counters and
   * rates (so `sc_http_req_rate(0) gt 10` compares numbers), `str` by default.
   */
  readonly defaultMatch?: 'int' | 'str' | 'bool' | 'ip' | 'found';
}

/**
 * Set-up that must run in the master process of `run --workers` before any worker is forked
 * (slot `cluster.master`), e.g. the primary side of a cluster-wide rate-limit store.
 */
export interface ClusterMasterSetup {
  setup(): void | Promise<void>;
}

export const CLUSTER_MASTER_SLOT = defineSlot<ClusterMasterSetup>('cluster.master', { kind: 'object', methods: ['setup'], expected: 'a ClusterMasterSetup (an object with setup())' });

export const FETCH_SLOT = defineSlot<FetchDefinition>('fetch', { kind: 'object', methods: ['compile'], expected: 'a FetchDefinition (an object with description, arg, modes and compile(arg))' });

/**
 * A runtime API command (slot `runtime.command`), e.g. `cache purge`: the runtime API
 * plugin exposes every command in the slot to operators and `switchyard admin`.
 */
export interface RuntimeCommand {
  readonly summary: string;
  /** Names of the arguments it reads (for help and validation). */
  readonly args: ReadonlyArray<string>;
  run(gateway: GatewayApi, args: Readonly<Record<string, string>>): Promise<unknown> | unknown;
  /**
   * Lowest access level that may run it (HAProxy's stats-socket levels): `user` shows,
   * `operator` changes traffic (drain, weight), `admin` changes the configuration. Default:
   * `user` for names starting with "show ", else `admin`.
   */
  readonly level?: 'user' | 'operator' | 'admin';
}

export const RUNTIME_COMMAND_SLOT = defineSlot<RuntimeCommand>('runtime.command', { kind: 'object', methods: ['run'], expected: 'a RuntimeCommand (an object with summary, args and run(gateway, args))' });
