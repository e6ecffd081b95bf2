import type { BalancePolicy, ServerGroup, ServerState } from '@switchyard/sdk';

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Static weighted round-robin: a schedule of server positions, one slot per unit of weight
 * (weights divided by their common divisor), spread evenly over the cycle, compiled whenever the
 * server set, a weight or an availability changes. A selection is one array read, so it
 * costs the same for 3 or 1 000 servers; a server at its maxconn is passed over for the
 * next slot, and when none of the next few slots is usable a linear scan finds any.
 */
export class StaticRoundRobinPolicy implements BalancePolicy {
  readonly #servers: ReadonlyArray<ServerState>;
  #schedule: Uint32Array = new Uint32Array(0);
  #position = 0;
  #signature: Int32Array;

  constructor(group: ServerGroup) {
    this.#servers = group.servers;
    this.#signature = new Int32Array(group.servers.length).fill(-1);
  }

  update(): void {
    const servers = this.#servers;
    let changed = false;
    for (let i = 0; i < servers.length; i++) {
      const w = servers[i]!.available ? servers[i]!.weight : 0;
      if (this.#signature[i] !== w) {
        this.#signature[i] = w;
        changed = true;
      }
    }
    if (!changed) return;
    let divisor = 0;
    for (const w of this.#signature) if (w > 0) divisor = gcd(divisor, w);
    if (divisor === 0) {
      this.#schedule = new Uint32Array(0);
      this.#position = 0;
      return;
    }
    let total = 0;
    for (const w of this.#signature) if (w > 0) total += w / divisor;
    // Even interleave: server i's k-th slot sits at (k + ½) / w_i of the cycle, so 1:2:3 runs
    // s3 s2 s1 s3 s2 s3 rather than in bursts. O(total · log total), at build time only.
    const keys = new Float64Array(total);
    const owners = new Uint32Array(total);
    let k = 0;
    for (let i = 0; i < servers.length; i++) {
      const w = this.#signature[i]! / divisor;
      for (let j = 0; j < w; j++, k++) {
        keys[k] = (j + 0.5) / w;
        owners[k] = i;
      }
    }
    const order = Array.from({ length: total }, (_, n) => n).sort((a, b) => keys[a]! - keys[b]! || owners[a]! - owners[b]!);
    const schedule = new Uint32Array(total);
    for (let n = 0; n < total; n++) schedule[n] = owners[order[n]!]!;
    this.#schedule = schedule;
    this.#position = 0;
  }

  select(): ServerState | undefined {
    const schedule = this.#schedule;
    const length = schedule.length;
    if (length === 0) return undefined;
    const servers = this.#servers;
    const tries = Math.min(length, 8);
    for (let t = 0; t < tries; t++) {
      const s = servers[schedule[this.#position]!]!;
      this.#position = this.#position + 1 === length ? 0 : this.#position + 1;
      if (s.usable) return s;
    }
    for (const s of servers) if (s.usable) return s;
    return undefined;
  }
}
