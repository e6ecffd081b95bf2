/**
 * 32-bit FNV-1a over UTF-16 code units of `s[start, end)`, finished with murmur3's fmix32
 * so that keys differing in one character land far apart (HAProxy's "avalanche"). Hashing a
 * range lets key extractors skip substring allocation.
 */
export function hashRange(s: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

export function hashString(s: string): number {
  return hashRange(s, 0, s.length);
}

/** murmur3 fmix32: a bijective avalanche of a 32-bit integer. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
