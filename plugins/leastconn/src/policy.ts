import type { BalancePolicy, ServerGroup, ServerState } from '@switchyard/sdk';

/** A per-server count of requests waiting for that very server, when the core keeps one. */
type WithQueued = ServerState & { readonly queued?: number };

/**
 * Weighted least connections, as HAProxy computes it: an idle server scores 0, a busy one
 * (load + 1) / weight, where load is the requests in flight plus any queued for that server.
 * The lowest score wins; among equal scores the server picked longest ago wins, so idle
 * servers take turns. Active counts change outside the policy on every request, so each
 * selection is one pass over the group (no lookup structure to keep in step).
 */
export class LeastConnPolicy implements BalancePolicy {
  readonly #servers: ReadonlyArray<WithQueued>;
  readonly #lastPicked: Float64Array;
  #sequence = 0;

  constructor(group: ServerGroup) {
    this.#servers = group.servers;
    this.#lastPicked = new Float64Array(group.servers.length);
  }

  select(): ServerState | undefined {
    const servers = this.#servers;
    const last = this.#lastPicked;
    let best = -1;
    // Score as a fraction bestLoad / bestWeight, compared by cross-multiplication.
    let bestLoad = 0;
    let bestWeight = 1;
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      if (!s.usable) continue;
      const inflight = s.active + (s.queued ?? 0);
      const load = inflight === 0 ? 0 : inflight + 1;
      const weight = s.weight;
      if (best === -1) {
        best = i;
        bestLoad = load;
        bestWeight = weight;
        continue;
      }
      const a = load * bestWeight;
      const b = bestLoad * weight;
      if (a < b || (a === b && last[i]! < last[best]!)) {
        best = i;
        bestLoad = load;
        bestWeight = weight;
      }
    }
    if (best === -1) return undefined;
    last[best] = ++this.#sequence;
    return servers[best];
  }
}
