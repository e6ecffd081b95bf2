import { definePlugin, Slots } from '@switchyard/sdk';
import { HashErrors } from './errors';
import { fetchKey, headerKey, sourceKey, uriKey, urlParamKey, type HashOptions } from './keys';
import { hashPolicyClass, HashPolicy } from './policy';
import { ConsistentLookup, MapBasedLookup, POINTS_PER_WEIGHT } from './lookup';
import { hashRange, hashString } from './hash';
import { registerHaproxyDirectives } from './haproxy';

export { sdbm, djb2, wt6, crc32, fullHash, rangeHash, sourceHash } from './haproxy-hash';
export { HashErrors, HashPolicy, ConsistentLookup, MapBasedLookup, POINTS_PER_WEIGHT, hashRange, hashString, type HashOptions };

const NAME = '@switchyard/plugin-hash';

const options = {
  hashType: {
    enum: ['map-based', 'consistent'],
    default: 'map-based',
    description: 'Hash policies: map-based (O(1), spreads exactly by weight, a server change remaps most keys) or consistent (O(log n), a server leaving moves only its own keys).',
  },
  hashKey: {
    type: 'string',
    minLength: 1,
    description: 'balance: hash — the fetch whose value is hashed, e.g. "src", "hdr(x-user)", "cookie(session)" (fetches come from plugins such as the ACL plugin).',
  },
  hashFunction: {
    enum: ['sdbm', 'djb2', 'wt6', 'crc32'],
    default: 'sdbm',
    description: 'HAProxy\'s hash function (hash-type <method> <function>): sdbm (HAProxy\'s default), djb2, wt6, crc32.',
  },
  hashAvalanche: { type: 'boolean', description: 'HAProxy\'s avalanche modifier: mix the hash (full_hash) before placing it. Unset: on for consistent, off for map-based (HAProxy\'s defaults: sdbm, and sdbm + avalanche for a bare hash-type consistent).' },
  uriWhole: { type: 'boolean', default: false, description: 'balance: uri — hash the query string too (HAProxy "whole").' },
  uriPathOnly: { type: 'boolean', default: false, description: 'balance: uri — for absolute-form requests hash only the path, not scheme and authority (HAProxy "path-only").' },
  uriLen: { type: 'integer', minimum: 0, default: 0, description: 'balance: uri — hash at most this many characters; 0 = all (HAProxy "len").' },
  uriDepth: { type: 'integer', minimum: 0, default: 0, description: 'balance: uri — hash at most this many directory levels; 0 = all (HAProxy "depth").' },
  urlParam: { type: 'string', minLength: 1, pattern: '^[^&=#\\s]+$', description: 'balance: url_param — the query-string parameter whose value is hashed.' },
  hashHeader: { type: 'string', minLength: 1, pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', description: 'balance: hdr — the request header whose value is hashed (HAProxy hdr(<name>)).' },
  hashUseDomainOnly: { type: 'boolean', default: false, description: 'balance: hdr — hash only the domain label of the value, e.g. "example" for www.example.com (HAProxy "use_domain_only").' },
};

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.4',
  core: '^0.1.0',
  description: 'Hash balancing: source, uri, url_param, hdr and any fetch (balance: hash); map-based or consistent.',
  schema: { backend: options },
  register({ slots }) {
    registerHaproxyDirectives(slots, NAME);
    const common = { hashType: options.hashType, hashFunction: options.hashFunction, hashAvalanche: options.hashAvalanche };
    slots.provide(Slots.BALANCE, 'source', hashPolicyClass('source', false, sourceKey), {
      description: 'Hash of the client address: a client keeps its server while the server set is stable. HTTP and TCP.',
      options: common,
    });
    slots.provide(Slots.BALANCE, 'uri', hashPolicyClass('uri', true, uriKey), {
      description: 'Hash of the request URI: the same object always goes to the same cache server.',
      options: { ...common, uriWhole: options.uriWhole, uriPathOnly: options.uriPathOnly, uriLen: options.uriLen, uriDepth: options.uriDepth },
    });
    slots.provide(Slots.BALANCE, 'url_param', hashPolicyClass('url_param', true, urlParamKey), {
      description: 'Hash of one query-string parameter (a user or session id); requests without it are spread by weight.',
      options: { ...common, urlParam: options.urlParam },
    });
    slots.provide(Slots.BALANCE, 'hdr', hashPolicyClass('hdr', true, headerKey), {
      description: 'Hash of one request header (HAProxy hdr(<name>)); requests without it are spread by weight.',
      options: { ...common, hashHeader: options.hashHeader, hashUseDomainOnly: options.hashUseDomainOnly },
    });
    // `slots` is this gateway's registry: fetches registered by other plugins are there by the time policies are built.
    slots.provide(Slots.BALANCE, 'hash', hashPolicyClass('hash', false, (config, backend) => fetchKey(config, backend, slots)), {
      description: 'Hash of any fetch (HAProxy balance hash <expr>), named by hashKey; unknown fetches fail at load.',
      options: { ...common, hashKey: options.hashKey },
    });
  },
});

export default plugin;
