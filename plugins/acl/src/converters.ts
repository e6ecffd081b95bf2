import * as path from 'node:path';
import { patternRef, type PatternRef } from './pattern-refs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { AddressSet, type FetchValue } from '@switchyard/sdk';
import type { ConverterDefinition } from './types';

/**
 * HAProxy's converters (configuration.txt 2.6, section 7.3.1) that configs use most, with
 * HAProxy's semantics: binary results (sha1, b64dec, bytes…) are byte strings (latin1), as
 * header values are; hex/base64 turn them back into text.
 */

const conv = (description: string, arg: ConverterDefinition['arg'], compile: ConverterDefinition['compile']): ConverterDefinition =>
  Object.freeze({ description, arg, compile });

/** Splits converter arguments at commas; `\,` is a literal comma. */
export function converterArgs(arg: string | undefined): string[] {
  if (arg === undefined) return [];
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i]!;
    if (c === '\\' && (arg[i + 1] === ',' || arg[i + 1] === '\\')) {
      cur += arg[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const one = (v: FetchValue): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.length > 0 ? String(v[0]) : undefined;
  return typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
};

const onEach = (f: (s: string) => FetchValue) => (v: FetchValue): FetchValue => {
  if (Array.isArray(v)) return (v as string[]).map((s) => f(s)).filter((x): x is string => typeof x === 'string');
  const s = one(v);
  return s === undefined ? undefined : f(s);
};

function int(name: string, s: string | undefined, dflt?: number): number {
  if (s === undefined || s.trim() === '') {
    if (dflt !== undefined) return dflt;
    throw new Error(`${name} needs an integer argument`);
  }
  if (!/^-?\d+$/.test(s.trim())) throw new Error(`${name}: "${s}" is not an integer`);
  return Number(s.trim());
}

/** Bob Jenkins' full avalanche integer hash, as HAProxy's full_hash(). */
export function fullHash(x: number): number {
  let a = x >>> 0;
  a = (a + 0x7ed55d16 + (a << 12)) >>> 0;
  a = (a ^ 0xc761c23c ^ (a >>> 19)) >>> 0;
  a = (a + 0x165667b1 + (a << 5)) >>> 0;
  a = ((a + 0xd3a2646c) ^ (a << 9)) >>> 0;
  a = (a + 0xfd7046c5 + (a << 3)) >>> 0;
  a = (a ^ 0xb55a4f09 ^ (a >>> 16)) >>> 0;
  // spread over the whole 32-bit space: a prime close to 3/4 of it
  return Math.imul(a, 3221225473) >>> 0;
}

export function djb2(s: string): number {
  let h = 5381;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 33) + (s.charCodeAt(i) & 0xff)) >>> 0;
  return h;
}

/** word()/field(): the index-th part (1-based, negative from the end), `count` parts joined back. */
function pick(name: string, arg: string | undefined, skipEmpty: boolean): (s: string) => string | undefined {
  const [i, delims, c] = converterArgs(arg);
  const index = int(name, i);
  if (index === 0) throw new Error(`${name}: the index starts at 1 (or -1 from the end)`);
  if (!delims) throw new Error(`${name} needs delimiters`);
  const count = int(name, c, 1);
  const set = new Set(delims.split(''));
  return (s) => {
    const parts: string[] = [];
    let cur = '';
    for (const ch of s) {
      if (set.has(ch)) {
        parts.push(cur);
        cur = '';
      } else cur += ch;
    }
    parts.push(cur);
    const list = skipEmpty ? parts.filter((p) => p !== '') : parts;
    const start = index > 0 ? index - 1 : list.length + index - (count === 0 ? 0 : count - 1);
    if (start < 0 || start >= list.length) return undefined;
    const end = count === 0 ? (index > 0 ? list.length : list.length + index + 1) : start + count;
    const sel = index < 0 && count === 0 ? list.slice(0, list.length + index + 1) : list.slice(start, end);
    if (sel.length === 0) return undefined;
    return sel.join(delims[0]);
  };
}

type MapMatch = 'str' | 'beg' | 'sub' | 'dir' | 'dom' | 'end' | 'reg' | 'ip' | 'int';

