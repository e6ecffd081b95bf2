import type { ServerState } from '@switchyard/sdk';
import { fullHash } from './haproxy-hash';

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

/** HAProxy's BE_WEIGHT_SCALE: effective weights are user weights × 16 (divided by their GCD). */
const WEIGHT_SCALE = 16;

/**
 * HAProxy's map-based hashing (lb_map.c): a table of tot_weight entries, where each usable
 * server's effective weight is (weight × 16 + gcd − 1) / gcd (gcd of the configured weights),
 * filled by recalc_server_map's smooth interleave (each step the server with the highest
 * accumulated score wins, the first declared on a tie); the key's hash modulo the table size
 * picks the entry. Same servers and weights, same hash: the same server as HAProxy.
 */
export class MapBasedLookup implements HashLookup {
  #table: ServerState[] = [];
  #alive: ServerState[] = [];

  rebuild(servers: ReadonlyArray<ServerState>, weights: Int32Array): void {
    // The GCD HAProxy takes once, of the configured weights (init_server_map).
    let pgcd = 0;
    for (const s of servers) if (s.config.weight > 0) pgcd = pgcd === 0 ? s.config.weight : gcd(pgcd, s.config.weight);
    if (pgcd === 0) pgcd = 1;
    const eweights = new Int32Array(servers.length);
    let tot = 0;
    const alive: ServerState[] = [];
    for (let i = 0; i < servers.length; i++) {
      const w = weights[i]!;
      if (w <= 0) continue;
      eweights[i] = Math.floor((w * WEIGHT_SCALE + pgcd - 1) / pgcd);
      tot += eweights[i]!;
      alive.push(servers[i]!);
    }
    const table: ServerState[] = new Array(tot);
    const score = new Float64Array(servers.length);
    for (let o = 0; o < tot; o++) {
      let best = -1;
      let max = 0;
      for (let i = 0; i < servers.length; i++) {
        if (eweights[i]! <= 0) continue;
        if (tot === 1) {
          best = i;
          break;
        }
        score[i]! += eweights[i]!;
        const v = Math.trunc((score[i]! + tot) / tot);
        if (best === -1 || v > max) {
          max = v;
          best = i;
        }
      }
      table[o] = servers[best]!;
      score[best]! -= tot;
    }
    this.#table = table;
    this.#alive = alive;
  }

  pick(hash: number): ServerState | undefined {
    const table = this.#table;
    if (table.length === 0) return undefined;
    const s = table[hash % table.length]!;
    return s.usable ? s : nextUsable(this.#alive, this.#alive.indexOf(s));
  }
}

/** Ring points per unit of weight: HAProxy's BE_WEIGHT_SCALE (lb_chash.c gives a server weight × 16 nodes). */
export const POINTS_PER_WEIGHT = 16;
/** HAProxy's SRV_EWGHT_RANGE (256 × 16): node k of the server with id p sits at full_hash(p × 4096 + k). */
const EWGHT_RANGE = 4096;
/** Points and owners compare as one double while merging: point · 2^20 + owner. */
const OWNER_SPACE = 1048576;

/**
 * Sorts (key, value) pairs by key, stably, in place: LSD radix sort on 8-bit digits, four
 * passes, O(n). Pairs generated in owner order thus stay in owner order among equal points.
 */
export function radixSortPairs(keys: Uint32Array, values: Uint32Array): void {
  const n = keys.length;
  if (n < 2) return;
  let srcK: Uint32Array = keys;
  let srcV: Uint32Array = values;
  let dstK: Uint32Array = new Uint32Array(n);
  let dstV: Uint32Array = new Uint32Array(n);
  const counts = new Uint32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(srcK[i]! >>> shift) & 255]!++;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = srcK[i]!;
      const at = counts[(k >>> shift) & 255]!++;
      dstK[at] = k;
      dstV[at] = srcV[i]!;
    }
    [srcK, dstK] = [dstK, srcK];
    [srcV, dstV] = [dstV, srcV];
  }
  // Four passes: the sorted data is back in the caller's arrays.
}

/**
 * Consistent hashing as HAProxy 2.6's lb_chash.c: the server with id p (its place in the
 * backend, 1 for the first declared, HAProxy's puid) and weight w owns w × 16 points on a
 * 32-bit ring, node k at full_hash(p × 4096 + k); a key goes to the point CLOSEST to its
 * hash, before or after it (the one before on a tie), as chash_get_server_hash picks. Same
 * servers, weights and key hash: the same server as HAProxy. A server that leaves takes
 * only its own points with it, so only the keys it held (about 1/N) move; one that gains
 * weight gains points without moving anyone else's.
 *
 * Changes apply incrementally: the points servers gained or lost are radix-sorted on their
 * own and one merge pass over the ring drops or weaves them in — O(points), so the first
 * build, slow-start steps and health flaps stay cheap on large farms.
 */
export class ConsistentLookup implements HashLookup {
  #points: Uint32Array = new Uint32Array(0);
  /** Index in the group's servers of each point's owner. */
  #owners: Uint32Array = new Uint32Array(0);
  /** Points each server owns now. */
  #counts: Int32Array = new Int32Array(0);
  #perWeight = 0;
  #servers: ReadonlyArray<ServerState> = [];
  /** Each server's point positions, computed once and extended as its weight grows. */
  readonly #pointsOf = new Map<string, Uint32Array>();
  /** A server's HAProxy id (puid): 1 + its place among the backend's servers. */
  readonly #idOf: (s: ServerState) => number;

