import * as net from 'node:net';

/**
 * HAProxy's hash functions (src/hash.c) and its avalanche (full_hash, Bob Jenkins' 32-bit
 * integer hash), over the bytes of `s[start, end)` (each UTF-16 code unit's low byte: URIs,
 * header values and parameters are ASCII or Node's latin1 byte strings). `hash-type <method>
 * <function> [avalanche]` picks them; the default is map-based sdbm without avalanche.
 */
export type HashFunctionName = 'sdbm' | 'djb2' | 'wt6' | 'crc32';
export type RangeHash = (s: string, start: number, end: number) => number;

export function sdbm(s: string, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = ((s.charCodeAt(i) & 0xff) + (h << 6) + (h << 16) - h) >>> 0;
  return h >>> 0;
}

export function djb2(s: string, start: number, end: number): number {
  let h = 5381;
  for (let i = start; i < end; i++) h = ((h << 5) + h + (s.charCodeAt(i) & 0xff)) >>> 0;
  return h >>> 0;
}

export function wt6(s: string, start: number, end: number): number {
  let h0 = 0xa53c965a;
  let h1 = 0x5ca6953a;
  let step0 = 6;
  let step1 = 18;
  for (let i = start; i < end; i++) {
    let t = s.charCodeAt(i) & 0xff;
    h0 = ~(h0 ^ t) >>> 0;
    h1 = ~((h1 + t) >>> 0) >>> 0;
    // C's shift by 32 on x86 is a shift by 0; JavaScript masks the count the same way.
    t = ((h1 << step0) | (h1 >>> (32 - step0))) >>> 0;
    h1 = ((h0 << step1) | (h0 >>> (32 - step1))) >>> 0;
    h0 = t;
    t = ((h0 >>> 16) ^ h1) & 0xffff;
    step0 = t & 0x1f;
    step1 = t >>> 11;
  }
  return (h0 ^ h1) >>> 0;
}

let CRC_TABLE: Uint32Array | undefined;
export function crc32(s: string, start: number, end: number): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let h = 0xffffffff;
  for (let i = start; i < end; i++) h = CRC_TABLE[(h ^ s.charCodeAt(i)) & 0xff]! ^ (h >>> 8);
  return ~h >>> 0;
}

/**
 * HAProxy's full_hash (include/haproxy/intops.h): Bob Jenkins' 32-bit integer avalanche, then
 * multiplied by the prime 3221225473 "so values spread all around the tree". The `avalanche`
 * modifier, and the position of every consistent-hash node.
 */
export function fullHash(x: number): number {
  let a = x >>> 0;
  a = ((a + 0x7ed55d16) + (a << 12)) >>> 0;
  a = ((a ^ 0xc761c23c) ^ (a >>> 19)) >>> 0;
  a = ((a + 0x165667b1) + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = ((a + 0xfd7046c5) + (a << 3)) >>> 0;
  a = ((a ^ 0xb55a4f09) ^ (a >>> 16)) >>> 0;
  return Math.imul(a, 3221225473 | 0) >>> 0;
}

const FUNCTIONS: Record<HashFunctionName, RangeHash> = { sdbm, djb2, wt6, crc32 };

/** The range hash a backend uses: its function, with the avalanche when asked. */
export function rangeHash(name: HashFunctionName = 'sdbm', avalanche = false): RangeHash {
  const f = FUNCTIONS[name];
  return avalanche ? (s, a, b) => fullHash(f(s, a, b)) : f;
}

/**
 * `balance source` as HAProxy's get_server_sh: the address's 32-bit big-endian words XORed
 * (IPv4: the address itself; IPv4-mapped IPv6 counts as IPv4), then the avalanche if asked.
 */
export function sourceHash(address: string, avalanche = false): number {
  let a = address;
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) a = a.slice(7);
  let h = 0;
  if (net.isIPv4(a)) {
    const p = a.split('.').map(Number);
    h = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
  } else if (net.isIPv6(a)) {
    const words = ipv6Words(a);
    for (let i = 0; i < 8; i += 2) h = (h ^ ((words[i]! << 16) | words[i + 1]!)) >>> 0;
  } else return -1;
  return avalanche ? fullHash(h) : h;
}

function ipv6Words(a: string): number[] {
  const zone = a.indexOf('%');
  const text = zone === -1 ? a : a.slice(0, zone);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (part: string | undefined): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const p = g.split('.').map(Number);
        out.push((p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = parse(tail);
  return tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
}
