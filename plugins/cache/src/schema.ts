import { DurationOption, SizeOption, Type, type Static } from '@switchyard/sdk';

/** The top-level `cache` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object(
  {
    store: Type.String({ default: 'memory', description: 'Where objects live: a `cache.store` slot name (memory).' }),
    maxSize: SizeOption('Total size of the stored objects; the least recently used are evicted past it.', '64mb'),
    maxObjectSize: SizeOption('Largest response body that is stored; bigger ones pass through uncached.', '1mb'),
    statusHeader: Type.String({
      default: 'x-cache',
      pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]*$",
      description: 'Response header telling HIT, MISS, STALE or REVALIDATED; empty for none.',
    }),
    lockTimeout: DurationOption('How long a miss waits for an identical request already on its way to the server (coalescing) before going itself.', '5s'),
    heuristic: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.1,
      description: 'Fraction of the time since Last-Modified used as freshness when a response states none (RFC 9111 §4.2.2).',
    }),
    cacheSetCookie: Type.Boolean({
      default: false,
      description: 'Store responses that carry Set-Cookie (off: one client\'s cookie is never replayed to another).',
    }),
    name: Type.String({ default: '', description: 'The cache\'s name (a haproxy.cfg cache section\'s): what the res.cache_name fetch answers for a hit.' }),
  },
  { default: {}, additionalProperties: false, description: 'The shared HTTP cache.' },
);

/** The properties this plugin adds to every frontend. */
export const frontendOptions = {
  cache: Type.Boolean({ default: true, description: 'Use the HTTP cache for this frontend (HTTP mode only).' }),
};

/** The properties this plugin adds to every backend. */
export const backendOptions = {
  cache: Type.Boolean({
    default: false,
    description: 'Use the HTTP cache for the requests routed to this backend, looked up once the backend is chosen (HAProxy\'s cache-use in a backend: the backend\'s response rules run on hits too).',
  }),
  cacheName: Type.Optional(Type.String({ description: 'The name res.cache_name answers for hits on this backend (its haproxy.cfg cache section); default cache.name.' })),
};

/** `cache` after validation (sizes in bytes, durations in ms); `statusHeader` '' for none. */
export type CacheConfig = Static<typeof configSchema>;
