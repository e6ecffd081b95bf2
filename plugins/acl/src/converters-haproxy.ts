import * as crypto from 'node:crypto';
import type { Exchange, FetchValue } from '@switchyard/sdk';
import type { ConverterDefinition } from './types';

/*
 * More of HAProxy's converters (sample.c), beside converters.ts: digest, hmac, base64url,
 * be2dec/be2hex, add_item, concat, strcmp.
 *
 * Binary samples are carried as "byte strings": one character per byte (latin1), which is
 * also how Node hands raw header bytes over, so a header value, a variable and a digest all
 * read back as the same bytes.
 */

const conv = (description: string, arg: ConverterDefinition['arg'], compile: ConverterDefinition['compile']): ConverterDefinition =>
  Object.freeze({ description, arg, compile });

const bytesOf = (s: string): Buffer => Buffer.from(s, 'latin1');
const byteString = (b: Buffer | Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** A scalar sample as a string (HAProxy casts int/bool to str); undefined when there is none. */
function scalar(v: FetchValue): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return (v as string[])[0];
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** Converter arguments as HAProxy reads them: commas separate, quotes group, a backslash escapes. */
export function splitArgs(arg: string | undefined): string[] {
  if (arg === undefined) return [];
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i]!;
    if (c === '\\' && i + 1 < arg.length) cur += arg[++i];
    else if (quote) {
      if (c === quote) quote = null;
      else cur += c;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const VAR_SCOPE = /^(proc|sess|txn|req|res)\.[A-Za-z0-9._-]+$/;

/** A variable's value as a string, or undefined. */
function readVar(ex: Exchange | undefined, name: string): string | undefined {
  const v = ex?.vars.get(name);
  return typeof v === 'string' || typeof v === 'number' ? String(v) : typeof v === 'boolean' ? (v ? '1' : '0') : undefined;
}

function intArg(name: string, value: string | undefined, min: number, max: number, dflt?: number): number {
  if ((value === undefined || value === '') && dflt !== undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer ${min}-${max} (got "${value ?? ''}")`);
  return n;
}

function digestConverter(algorithm: string): (v: FetchValue) => FetchValue {
  return (v) => {
    const s = scalar(v);
    return s === undefined ? undefined : byteString(crypto.createHash(algorithm).update(bytesOf(s)).digest());
  };
}

/** Checks at load that OpenSSL knows the digest (the name HAProxy passes to EVP_get_digestbyname). */
function knownDigest(name: string): string {
  const n = name.toLowerCase();
  if (!crypto.getHashes().includes(n)) throw new Error(`unknown digest "${name}" (OpenSSL names: sha1, sha256, md5…)`);
  return n;
}

/** Binary → numbers or hex per chunk of bytes, with a separator (HAProxy be2dec / be2hex). */
function chunked(arg: string | undefined, what: 'be2dec' | 'be2hex'): (v: FetchValue) => FetchValue {
  const [sepArg, sizeArg, truncArg] = splitArgs(arg);
  const sep = sepArg ?? '';
  const size = what === 'be2dec' ? intArg('chunk size', sizeArg, 1, 8) : intArg('chunk size', sizeArg, 1, 1 << 30, 1);
  const truncate = truncArg !== undefined && truncArg !== '' && truncArg !== '0';
  return (v) => {
    const s = scalar(v);
    if (s === undefined) return undefined;
    const b = bytesOf(s);
    const parts: string[] = [];
    for (let i = 0; i < b.length; i += size) {
      const chunk = b.subarray(i, Math.min(i + size, b.length));
      if (chunk.length < size && truncate) break;
      if (what === 'be2hex') parts.push(chunk.toString('hex').toUpperCase());
      else {
        let n = 0n;
        for (const x of chunk) n = (n << 8n) | BigInt(x);
        parts.push(n.toString());
      }
    }
    return parts.join(sep);
  };
}

/** These converters; the acl plugin registers them in the `acl.converter` slot (converters.ts wins on a shared name). */
export const HAPROXY_CONVERTERS: Readonly<Record<string, ConverterDefinition>> = Object.freeze({
  ub64enc: conv('Binary (or string) → base64url without padding.', 'none', () => (v) => {
    const s = scalar(v);
    return s === undefined ? undefined : bytesOf(s).toString('base64url');
  }),
  ub64dec: conv('base64url → binary.', 'none', () => (v) => {
    const s = scalar(v);
    return s === undefined ? undefined : byteString(Buffer.from(s, 'base64url'));
  }),
  digest: conv('Digest of the value with an OpenSSL algorithm: digest(sha256), digest(md5)…; binary.', 'required', (arg) => digestConverter(knownDigest(arg ?? ''))),
  hmac: conv('HMAC of the value: hmac(<algorithm>,<base64 key or variable holding it>); binary.', 'required', (arg) => {
    const [alg = '', key = ''] = splitArgs(arg);
    const algorithm = knownDigest(alg);
    if (key === '') throw new Error('hmac needs a key: hmac(<algorithm>,<base64 key or variable>)');
    const fixed = VAR_SCOPE.test(key) ? undefined : Buffer.from(key, 'base64');
    return (v, ex) => {
      const s = scalar(v);
      if (s === undefined) return undefined;
      const b64 = fixed ? undefined : readVar(ex, key);
      const k = fixed ?? (b64 === undefined ? undefined : Buffer.from(b64, 'base64'));
      if (k === undefined) return undefined;
      return byteString(crypto.createHmac(algorithm, k).update(bytesOf(s)).digest());
    };
  }),
  be2dec: conv('Binary → one unsigned big-endian integer per <chunk_size> bytes: be2dec(<separator>,<chunk_size>[,<truncate>]).', 'required', (arg) => chunked(arg, 'be2dec')),
  be2hex: conv('Binary → hexadecimal per chunk: be2hex([<separator>][,<chunk_size>][,<truncate>]).', 'optional', (arg) => chunked(arg, 'be2hex')),
  add_item: conv('add_item(<delimiter>[,<variable>][,<suffix>]): appends the variable\'s value and the suffix, after the delimiter when the input is not empty.', 'required', (arg) => {
    const [delim = '', varName = '', suffix = ''] = splitArgs(arg);
    if (varName !== '' && !VAR_SCOPE.test(varName)) throw new Error(`"${varName}" is not a variable name (txn.x, sess.x…)`);
    return (v, ex) => {
      const s = scalar(v) ?? '';
      const item = (varName === '' ? '' : readVar(ex, varName) ?? '') + suffix;
      if (item === '') return s;
      return s === '' ? item : s + delim + item;
    };
  }),
  concat: conv('concat([<start>][,<variable>][,<end>]): the value with a string, a variable and a string appended.', 'optional', (arg) => {
    const [start = '', varName = '', end = ''] = splitArgs(arg);
    return (v, ex) => {
      const s = scalar(v);
      if (s === undefined) return undefined;
      return s + start + (varName === '' ? '' : readVar(ex, varName) ?? '') + end;
    };
  }),
  strcmp: conv('strcmp(<variable>): 0 when equal, else negative or positive as in C\'s strcmp.', 'required', (arg) => {
    const name = (arg ?? '').trim();
    return (v, ex) => {
      const s = scalar(v);
      const o = readVar(ex, name);
      if (s === undefined || o === undefined) return undefined;
      const c = Buffer.compare(bytesOf(s), bytesOf(o));
      return c;
    };
  }),
});
