import { durationSchema, sizeSchema, type JsonSchema } from '@switchyard/sdk';

/** The `redis:` key after validation (durations in ms, sizes in bytes). */
export interface RedisStateConfig {
  /** ioredis URL; when set, host/port/username/password/db are ignored. */
  url?: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
  keyPrefix: string;
  /** Names this gateway in published messages; default `<hostname>:<pid>:<random>`. */
  instanceId?: string;
  connectTimeout: number;
  commandTimeout: number;
  retryMin: number;
  retryMax: number;
  cache: { maxObjectSize: number; keepStale: number };
  serverState: { enabled: boolean; channel: string; reasons: string[]; persist: boolean };
}

export const redisConfigSchema: JsonSchema = {
  type: 'object',
  default: {},
  additionalProperties: false,
  description: 'The Redis server that gateways share state through (@switchyard/plugin-redis-state).',
  properties: {
    url: { type: 'string', pattern: '^rediss?://', description: 'ioredis connection URL, redis://[user:pass@]host:port/db (rediss:// for TLS). Overrides host/port/username/password/db.' },
    host: { type: 'string', minLength: 1, default: '127.0.0.1', description: 'Redis host (when no url).' },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 6379, description: 'Redis port (when no url).' },
    username: { type: 'string', description: 'ACL user name (Redis 6+), when no url.' },
    password: { type: 'string', description: 'Password (AUTH), when no url. Never logged.' },
    db: { type: 'integer', minimum: 0, default: 0, description: 'Database number (SELECT), when no url.' },
    tls: { type: 'boolean', default: false, description: 'Connect with TLS (when no url; a rediss:// url implies it).' },
    keyPrefix: { type: 'string', default: 'swy', pattern: '^[A-Za-z0-9_.:-]*$', description: 'Prefix of every key and channel; gateways that share state use the same one.' },
    instanceId: { type: 'string', pattern: '^[^\\s]+$', description: 'Name of this gateway in server-state messages (default: hostname:pid:random). Must differ between instances.' },
    connectTimeout: durationSchema('Time to connect to Redis; start-up waits this long at most, then serves on local state.', '2s'),
    commandTimeout: durationSchema('A Redis command slower than this fails and the request uses local state instead.', '500ms'),
    retryMin: durationSchema('First reconnect delay after Redis is lost; doubles on each failed attempt.', '100ms'),
    retryMax: durationSchema('Longest delay between reconnect attempts.', '5s'),
    cache: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'The `redis` cache store (cache.store: redis).',
      properties: {
        maxObjectSize: sizeSchema('Largest serialised object (headers, policy and body) stored in Redis; bigger ones are not shared (cache.maxObjectSize still applies first).', '1mb'),
        keepStale: durationSchema('How long an object stays in Redis after it turns stale (for revalidation with ETag / Last-Modified and stale-if-error).', '10m'),
      },
    },
    serverState: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Runtime server-state changes (drain, maint, ready, weight) shared between gateways over Redis pub/sub.',
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Publish operator changes and apply other gateways\' changes.' },
        channel: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.:-]+$', default: 'server-state', description: 'Channel name (after keyPrefix).' },
        reasons: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: ['runtime API'],
          description: 'A change is published when its reason starts with one of these (operator actions). Health checks, agent checks and slow start stay local: each gateway runs its own.',
        },
        persist: { type: 'boolean', default: true, description: 'Also keep the last operator state per server in a Redis hash, applied when a gateway connects (a restarted gateway learns of a drain issued while it was away).' },
      },
    },
  },
};
