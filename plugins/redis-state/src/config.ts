import { DurationOption, SizeOption, Type, type Static } from '@switchyard/sdk';

/** The `redis:` key; the options type is derived from it. */
export const redisConfigSchema = Type.Object({
  url: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'ioredis connection URL, redis://[user:pass@]host:port/db (rediss:// for TLS). Overrides host/port/username/password/db.' })),
  host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Redis host (when no url).' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 6379, description: 'Redis port (when no url).' }),
  username: Type.Optional(Type.String({ description: 'ACL user name (Redis 6+), when no url.' })),
  password: Type.Optional(Type.String({ description: 'Password (AUTH), when no url. Never logged.' })),
  db: Type.Integer({ minimum: 0, default: 0, description: 'Database number (SELECT), when no url.' }),
  tls: Type.Boolean({ default: false, description: 'Connect with TLS (when no url; a rediss:// url implies it).' }),
  keyPrefix: Type.String({ default: 'swy', pattern: '^[A-Za-z0-9_.:-]*$', description: 'Prefix of every key and channel; gateways that share state use the same one.' }),
  instanceId: Type.Optional(Type.String({ pattern: '^[^\\s]+$', description: 'Name of this gateway in server-state messages (default: hostname:pid:random). Must differ between instances.' })),
  connectTimeout: DurationOption('Time to connect to Redis; start-up waits this long at most, then serves on local state.', '2s'),
  commandTimeout: DurationOption('A Redis command slower than this fails and the request uses local state instead.', '500ms'),
  retryMin: DurationOption('First reconnect delay after Redis is lost; doubles on each failed attempt.', '100ms'),
  retryMax: DurationOption('Longest delay between reconnect attempts.', '5s'),
  cache: Type.Object({
    maxObjectSize: SizeOption('Largest serialised object (headers, policy and body) stored in Redis; bigger ones are not shared (cache.maxObjectSize still applies first).', '1mb'),
    keepStale: DurationOption('How long an object stays in Redis after it turns stale (for revalidation with ETag / Last-Modified and stale-if-error).', '10m'),
  }, { default: {}, additionalProperties: false, description: 'The `redis` cache store (cache.store: redis).' }),
  serverState: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'Publish operator changes and apply other gateways\' changes.' }),
    channel: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.:-]+$', default: 'server-state', description: 'Channel name (after keyPrefix).' }),
    reasons: Type.Array(Type.String({ minLength: 1 }), { default: ['runtime API'], description: 'A change is published when its reason starts with one of these (operator actions). Health checks, agent checks and slow start stay local: each gateway runs its own.' }),
    persist: Type.Boolean({ default: true, description: 'Also keep the last operator state per server in a Redis hash, applied when a gateway connects (a restarted gateway learns of a drain issued while it was away).' }),
  }, { default: {}, additionalProperties: false, description: 'Runtime server-state changes (drain, maint, ready, weight) shared between gateways over Redis pub/sub.' }),
}, { default: {}, additionalProperties: false, description: 'The Redis server that gateways share state through (@switchyard/plugin-redis-state).' });

/** The `redis:` key after validation (durations in ms, sizes in bytes). `url` overrides host/port/username/password/db. */
export type RedisStateConfig = Static<typeof redisConfigSchema>;
