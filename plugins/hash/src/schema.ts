import { Enum, Type, type StaticProperties } from '@switchyard/sdk';

/** The properties this plugin adds to every backend: what the hash policies read. */
export const backendOptions = {
  hashType: Enum(['map-based', 'consistent'], {
    default: 'map-based',
    description: 'Hash policies: map-based (O(1), spreads exactly by weight, a server change remaps most keys) or consistent (O(log n), a server leaving moves only its own keys).',
  }),
  hashKey: Type.String({
    minLength: 1,
    description: 'balance: hash — the fetch whose value is hashed, e.g. "src", "hdr(x-user)", "cookie(session)" (fetches come from plugins such as the ACL plugin).',
  }),
  hashFunction: Enum(['sdbm', 'djb2', 'wt6', 'crc32'], {
    default: 'sdbm',
    description: 'HAProxy\'s hash function (hash-type <method> <function>): sdbm (HAProxy\'s default), djb2, wt6, crc32.',
  }),
  hashAvalanche: Type.Boolean({ description: 'HAProxy\'s avalanche modifier: mix the hash (full_hash) before placing it. Unset: on for consistent, off for map-based (HAProxy\'s defaults: sdbm, and sdbm + avalanche for a bare hash-type consistent).' }),
  uriWhole: Type.Boolean({ default: false, description: 'balance: uri — hash the query string too (HAProxy "whole").' }),
  uriPathOnly: Type.Boolean({ default: false, description: 'balance: uri — for absolute-form requests hash only the path, not scheme and authority (HAProxy "path-only").' }),
  uriLen: Type.Integer({ minimum: 0, default: 0, description: 'balance: uri — hash at most this many characters; 0 = all (HAProxy "len").' }),
  uriDepth: Type.Integer({ minimum: 0, default: 0, description: 'balance: uri — hash at most this many directory levels; 0 = all (HAProxy "depth").' }),
  urlParam: Type.String({ minLength: 1, pattern: '^[^&=#\\s]+$', description: 'balance: url_param — the query-string parameter whose value is hashed.' }),
  hashHeader: Type.String({ minLength: 1, pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'balance: hdr — the request header whose value is hashed (HAProxy hdr(<name>)).' }),
  hashUseDomainOnly: Type.Boolean({ default: false, description: 'balance: hdr — hash only the domain label of the value, e.g. "example" for www.example.com (HAProxy "use_domain_only").' }),
};

/** Backend options the hash policies read. */
export type HashOptions = StaticProperties<typeof backendOptions>;
