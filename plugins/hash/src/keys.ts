import { FETCH_SLOT, type BackendConfig, type Exchange, type FetchDefinition, type FetchValue, type SlotRegistry } from '@switchyard/sdk';
import { HashErrors } from './errors';
import type { HashOptions } from './schema';
import { rangeHash, sourceHash, type HashFunctionName, type RangeHash } from './haproxy-hash';

/** Hashes the exchange's key, or returns -1 when the exchange has none (then the policy spreads by weight). */
export type KeyHasher = (ex: Exchange) => number;

export type { HashOptions };

export type HashBackendConfig = BackendConfig & HashOptions;

const SLASH = 47;

/** The backend's hash over a string range (HAProxy's gen_hash). */
/** The avalanche modifier: as configured, else HAProxy's default (on for consistent only). */
function avalancheOf(cfg: HashBackendConfig): boolean {
  return cfg.hashAvalanche ?? cfg.hashType === 'consistent';
}

function hasherOf(cfg: HashBackendConfig): RangeHash {
  // Map-based and consistent alike: HAProxy's function, then the avalanche when asked (gen_hash, full_hash).
  return rangeHash(cfg.hashFunction ?? 'sdbm', avalancheOf(cfg));
}

export function sourceKey(cfg: HashBackendConfig): KeyHasher {
  const avalanche = avalancheOf(cfg);
  return (ex) => sourceHash(ex.clientAddress, avalanche);
}

export function uriKey(cfg: HashBackendConfig): KeyHasher {
  const whole = cfg.uriWhole === true;
  const pathOnly = cfg.uriPathOnly === true;
  const len = cfg.uriLen ?? 0;
  const depth = cfg.uriDepth ?? 0;
  const hashRange = hasherOf(cfg);
  return (ex) => {
    if (ex.kind !== 'http') return -1;
    // The target as received (absolute form keeps scheme and authority) unless path-only.
    const uri = pathOnly ? ex.url : (ex.target ?? ex.url);
    let end = uri.length;
    if (!whole) {
      const q = uri.indexOf('?');
      if (q !== -1) end = q;
    }
    if (len > 0 && len < end) end = len;
    if (depth > 0) {
      let slashes = 0;
      for (let i = 0; i < end; i++) {
        if (uri.charCodeAt(i) === SLASH && ++slashes > depth) {
          end = i;
          break;
        }
      }
    }
    return hashRange(uri, 0, end);
  };
}

export function urlParamKey(cfg: HashBackendConfig, backend: string): KeyHasher {
  const name = cfg.urlParam;
  if (!name) throw HashErrors.KEY_INVALID(backend, 'balance url_param needs urlParam (the query parameter to hash)');
  const needle = `${name}=`;
  const hashRange = hasherOf(cfg);
  return (ex) => {
    if (ex.kind !== 'http') return -1;
    const url = ex.url;
    const q = url.indexOf('?');
    if (q === -1) return -1;
    let at = q + 1;
    while (at < url.length) {
      let amp = url.indexOf('&', at);
      if (amp === -1) amp = url.length;
      if (url.startsWith(needle, at)) {
        const start = at + needle.length;
        return start < amp ? hashRange(url, start, amp) : -1;
      }
      at = amp + 1;
    }
    return -1;
  };
}

/** Bounds of the registrable part of a host name: "www.example.co.uk:80" → "co"; "www.example.com" → "example". */
function domainOnly(value: string, hashRange: RangeHash): number {
  let end = value.length;
  const colon = value.lastIndexOf(':');
  if (colon !== -1 && value.indexOf(']') < colon) end = colon;
  const last = value.lastIndexOf('.', end - 1);
  if (last === -1) return hashRange(value, 0, end);
  const prev = value.lastIndexOf('.', last - 1);
  return hashRange(value, prev + 1, last);
}

export function headerKey(cfg: HashBackendConfig, backend: string): KeyHasher {
  const raw = cfg.hashHeader;
  if (!raw) throw HashErrors.KEY_INVALID(backend, 'balance hdr needs hashHeader (the request header to hash)');
  const name = raw.toLowerCase();
  const domain = cfg.hashUseDomainOnly === true;
  const hashRange = hasherOf(cfg);
  return (ex) => {
    if (ex.kind !== 'http') return -1;
    const v = ex.headers[name];
    const value = Array.isArray(v) ? v[0] : v;
    if (value === undefined || value === '') return -1;
    return domain ? domainOnly(value, hashRange) : hashRange(value, 0, value.length);
  };
}

const EXPRESSION = /^([A-Za-z][A-Za-z0-9._-]*)(?:\((.*)\))?$/;

function hashFetchValue(v: FetchValue, hash: RangeHash): number {
  if (v === undefined || v === null) return -1;
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v[0];
  return s === undefined || s === '' ? -1 : hash(s, 0, s.length);
}

/** balance: hash — any fetch from the `fetch` slot, compiled once here. */
export function fetchKey(cfg: HashBackendConfig, backend: string, slots: SlotRegistry): KeyHasher {
  const expr = cfg.hashKey?.trim();
  if (!expr) throw HashErrors.KEY_INVALID(backend, 'balance hash needs hashKey, a fetch such as "src", "hdr(x-user)" or "cookie(session)"');
  const m = EXPRESSION.exec(expr);
  if (!m) throw HashErrors.KEY_INVALID(backend, `hashKey "${expr}" is not a fetch expression like name or name(arg)`);
  const name = m[1]!;
  const arg = m[2];
  const def = slots.get<FetchDefinition>(FETCH_SLOT, name);
  if (!def) throw HashErrors.FETCH_UNKNOWN(backend, expr, name, slots.names(FETCH_SLOT).join(', ') || 'none');
  if (def.arg === 'required' && (arg === undefined || arg === '')) throw HashErrors.KEY_INVALID(backend, `fetch ${name} needs an argument: ${name}(...)`);
  if (def.arg === 'none' && arg !== undefined) throw HashErrors.KEY_INVALID(backend, `fetch ${name} takes no argument`);
  if (!def.modes.includes(cfg.mode)) throw HashErrors.KEY_INVALID(backend, `fetch ${name} does not work in ${cfg.mode} mode`);
  let read: (ex: Exchange) => FetchValue;
  try {
    read = def.compile(arg);
  } catch (err) {
    throw HashErrors.KEY_INVALID.with({ cause: err }, backend, `hashKey "${expr}": ${err instanceof Error ? err.message : String(err)}`);
  }
  const hash = hasherOf(cfg);
  return (ex) => hashFetchValue(read(ex), hash);
}
