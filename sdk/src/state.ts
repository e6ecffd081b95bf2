import type { BackendConfig, FrontendConfig, Mode, ServerConfig } from './config';

/** What an operator set: ready takes traffic; drain keeps existing (sticky) users only; maint takes none. */
export type AdminState = 'ready' | 'drain' | 'maint';
/** What health checks found. */
export type HealthState = 'up' | 'down';

export interface ServerCounters {
  /** HTTP requests or TCP sessions sent to this server. */
  sessions: number;
  /** Failed exchanges (connect errors, resets, timeouts) attributed to this server. */
  errors: number;
  bytesIn: number;
  bytesOut: number;
  /** Responses by status class, index 1..5 (index 0 = other). */
  responses: [number, number, number, number, number, number];
}

/**
 * One server of a backend. Health checks, the runtime API and slow start write it through
 * the methods; balancing policies only read it.
 */
export interface ServerState {
  readonly backend: string;
  readonly name: string;
  /** `backend/name`, unique in a gateway. */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly backup: boolean;
  readonly config: ServerConfig;
  /** Effective weight, changeable at run time (0–256). */
  readonly weight: number;
  readonly maxconn: number;
  readonly admin: AdminState;
  readonly health: HealthState;
  /** up, ready and weight > 0. */
  readonly available: boolean;
  /** Requests or connections in flight on this server. */
  readonly active: number;
  /** available and under maxconn: a policy may pick it now. */
  readonly usable: boolean;
  /** Time (ms since epoch) of the last admin or health change. */
  readonly lastChange: number;
  readonly counters: ServerCounters;
  /** Per-server data for plugins, keyed by a symbol or a namespaced string. */
  readonly data: Map<string | symbol, unknown>;
  setWeight(weight: number, reason?: string): void;
  setAdmin(state: AdminState, reason?: string): void;
  setHealth(state: HealthState, reason?: string): void;
  /**
   * Points the server at another address (the runtime API's `set server addr`, a DNS
   * resolver): new connections go there; exchanges in flight finish where they are.
   * Emits a `server-change` with `what: 'addr'` (`from`/`to` are `host:port`). Throws on a
   * host that is empty or a port outside 1-65535.
   */
  setAddress(host: string, port?: number, reason?: string): void;
}

/** What a `server-change` event carries. */
export interface ServerChange {
  server: ServerState;
  what: 'weight' | 'admin' | 'health' | 'addr' | 'added' | 'removed';
  from: string | number;
  to: string | number;
  reason?: string;
}

export interface BackendState {
  readonly name: string;
  readonly mode: Mode;
  readonly config: BackendConfig;
  readonly servers: ReadonlyArray<ServerState>;
  /** Requests waiting for a server slot. */
  readonly queued: number;
  server(name: string): ServerState | undefined;
  readonly data: Map<string | symbol, unknown>;
  /**
   * Adds a server at run time (runtime API): it takes traffic at once; policies rebuild.
   * Throws on a duplicate name or a bad address. Health checks configured at load do not
   * cover it until the next reload.
   */
  addServer(server: { name: string; address: string; weight?: number; maxconn?: number; backup?: boolean }): ServerState;
  /** Removes a server: no new traffic; exchanges in flight on it finish. */
  removeServer(name: string): ServerState;
}

export interface FrontendState {
  readonly name: string;
  readonly mode: Mode;
  readonly config: FrontendConfig;
  /** Connections open on this frontend now. */
  readonly connections: number;
  /** Listening addresses once started (port resolved when bound to 0). */
  readonly addresses: ReadonlyArray<{ host: string; port: number; tls: boolean }>;
  readonly data: Map<string | symbol, unknown>;
}
