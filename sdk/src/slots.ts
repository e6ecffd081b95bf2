import type { GatewayApi } from './plugin';
import type { BackendConfig } from './config';
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

export interface SlotRegistry {
  /** Register `impl` as `name` in `slot`. Register step only; a duplicate is a coded error. */
  provide<T>(slot: string, name: string, impl: T, meta?: SlotMeta): void;
  get<T>(slot: string, name: string): T | undefined;
  names(slot: string): string[];
}

/** Well-known slot names. Plugins may define their own (`acl.fetch`, `health.check`…). */
export const Slots = Object.freeze({
  /** Balancing policies: a `BalancePolicyClass`, named by `backends.<b>.balance`. */
  BALANCE: 'balance',
  /** Config adapters: a `ConfigAdapter`, chosen by file extension or `--adapter`. */
  CONFIG_ADAPTER: 'config.adapter',
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

export const CLI_COMMAND_SLOT = 'cli.command';

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

export const CLUSTER_MASTER_SLOT = 'cluster.master';

export const FETCH_SLOT = 'fetch';

/**
 * A runtime API command (slot `runtime.command`), e.g. `cache purge`: the runtime API
 * plugin exposes every command in the slot to operators and `switchyard admin`.
 */
export interface RuntimeCommand {
  readonly summary: string;
  /** Names of the arguments it reads (for help and validation). */
  readonly args: ReadonlyArray<string>;
  run(gateway: GatewayApi, args: Readonly<Record<string, string>>): Promise<unknown> | unknown;
}

export const RUNTIME_COMMAND_SLOT = 'runtime.command';
