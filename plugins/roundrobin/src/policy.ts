import type { BalancePolicy, ServerGroup, ServerState } from '@switchyard/sdk';

/**
 * Smooth weighted round-robin (as nginx does it): over any window of sum(weights)
 * selections each server gets exactly its weight's share, interleaved rather than in
 * bursts. Servers that are unusable right now (down, drained, at maxconn) are skipped
 * without disturbing the others' shares. Weights are read live, so runtime changes apply
 * on the next selection.
 */
export class RoundRobinPolicy implements BalancePolicy {
  readonly #servers: ReadonlyArray<ServerState>;
  #current: Float64Array;

  constructor(group: ServerGroup) {
    this.#servers = group.servers;
    this.#current = new Float64Array(group.servers.length);
  }

  update(): void {
    this.#current = new Float64Array(this.#servers.length);
  }

  select(): ServerState | undefined {
    const servers = this.#servers;
    const current = this.#current;
    let best = -1;
    let total = 0;
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      if (!s.usable) continue;
      current[i]! += s.weight;
      total += s.weight;
      if (best === -1 || current[i]! > current[best]!) best = i;
    }
    if (best === -1) return undefined;
    current[best]! -= total;
    return servers[best];
  }
}
