import type { BalancePolicy, ServerGroup, ServerState } from '@switchyard/sdk';

/**
 * HAProxy's `first`: the first server in config order that is usable (available and under
 * its maxconn) takes the request, so servers fill one after the other and the last ones
 * stay idle (and can be powered down) until load needs them. Weights are ignored.
 * Without maxconn the first available server takes everything.
 */
export class FirstPolicy implements BalancePolicy {
  readonly #servers: ReadonlyArray<ServerState>;

  constructor(group: ServerGroup) {
    this.#servers = group.servers;
  }

  select(): ServerState | undefined {
    const servers = this.#servers;
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      if (s.usable) return s;
    }
    return undefined;
  }
}
