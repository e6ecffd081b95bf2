import type { BackendConfig, BalancePolicy, ServerGroup, ServerState } from '@switchyard/sdk';
import type { RandomOptions } from './schema';

export type { RandomOptions };

/** A per-server count of requests waiting for that very server, when the core keeps one. */
type WithQueued = ServerState & { readonly queued?: number };

/**
 * HAProxy's `random(<draws>)`: draw `draws` servers at random in proportion to their
 * weight and keep the least loaded ((in flight + queued) / weight). Two draws — the "power
 * of two choices" — already keep loads close to even with no shared state; one draw is
 * plain weighted random. Each draw is a binary search in cumulative weights compiled when
 * weights or availability change: O(draws · log n).
 */
export class RandomPolicy implements BalancePolicy {
  readonly #servers: ReadonlyArray<WithQueued>;
  readonly #draws: number;
  /** cumulative[k] = sum of weights of members[0..k]. */
  #cumulative: Float64Array = new Float64Array(0);
  #members: Uint32Array = new Uint32Array(0);
  #total = 0;

  constructor(group: ServerGroup, config: BackendConfig & RandomOptions) {
    this.#servers = group.servers;
    this.#draws = Math.max(1, config.randomDraws ?? 2);
  }

  update(): void {
    const servers = this.#servers;
    const cumulative: number[] = [];
    const members: number[] = [];
    let total = 0;
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      if (!s.available) continue;
      total += s.weight;
      cumulative.push(total);
      members.push(i);
    }
    this.#cumulative = Float64Array.from(cumulative);
    this.#members = Uint32Array.from(members);
    this.#total = total;
  }

  #draw(): WithQueued {
    const c = this.#cumulative;
    const r = Math.random() * this.#total;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return this.#servers[this.#members[lo]!]!;
  }

  select(): ServerState | undefined {
    if (this.#total === 0) return undefined;
    let best: WithQueued | undefined;
    // Draws that land on a full server are retried a bounded number of times.
    for (let d = 0, tries = 0; d < this.#draws && tries < this.#draws * 4; tries++) {
      const s = this.#draw();
      if (!s.usable) continue;
      d++;
      if (best === undefined || best === s) {
        best = s;
        continue;
      }
      if ((s.active + (s.queued ?? 0)) * best.weight < (best.active + (best.queued ?? 0)) * s.weight) best = s;
    }
    if (best !== undefined) return best;
    for (const s of this.#servers) if (s.usable) return s;
    return undefined;
  }
}