  constructor(idOf: (s: ServerState) => number = () => 1) {
    this.#idOf = idOf;
  }

  #serverPoints(server: ServerState, count: number): Uint32Array {
    const known = this.#pointsOf.get(server.name);
    if (known !== undefined && known.length >= count) return known;
    const out = new Uint32Array(count);
    const from = known?.length ?? 0;
    if (known !== undefined) out.set(known);
    const base = this.#idOf(server) * EWGHT_RANGE;
    for (let k = from; k < count; k++) out[k] = fullHash(base + k);
    this.#pointsOf.set(server.name, out);
    return out;
  }

  rebuild(servers: ReadonlyArray<ServerState>, weights: Int32Array): void {
    const perWeight = POINTS_PER_WEIGHT;
    if (servers !== this.#servers || perWeight !== this.#perWeight || this.#counts.length !== servers.length) {
      // A new group or a new scale: start from an empty ring.
      this.#servers = servers;
      this.#perWeight = perWeight;
      this.#counts = new Int32Array(servers.length);
      this.#points = new Uint32Array(0);
      this.#owners = new Uint32Array(0);
    }
    const old = this.#counts;
    const counts = new Int32Array(servers.length);
    let added = 0;
    let removed = 0;
    for (let i = 0; i < servers.length; i++) {
      counts[i] = Math.max(0, weights[i]!) * perWeight;
      if (counts[i]! > old[i]!) added += counts[i]! - old[i]!;
      else removed += old[i]! - counts[i]!;
    }
    // Points gained and lost, each list sorted on its own (by point, then owner).
    const gainedPoints = new Uint32Array(added);
    const gainedOwners = new Uint32Array(added);
    const lostPoints = new Uint32Array(removed);
    const lostOwners = new Uint32Array(removed);
    let g = 0;
    let l = 0;
    for (let i = 0; i < servers.length; i++) {
      if (counts[i]! === old[i]!) continue;
      const own = this.#serverPoints(servers[i]!, Math.max(counts[i]!, old[i]!));
      if (counts[i]! > old[i]!) {
        for (let k = old[i]!; k < counts[i]!; k++) {
          gainedPoints[g] = own[k]!;
          gainedOwners[g++] = i;
        }
      } else {
        for (let k = counts[i]!; k < old[i]!; k++) {
          lostPoints[l] = own[k]!;
          lostOwners[l++] = i;
        }
      }
    }
    radixSortPairs(gainedPoints, gainedOwners);
    radixSortPairs(lostPoints, lostOwners);
    // One merge pass over the ring (already in the same order): drop the lost, weave in the gained.
    // Pairs compare as one number, point · 2^20 + owner (exact in a double).
    const points = this.#points;
    const owners = this.#owners;
    const total = points.length + added - removed;
    const outPoints = new Uint32Array(total);
    const outOwners = new Uint32Array(total);
    let a = 0;
    let b = 0;
    let r = 0;
    let n = 0;
    while (a < points.length || b < added) {
      const kept = a < points.length ? points[a]! * OWNER_SPACE + owners[a]! : Infinity;
      if (a < points.length && r < removed) {
        while (r < removed && lostPoints[r]! * OWNER_SPACE + lostOwners[r]! < kept) r++;
        if (r < removed && lostPoints[r]! * OWNER_SPACE + lostOwners[r]! === kept) {
          r++;
          a++;
          continue;
        }
      }
      if (b >= added || kept < gainedPoints[b]! * OWNER_SPACE + gainedOwners[b]!) {
        outPoints[n] = points[a]!;
        outOwners[n] = owners[a]!;
        a++;
      } else {
        outPoints[n] = gainedPoints[b]!;
        outOwners[n] = gainedOwners[b]!;
        b++;
      }
      n++;
    }
    this.#points = outPoints;
    this.#owners = outOwners;
    this.#counts = counts;
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
    // The first point at or after the hash (wrapping) and the one before it: the closer wins,
    // the one before on a tie (distances on the 32-bit ring, as HAProxy's unsigned arithmetic).
    const next = lo === length ? 0 : lo;
    const prev = next === 0 ? length - 1 : next - 1;
    const dp = (hash - points[prev]!) >>> 0;
    const dn = (points[next]! - hash) >>> 0;
    let at = dp <= dn ? prev : next;
    // A full server (maxconn) passes the key on along the ring, a bounded number of steps.
    const servers = this.#servers;
    const steps = Math.min(length, 4 * servers.length);
    for (let k = 0; k < steps; k++) {
      const s = servers[this.#owners[at]!]!;
      if (s.usable) return s;
      at = at + 1 === length ? 0 : at + 1;
    }
    const counts = this.#counts;
    const from = this.#owners[at]!;
    for (let k = 1; k <= servers.length; k++) {
      const i = (from + k) % servers.length;
      if (counts[i]! > 0 && servers[i]!.usable) return servers[i];
    }
    return undefined;
  }
}
