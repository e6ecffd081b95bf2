import { durationSchema, type JsonSchema } from '@switchyard/sdk';

const keySchema = (what: string): JsonSchema => ({
  description:
    `${what}: \`src\` (client address), \`path\`, \`hdr(<name>)\`, \`cookie(<name>)\` (built in), or any \`name(arg)\` from the fetch slot (e.g. ACL or auth fetches). A list makes a compound key.`,
  oneOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  ],
  default: 'src',
});

export const configSchema: JsonSchema = {
  type: 'object',
  default: {},
  additionalProperties: false,
  description: 'Where rate-limit and stick-table counters live.',
  properties: {
    store: {
      type: 'string',
      default: 'memory',
      description: 'A `ratelimit.store` slot: memory (this process), cluster (node:cluster primary, shared by workers), redis (shared across gateways).',
    },
    failOpen: {
      type: 'boolean',
      default: true,
      description: 'When the store fails and has no fallback: true lets requests through (logged), false answers 503.',
    },
    redis: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Options of the redis store.',
      properties: {
        url: { type: 'string', default: 'redis://127.0.0.1:6379', description: 'ioredis connection URL (redis://[user:pass@]host:port/db).' },
        keyPrefix: { type: 'string', default: 'swy', pattern: '^[^\\s]*$', description: 'Prefix of every Redis key; gateways sharing limits use the same one.' },
        connectTimeout: durationSchema('Time to connect to Redis (also how long start-up waits for it).', '2s'),
        commandTimeout: durationSchema('A Redis command slower than this fails (the insurance limiter answers instead).', '500ms'),
        insurance: { type: 'boolean', default: true, description: 'While Redis is unreachable, count in memory per instance with the same limits.' },
      },
    },
    cluster: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Options of the cluster store.',
      properties: {
        timeout: durationSchema('Time a worker waits for the primary to answer.', '1s'),
        keyPrefix: { type: 'string', default: 'swy', description: 'Prefix of the limiters in the primary.' },
      },
    },
    options: { type: 'object', default: {}, description: 'Options for third-party stores.' },
    tables: {
      type: 'array',
      default: [],
      description: 'HAProxy stick tables held in this process (haproxy.cfg `stick-table`): entries per key with the data types they store, read by sc_*/src_*/table_* fetches and `show table`, synchronised by a `peers` section.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'type', 'size'],
        properties: {
          name: { type: 'string', minLength: 1, description: 'Table name (a frontend\'s or backend\'s name in haproxy.cfg; `peers/<t>` for tables of a peers section).' },
          type: { enum: ['ip', 'ipv6', 'integer', 'string', 'binary'], description: 'Key type.' },
          len: { type: 'integer', minimum: 1, description: 'Key length in bytes for string and binary keys (default 32).' },
          size: { type: 'integer', minimum: 1, description: 'Maximum number of entries; the oldest unused entry is evicted when full.' },
          expire: { type: 'integer', minimum: 1, description: 'Entry lifetime after its last update, ms (default: never).' },
          nopurge: { type: 'boolean', default: false, description: 'Never evict entries when full (new keys are then not tracked).' },
          store: {
            type: 'array',
            default: [],
            description: 'Data types stored per entry (HAProxy 2.6 names); rates take a period in ms.',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              properties: {
                name: {
                  enum: ['server_id', 'gpt0', 'gpc0', 'gpc0_rate', 'conn_cnt', 'conn_rate', 'conn_cur', 'sess_cnt', 'sess_rate', 'http_req_cnt', 'http_req_rate', 'http_err_cnt', 'http_err_rate', 'bytes_in_cnt', 'bytes_in_rate', 'bytes_out_cnt', 'bytes_out_rate', 'gpc1', 'gpc1_rate', 'server_key', 'http_fail_cnt', 'http_fail_rate'],
                  description: 'Data type.',
                },
                period: { type: 'integer', minimum: 1, description: 'Period of a *_rate type, ms.' },
              },
            },
          },
          peers: { type: 'string', description: 'The peers section (plugin-peers) that synchronises this table.' },
          syncName: { type: 'string', minLength: 1, description: 'The name peers know the table by (default: name; a peers section\'s `table t` is `<section>/t` here and `t` on the wire).' },
        },
      },
    },
  },
};

