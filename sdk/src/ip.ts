// IPv4/IPv6 address sets (CIDR blocks), for plugins that match client addresses (ACLs,
// trusted proxies…). Faster than net.BlockList for per-request checks.
/**
 * IPv4/IPv6 address matching without allocation per check. node:net's BlockList costs
 * microseconds per call (it builds a SocketAddress); an ACL may test the address many times
 * per request.
 */

/** IPv4 text → unsigned 32-bit number, or -1. */
export function parseV4(s: string, start = 0, end = s.length): number {
  let out = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      out = out * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    if (c < 48 || c > 57) return -1;
    if (digits > 0 && part === 0) return -1; // no leading zeros ("010" is ambiguous)
    part = part * 10 + (c - 48);
    if (part > 255 || ++digits > 3) return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return out * 256 + part;
}

/**
 * IPv6 text → four unsigned 32-bit words written into `out`; false when invalid. Accepts
 * `::` compression, an embedded IPv4 tail and a zone (`%eth0`, ignored).
 */
export function parseV6(s: string, out: Uint32Array | number[]): boolean {
  let end = s.indexOf('%');
  if (end === -1) end = s.length;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (end === 2) {
      out[0] = out[1] = out[2] = out[3] = 0;
      return true;
    }
  }
  while (i < end) {
    let j = i;
    let v = 0;
    while (j < end && s.charCodeAt(j) !== 58) j++;
    const piece = j - i;
    if (piece === 0) return false;
    if (j === end && s.indexOf('.', i) !== -1 && s.indexOf('.', i) < end) {
      const v4 = parseV4(s, i, end);
      if (v4 < 0) return false;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
      i = end;
      break;
    }
    if (piece > 4) return false;
    for (let k = i; k < j; k++) {
      const c = s.charCodeAt(k);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
    groups.push(v);
    if (j === end) {
      i = end;
      break;
    }
    // j is at ':'
    if (s.charCodeAt(j + 1) === 58) {
      if (gap !== -1) return false;
      gap = groups.length;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  if (gap === -1 ? groups.length !== 8 : groups.length > 7) return false;
  const full = gap === -1 ? groups : [...groups.slice(0, gap), ...new Array<number>(8 - groups.length).fill(0), ...groups.slice(gap)];
  for (let w = 0; w < 4; w++) out[w] = (full[2 * w]! * 65536 + full[2 * w + 1]!) >>> 0;
  return true;
}

interface V4Block {
  net: number;
  mask: number;
}
interface V6Block {
  words: Uint32Array;
  masks: Uint32Array;
}

function mask32(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/** A compiled list of addresses and CIDR blocks, IPv4 and IPv6. */
export class AddressSet {
  readonly #v4: V4Block[] = [];
  readonly #v6: V6Block[] = [];
  readonly #scratch = new Uint32Array(4);

  /** Adds `addr` or `addr/prefix` (IPv4 also `addr/255.255.0.0`); throws an Error saying why not. */
  add(pattern: string): void {
    const slash = pattern.indexOf('/');
    const addr = slash === -1 ? pattern : pattern.slice(0, slash);
    const bits = slash === -1 ? undefined : pattern.slice(slash + 1);
    const v4 = parseV4(addr);
    if (v4 >= 0) {
      let prefix = 32;
      if (bits !== undefined) {
        if (/^\d+$/.test(bits)) prefix = Number(bits);
        else {
          const m = parseV4(bits);
          const ones = m < 0 ? NaN : 32 - Math.log2(((~m) >>> 0) + 1);
          if (!Number.isInteger(ones)) throw new Error('bad netmask');
          prefix = ones;
        }
        if (!(prefix >= 0 && prefix <= 32)) throw new Error('bad prefix length');
      }
      const mask = mask32(prefix);
      this.#v4.push({ net: (v4 & mask) >>> 0, mask });
      return;
    }
    const words = new Uint32Array(4);
    if (!parseV6(addr, words)) throw new Error('not an IPv4 or IPv6 address');
    let prefix = 128;
    if (bits !== undefined) {
      if (!/^\d+$/.test(bits) || Number(bits) > 128) throw new Error('bad prefix length');
      prefix = Number(bits);
    }
    const masks = new Uint32Array(4);
    for (let w = 0; w < 4; w++) masks[w] = mask32(prefix - 32 * w);
    for (let w = 0; w < 4; w++) words[w] = (words[w]! & masks[w]!) >>> 0;
    this.#v6.push({ words, masks });
  }

  /** True when the address text is in the set (an IPv4-mapped IPv6 address also checks the IPv4 blocks). */
  has(address: string): boolean {
    const v4 = parseV4(address);
    if (v4 >= 0) return this.#hasV4(v4);
    const w = this.#scratch;
    if (!parseV6(address, w)) return false;
    if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff && this.#hasV4(w[3]!)) return true;
    for (const b of this.#v6) {
      if (((w[0]! & b.masks[0]!) >>> 0) === b.words[0] && ((w[1]! & b.masks[1]!) >>> 0) === b.words[1] && ((w[2]! & b.masks[2]!) >>> 0) === b.words[2] && ((w[3]! & b.masks[3]!) >>> 0) === b.words[3]) {
        return true;
      }
    }
    return false;
  }

  #hasV4(ip: number): boolean {
    for (const b of this.#v4) if (((ip & b.mask) >>> 0) === b.net) return true;
    return false;
  }
}