function mapLookup(match: MapMatch, entries: Array<[string, string]>): (key: string) => string | undefined {
  switch (match) {
    case 'str': {
      const m = new Map<string, string>();
      for (const [k, v] of entries) if (!m.has(k)) m.set(k, v);
      return (key) => m.get(key);
    }
    case 'int': {
      const m = new Map<number, string>();
      for (const [k, v] of entries) if (/^-?\d+$/.test(k) && !m.has(Number(k))) m.set(Number(k), v);
      return (key) => (/^-?\d+$/.test(key) ? m.get(Number(key)) : undefined);
    }
    case 'ip': {
      // longest prefix wins, as HAProxy's tree lookup
      const list = entries.map(([k, v]) => {
        const set = new AddressSet();
        set.add(k);
        const bits = k.includes('/') ? Number(k.split('/')[1]) : net.isIPv6(k) ? 128 : 32;
        return { set, bits: Number.isNaN(bits) ? 32 : bits, v };
      });
      list.sort((a, b) => b.bits - a.bits);
      return (key) => (net.isIP(key) ? list.find((e) => e.set.has(key))?.v : undefined);
    }
    case 'reg': {
      const list = entries.map(([k, v]) => ({ re: new RegExp(k), v }));
      return (key) => list.find((e) => e.re.test(key))?.v;
    }
    case 'beg': {
      // longest matching prefix, as HAProxy's prefix tree
      const list = [...entries].sort((a, b) => b[0].length - a[0].length);
      return (key) => list.find(([k]) => key.startsWith(k))?.[1];
    }
    case 'end':
      return (key) => entries.find(([k]) => key.endsWith(k))?.[1];
    case 'sub':
      return (key) => entries.find(([k]) => key.includes(k))?.[1];
    case 'dir':
      return (key) => entries.find(([k]) => key.split('/').includes(k))?.[1];
    case 'dom':
      return (key) => entries.find(([k]) => key.split('.').includes(k) || key === k)?.[1];
  }
}

function mapConverter(match: MapMatch, out: 'str' | 'int' | 'ip'): ConverterDefinition {
  return conv(`Looks the value up in a map file (${match} match, ${out} result): map${match === 'str' && out === 'str' ? '' : `_${match}${out === 'str' ? '' : `_${out}`}`}(<file>[,<default>]).`, 'required', (arg) => {
    const [file, dflt] = converterArgs(arg);
    if (!file) throw new Error('map needs a map file');
    // The file's pattern reference: `add map`, `del map`, `set map` on the runtime API change it live.
    let ref: PatternRef;
    try {
      ref = patternRef(path.resolve(file), 'map');
    } catch (err) {
      throw new Error(`cannot read map file ${file}: ${(err as Error).message}`);
    }
    let lookup = mapLookup(match, ref.pairs());
    ref.onChange(() => (lookup = mapLookup(match, ref.pairs())));
    return onEach((s) => {
      const v = lookup(s) ?? dflt;
      if (v === undefined) return undefined;
      if (out === 'int') return /^-?\d+$/.test(v) ? v : undefined;
      return v;
    });
  });
}

const MAP_MATCHES: MapMatch[] = ['str', 'beg', 'sub', 'dir', 'dom', 'end', 'reg', 'ip', 'int'];
const maps: Record<string, ConverterDefinition> = { map: mapConverter('str', 'str') };
for (const m of MAP_MATCHES) {
  maps[`map_${m}`] = mapConverter(m, 'str');
  maps[`map_${m}_int`] = mapConverter(m, 'int');
  maps[`map_${m}_ip`] = mapConverter(m, 'ip');
  maps[`map_${m}_str`] = mapConverter(m, 'str');
}

const bin = (s: string): Buffer => Buffer.from(s, 'latin1');

function jsonEscape(s: string, utf8: boolean): string {
  let out = '';
  const text = utf8 ? Buffer.from(s, 'latin1').toString('utf8') : s;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '/') out += '\\/';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c < 0x20 || (!utf8 && c > 0x7e)) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c > 0xffff) {
      const u = c - 0x10000;
      out += `\\u${(0xd800 + (u >> 10)).toString(16)}\\u${(0xdc00 + (u & 0x3ff)).toString(16)}`;
    } else if (utf8 && c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

function ipmask(arg: string | undefined): (s: string) => string | undefined {
  const [m4, m6] = converterArgs(arg);
  if (!m4) throw new Error('ipmask needs an IPv4 mask');
  const bits4 = /^\d+$/.test(m4) ? Number(m4) : m4.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0);
  const bits6 = m6 === undefined ? undefined : Number(m6);
  if (!(bits4 >= 0 && bits4 <= 32) || (bits6 !== undefined && !(bits6 >= 0 && bits6 <= 128))) throw new Error(`ipmask: bad mask "${arg}"`);
  return (s) => {
    if (net.isIPv4(s)) {
      const n = s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
      const mask = bits4 === 0 ? 0 : (0xffffffff << (32 - bits4)) >>> 0;
      const r = (n & mask) >>> 0;
      return [r >>> 24, (r >>> 16) & 255, (r >>> 8) & 255, r & 255].join('.');
    }
    if (net.isIPv6(s) && bits6 !== undefined) {
      const sock = new net.SocketAddress({ address: s, family: 'ipv6' });
      const parts = expand6(sock.address);
      let left = bits6;
      const out = parts.map((p) => {
        const keep = Math.max(0, Math.min(16, left));
        left -= 16;
        return keep === 16 ? p : keep === 0 ? 0 : p & ((0xffff << (16 - keep)) & 0xffff);
      });
      return compress6(out);
    }
    return undefined;
  };
}

function expand6(a: string): number[] {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = a.includes('::') ? 8 - h.length - t.length : 0;
  return [...h, ...Array(fill).fill('0'), ...t].map((x) => parseInt(x, 16));
}

function compress6(p: number[]): string {
  return new net.SocketAddress({ address: p.map((x) => x.toString(16)).join(':'), family: 'ipv6' }).address;
}

