import type { BalancePolicy, BalancePolicyClass, Exchange, ServerGroup, ServerState } from '@switchyard/sdk';
import { HashErrors } from './errors';
import { mix32 } from './hash';
import type { HashBackendConfig, KeyHasher } from './keys';
import { ConsistentLookup, MapBasedLookup, type HashLookup } from './lookup';

/**
 * A hash policy: the exchange's key → 32-bit hash → server, through a map-based table or a
 * consistent ring compiled when weights or availability change. A request without a key
 * (no such header, parameter…) is spread by weight with a rotating counter, like
 * HAProxy's fallback to round-robin.
 */
export class HashPolicy implements BalancePolicy {
  readonly #servers: ReadonlyArray<ServerState>;
  readonly #key: KeyHasher;
  readonly #lookup: HashLookup;
  readonly #weights: Int32Array;
  #counter = 0;

  constructor(group: ServerGroup, config: HashBackendConfig, key: KeyHasher) {
    this.#servers = group.servers;
    this.#key = key;
    // HAProxy's server id (puid): 1 + the server's place among all of the backend's servers, backups included.
    const backend = group.backend;
    const idOf = (s: ServerState): number => {
      const i = backend.servers.findIndex((x) => x.name === s.name);
      return i === -1 ? 1 + group.servers.indexOf(s) : i + 1;
    };
    this.#lookup = config.hashType === 'consistent' ? new ConsistentLookup(idOf) : new MapBasedLookup();
    this.#weights = new Int32Array(group.servers.length).fill(-1);
  }

  update(): void {
    const servers = this.#servers;
    const weights = this.#weights;
    let changed = false;
    for (let i = 0; i < servers.length; i++) {
      const w = servers[i]!.available ? servers[i]!.weight : 0;
      if (weights[i] !== w) {
        weights[i] = w;
        changed = true;
      }
    }
    if (changed) this.#lookup.rebuild(servers, weights);
  }

  select(exchange: Exchange): ServerState | undefined {
    let h = this.#key(exchange);
    if (h === -1) h = mix32((this.#counter = (this.#counter + 1) | 0));
    return this.#lookup.pick(h);
  }
}

/** Makes the class a `balance` slot holds for one key kind; `makeKey` runs once per backend at load. */
export function hashPolicyClass(
  balance: string,
  httpOnly: boolean,
  makeKey: (config: HashBackendConfig, backend: string) => KeyHasher,
): BalancePolicyClass {
  return class extends HashPolicy {
    constructor(group: ServerGroup, config: HashBackendConfig) {
      if (httpOnly && config.mode !== 'http') throw HashErrors.MODE.with({ location: { path: `backends.${group.backend.name}.balance` } }, group.backend.name, balance);
      super(group, config, makeKey(config, group.backend.name));
    }
  };
}