const conditionProps: Record<string, JsonSchema> = {
  if: { type: 'string', description: 'Apply only when this ACL condition holds (needs @switchyard/plugin-acl).' },
  unless: { type: 'string', description: 'Apply only when this ACL condition does not hold (needs @switchyard/plugin-acl).' },
};

export const rateLimitsSchema: JsonSchema = {
  type: 'array',
  default: [],
  description: 'Request rate limits, checked in order; the first one exceeded answers (429 by default).',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'points', 'duration'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', description: 'Policy name (in RateLimit headers, logs and store keys).' },
      key: keySchema('What one counter is kept for'),
      points: { type: 'integer', minimum: 1, description: 'Requests (points) allowed per duration.' },
      duration: durationSchema('Window length (whole seconds; rounded up).'),
      blockDuration: durationSchema('Once exceeded, deny the key for this long (0 = until the window ends).', 0),
      cost: { type: 'integer', minimum: 1, default: 1, description: 'Points one request consumes.' },
      methods: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z]+$' }, description: 'Only requests with these methods count.' },
      pathPrefix: { type: 'string', description: 'Only requests whose path starts with this count.' },
      ...conditionProps,
      onMissingKey: {
        enum: ['skip', 'shared'],
        default: 'skip',
        description: 'When the key is absent (no such header/cookie): skip the limit, or count all such requests together.',
      },
      status: { type: 'integer', minimum: 400, maximum: 599, default: 429, description: 'Status of the denial.' },
      headers: { type: 'boolean', default: false, description: 'Also send RateLimit / RateLimit-Policy on responses that pass.' },
    },
  },
};

export const trackSchema: JsonSchema = {
  type: 'array',
  default: [],
  maxItems: 3,
  description: 'HAProxy-style `track-scN <key>`: count each request per key in a stick table; read with sc_http_req_rate(N).',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['counter'],
    properties: {
      counter: { type: 'integer', minimum: 0, maximum: 2, description: 'Sticky counter number (sc0, sc1, sc2).' },
      key: keySchema('What is tracked'),
      period: durationSchema('Period of http_req_rate (whole seconds; rounded up).', '10s'),
      table: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', description: 'Stick table name; frontends naming the same table share counts (default: the frontend name).' },
      denyAbove: { type: 'integer', minimum: 0, description: 'Shorthand for `http-request deny deny_status 429 if { sc_http_req_rate(N) gt <n> }`.' },
      ...conditionProps,
    },
  },
};

export const stickCountersSchema: JsonSchema = {
  type: 'array',
  default: [],
  description: 'HAProxy sticky-counter rules in order: `track-scN <key> [table t]`, `sc-inc-gpc0(N)`, `sc-inc-gpc1(N)`, `sc-set-gpt0(N) <v>` of `tcp-request connection`, `tcp-request content` and `http-request`.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['action', 'counter'],
    properties: {
      phase: { enum: ['connection', 'content', 'request'], default: 'request', description: 'connection: once per client connection (the counter lives as long as it); content / request: per TCP session or HTTP request.' },
      action: { enum: ['track', 'inc-gpc0', 'inc-gpc1', 'set-gpt0'], description: 'What the rule does to sticky counter `counter`.' },
      counter: { type: 'integer', minimum: 0, maximum: 2, description: 'Sticky counter number (sc0, sc1, sc2).' },
      key: { type: 'string', minLength: 1, description: 'track: sample expression giving the key (`src`, `url`, `req.hdr(x-forwarded-for)`, with converters).' },
      table: { type: 'string', minLength: 1, description: 'track: the table (default: the frontend\'s name).' },
      value: { type: ['string', 'integer'], description: 'set-gpt0: an integer or a sample expression.' },
      ...conditionProps,
    },
  },
};