export const MORE_CONVERTERS: Readonly<Record<string, ConverterDefinition>> = Object.freeze({
  ...maps,
  word: conv('The n-th word (1-based, negative from the end) split at any of the delimiter characters, empty words skipped: word(<index>,<delimiters>[,<count>]).', 'required', (arg) => onEach(pick('word', arg, true))),
  field: conv('The n-th field (1-based, negative from the end) split at any of the delimiter characters, empty fields counted: field(<index>,<delimiters>[,<count>]).', 'required', (arg) => onEach(pick('field', arg, false))),
  regsub: conv('Replaces the first match of a regex (all with flag g, case-insensitive with i): regsub(<regex>,<subst>[,<flags>]); \\1… in subst.', 'required', (arg) => {
    const [re, subst, flags] = converterArgs(arg);
    if (re === undefined || subst === undefined) throw new Error('regsub needs a regex and a replacement');
    if (flags !== undefined && !/^[ig]*$/.test(flags)) throw new Error(`regsub: unknown flags "${flags}" (i, g)`);
    const rx = new RegExp(re, flags ?? '');
    const rep = subst.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1');
    return onEach((s) => s.replace(rx, rep));
  }),
  iif: conv('A boolean input becomes the first string, anything else the second: iif(<true>,<false>).', 'required', (arg) => {
    const [t, f] = converterArgs(arg);
    if (t === undefined || f === undefined) throw new Error('iif needs two strings');
    return (v) => (v === true || (typeof v === 'number' && v !== 0) || v === '1' || v === 'true' ? t : f);
  }),
  base64: conv('Base64 of the bytes.', 'none', () => onEach((s) => bin(s).toString('base64'))),
  b64dec: conv('Decodes base64 into bytes.', 'none', () => onEach((s) => Buffer.from(s, 'base64').toString('latin1'))),
  hex: conv('Upper-case hexadecimal of the bytes.', 'none', () => onEach((s) => bin(s).toString('hex').toUpperCase())),
  bytes: conv('Bytes from an offset, for a length: bytes(<offset>[,<length>]).', 'required', (arg) => {
    const [o, l] = converterArgs(arg);
    const off = int('bytes', o);
    const len = l === undefined ? undefined : int('bytes', l);
    return onEach((s) => (off >= s.length ? undefined : s.substr(off, len ?? s.length - off)));
  }),
  sha1: conv('SHA-1 digest (20 bytes; follow with hex or base64).', 'none', () => onEach((s) => createHash('sha1').update(bin(s)).digest().toString('latin1'))),
  sha2: conv('SHA-2 digest, 224, 256 (default), 384 or 512 bits: sha2([<bits>]).', 'optional', (arg) => {
    const bits = int('sha2', arg, 256);
    if (![224, 256, 384, 512].includes(bits)) throw new Error('sha2: bits must be 224, 256, 384 or 512');
    return onEach((s) => createHash(`sha${bits}`).update(bin(s)).digest().toString('latin1'));
  }),
  crc32: conv('CRC32 of the bytes, as an integer (avalanche with crc32(1)).', 'optional', (arg) => {
    const av = int('crc32', arg, 0) !== 0;
    return onEach((s) => {
      const h = zlib.crc32(bin(s)) >>> 0;
      return String(av ? fullHash(h) : h);
    });
  }),
  djb2: conv('DJB2 hash of the bytes, as an integer (avalanche with djb2(1)).', 'optional', (arg) => {
    const av = int('djb2', arg, 0) !== 0;
    return onEach((s) => String(av ? fullHash(djb2(s)) : djb2(s)));
  }),
  json: conv('Escapes the value for a JSON string: json([ascii|utf8|utf8s|utf8p|utf8ps]).', 'optional', (arg) => {
    const mode = (arg ?? 'ascii').trim();
    if (!['', 'ascii', 'utf8', 'utf8s', 'utf8p', 'utf8ps'].includes(mode)) throw new Error(`json: unknown input code "${mode}"`);
    const utf8 = mode.startsWith('utf8');
    return onEach((s) => jsonEscape(s, utf8));
  }),
  ipmask: conv('Masks an address: ipmask(<IPv4 mask or bits>[,<IPv6 bits>]).', 'required', (arg) => onEach(ipmask(arg))),
  length: conv('Length of the value in bytes.', 'none', () => onEach((s) => String(s.length))),
  ltrim: conv('Removes the given characters from the start: ltrim(<chars>).', 'required', (arg) => {
    const set = new Set((arg ?? '').split(''));
    return onEach((s) => {
      let i = 0;
      while (i < s.length && set.has(s[i]!)) i++;
      return s.slice(i);
    });
  }),
  rtrim: conv('Removes the given characters from the end: rtrim(<chars>).', 'required', (arg) => {
    const set = new Set((arg ?? '').split(''));
    return onEach((s) => {
      let i = s.length;
      while (i > 0 && set.has(s[i - 1]!)) i--;
      return s.slice(0, i);
    });
  }),
});
