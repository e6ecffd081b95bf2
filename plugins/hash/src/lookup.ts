import type { ServerState } from '@switchyard/sdk';
import { hashString } from './hash';

/** Turns a 32-bit key hash into a server of the group; rebuilt when weights or availability change. */
export interface HashLookup {
  rebuild(servers: ReadonlyArray<ServerState>, weights: Int32Array): void;
  /** A usable server for the hash, or undefined when none is usable. */
  pick(hash: number): ServerState | undefined;
}

/** First usable server after position `from` in `alive`, wrapping: a bounded fallback. */
function nextUsable(alive: ReadonlyArray<ServerState>, from: number): ServerState | undefined {
  for (let k = 1; k <= alive.length; k++) {
    const s = alive[(from + k) % alive.length]!;
    if (s.usable) return s;
  }
  return undefined;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * HAProxy's map-based hashing: a table with each available server repeated weight times
 * (weights divided by their common divisor); the key's hash modulo the table size picks
 * the entry. O(1), perfectly spread, but any change of the server set remaps most keys.
 */
export class MapBasedLookup implements HashLookup {
  #table: Uint32Array = new Uint32Array(0);
  #alive: ServerState[] = [];
  /** Position in #alive of the server at each table entry. */
  #aliveIndex: Uint32Array = new Uint32Array(0);

  rebuild(servers: ReadonlyArray<ServerState>, weights: Int32Array): void {
    let divisor = 0;
    for (const w of weights) if (w > 0) divisor = gcd(divisor, w);
    const alive: ServerState[] = [];
    const table: number[] = [];
    const aliveIndex: number[] = [];
    for (let i = 0; i < servers.length; i++) {
      const w = weights[i]!;
      if (w <= 0) continue;
      for (let k = 0; k < w / divisor; k++) {
        table.push(i);
        aliveIndex.push(alive.length);
      }
      alive.push(servers[i]!);
    }
    this.#table = Uint32Array.from(table);
    this.#aliveIndex = Uint32Array.from(aliveIndex);
    this.#alive = alive;
  }

  pick(hash: number): ServerState | undefined {
    const table = this.#table;
    if (table.length === 0) return undefined;
    const slot = hash % table.length;
    const s = this.#alive[this.#aliveIndex[slot]!]!;
    return s.usable ? s : nextUsable(this.#alive, this.#aliveIndex[slot]!);
  }
}

/** Ring points per unit of weight (a weight-1 server owns this many arcs of the ring). */
export const POINTS_PER_WEIGHT = 100;
/** Above this many points in all, every server's count is scaled down to fit. */
const MAX_POINTS = 1 << 21;

/**
 * Consistent hashing: each available server owns weight × 100 points on a 32-bit ring,
 * placed by hashing `<server name>#<n>`; a key goes to the owner of the first point at or
 * after its hash (binary search, O(log points)). A server that leaves takes only its own
 * arcs with it, so only the keys it held (about 1/N) move; one that gains weight gains
 * points without moving anyone else's. Points depend on server names only, so every
 * gateway process builds the same ring.
 */
export class ConsistentLookup implements HashLookup {
  #points: Uint32Array = new Uint32Array(0);
  #owners: Uint32Array = new Uint32Array(0);
  #alive: ServerState[] = [];

  rebuild(servers: ReadonlyArray<ServerState>, weights: Int32Array): void {
    let totalWeight = 0;
    for (const w of weights) if (w > 0) totalWeight += w;
    const perWeight = Math.max(1, Math.min(POINTS_PER_WEIGHT, Math.floor(MAX_POINTS / Math.max(1, totalWeight))));
    const alive: ServerState[] = [];
    let count = 0;
    for (const w of weights) if (w > 0) count += w * perWeight;
    // Pack (point, owner) into one double so a typed-array sort orders both: point · 2^20 + owner.
    const packed = new Float64Array(count);
    let n = 0;
    for (let i = 0; i < servers.length; i++) {
      const w = weights[i]!;
      if (w <= 0) continue;
      const owner = alive.length;
      const name = servers[i]!.name;
      for (let k = 0; k < w * perWeight; k++) packed[n++] = hashString(`${name}#${k}`) * 1048576 + owner;
      alive.push(servers[i]!);
    }
    packed.sort();
    const points = new Uint32Array(count);
    const owners = new Uint32Array(count);
    for (let k = 0; k < count; k++) {
      const v = packed[k]!;
      const point = Math.floor(v / 1048576);
      points[k] = point;
      owners[k] = v - point * 1048576;
    }
    this.#points = points;
    this.#owners = owners;
    this.#alive = alive;
  }

  pick(hash: number): ServerState | undefined {
    const points = this.#points;
    const length = points.length;
    if (length === 0) return undefined;
    let lo = 0;
    let hi = length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    let at = lo === length ? 0 : lo;
    // A full server (maxconn) passes the key on along the ring, a bounded number of steps.
    const alive = this.#alive;
    const steps = Math.min(length, 4 * alive.length);
    for (let k = 0; k < steps; k++) {
      const s = alive[this.#owners[at]!]!;
      if (s.usable) return s;
      at = at + 1 === length ? 0 : at + 1;
    }
    return nextUsable(alive, this.#owners[at]!);
  }
}
