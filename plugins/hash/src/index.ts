import { definePlugin, Slots } from '@switchyard/sdk';
import { HashErrors } from './errors';
import { fetchKey, headerKey, sourceKey, uriKey, urlParamKey, type HashOptions } from './keys';
import { backendOptions } from './schema';
import { hashPolicyClass, HashPolicy } from './policy';
import { ConsistentLookup, MapBasedLookup, POINTS_PER_WEIGHT } from './lookup';
import { hashRange, hashString } from './hash';
import { registerHaproxyDirectives } from './haproxy';

export { sdbm, djb2, wt6, crc32, fullHash, rangeHash, sourceHash } from './haproxy-hash';
export { HashErrors, HashPolicy, ConsistentLookup, MapBasedLookup, POINTS_PER_WEIGHT, hashRange, hashString, type HashOptions };

const NAME = '@switchyard/plugin-hash';

const options = backendOptions;

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.5',
  core: '>=0.1.2 <1.0.0',
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
