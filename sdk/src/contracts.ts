/**
 * Typed contracts between plugins. A plugin that offers something to others (a service, a
 * per-exchange or per-server value, a slot) defines its token or key once, exports it from
 * its own package, and consumers import it (declaring the owner as a peer dependency). No
 * string key is spelled in two packages, and the compiler checks both sides.
 */

declare const kType: unique symbol;

/** A service one plugin offers others in a gateway generation: `defineService<T>(id)`. */
export interface ServiceToken<T> {
  readonly kind: 'service';
  /** Unique, namespaced by the owner: `switchyard.health-check.control`. */
  readonly id: string;
  readonly description: string;
  /** Phantom: carries T for the compiler only. */
  readonly [kType]?: T;
}

export function defineService<T>(id: string, description = ''): ServiceToken<T> {
  if (typeof id !== 'string' || id === '') throw new TypeError('a service token needs a non-empty id');
  return Object.freeze({ kind: 'service', id, description }) as ServiceToken<T>;
}

/** What `services.provide` accepts besides the value. */
export interface ServiceOptions<T> {
  /**
   * Called once when the gateway generation that owns the service stops (after every
   * plugin's stop step, in reverse order of provision). Close sockets, clear timers.
   */
  dispose?(value: T): void | Promise<void>;
}

/**
 * A gateway generation's services. Each generation (the first start, then every reload) has
 * its own registry: a reload builds a fresh graph beside the old one, and the old one's
 * services are disposed when it stops. Resolve at provision/apply time and keep the result;
 * never per request.
 */
export interface Services {
  /**
   * Offers `token` for this generation: a value, or a factory called once on first `get`.
   * A second provider of the same token is a coded error (`SWY_ERR_SERVICE_DUPLICATE`).
   */
  provide<T>(token: ServiceToken<T>, value: T, options?: ServiceOptions<T>): void;
  provideFactory<T>(token: ServiceToken<T>, factory: () => T, options?: ServiceOptions<T>): void;
  /** The service; a coded error (`SWY_ERR_SERVICE_MISSING`) naming the token if no loaded plugin offers it. */
  get<T>(token: ServiceToken<T>): T;
  /** The service, or undefined when no loaded plugin offers it (optional dependencies). */
  find<T>(token: ServiceToken<T>): T | undefined;
  has(token: ServiceToken<unknown>): boolean;
}

/** Something plugins hang values on: `exchange.vars`, `server.data`, `connection.data`… */
export type StateHolder = { readonly vars: Map<string, unknown> } | { readonly data: Map<string | symbol, unknown> };

/**
 * A typed key for per-exchange (or per-server, per-connection) state: `defineKey<T>(id)`.
 * `key.get(ex)` reads `ex.vars`; on objects with a `data` map (servers, backends,
 * connections) it reads that.
 */
export interface StateKey<T> {
  readonly kind: 'state';
  readonly id: string;
  get(holder: StateHolder): T | undefined;
  set(holder: StateHolder, value: T): void;
  delete(holder: StateHolder): boolean;
  readonly [kType]?: T;
}

function mapOf(holder: StateHolder): Map<string | symbol, unknown> {
  return ('data' in holder ? holder.data : holder.vars) as Map<string | symbol, unknown>;
}

export function defineKey<T>(id: string): StateKey<T> {
  if (typeof id !== 'string' || id === '') throw new TypeError('a state key needs a non-empty id');
  return Object.freeze({
    kind: 'state',
    id,
    get: (holder: StateHolder) => mapOf(holder).get(id) as T | undefined,
    set: (holder: StateHolder, value: T) => void mapOf(holder).set(id, value),
    delete: (holder: StateHolder) => mapOf(holder).delete(id),
  }) as StateKey<T>;
}
