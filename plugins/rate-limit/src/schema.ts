import { DurationOption, Enum, OneOf, Type, TypeList, type Static } from '@switchyard/sdk';

/** The top-level `rateLimit` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object({
  store: Type.String({ default: 'memory', description: 'A `ratelimit.store` slot: memory (this process), cluster (node:cluster primary, shared by workers), redis (shared across gateways).' }),
  failOpen: Type.Boolean({ default: true, description: 'When the store fails and has no fallback: true lets requests through (logged), false answers 503.' }),
  redis: Type.Object({
    url: Type.String({ default: 'redis://127.0.0.1:6379', description: 'ioredis connection URL (redis://[user:pass@]host:port/db).' }),
    keyPrefix: Type.String({ default: 'swy', pattern: '^[^\\s]*$', description: 'Prefix of every Redis key; gateways sharing limits use the same one.' }),
    connectTimeout: DurationOption('Time to connect to Redis (also how long start-up waits for it).', '2s'),
    commandTimeout: DurationOption('A Redis command slower than this fails (the insurance limiter answers instead).', '500ms'),
    insurance: Type.Boolean({ default: true, description: 'While Redis is unreachable, count in memory per instance with the same limits.' }),
  }, { default: {}, additionalProperties: false, description: 'Options of the redis store.' }),
  cluster: Type.Object({
    timeout: DurationOption('Time a worker waits for the primary to answer.', '1s'),
    keyPrefix: Type.String({ default: 'swy', description: 'Prefix of the limiters in the primary.' }),
  }, { default: {}, additionalProperties: false, description: 'Options of the cluster store.' }),
  options: Type.Unsafe<Record<string, unknown>>({ type: 'object', default: {}, description: 'Options for third-party stores.' }),
  tables: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, description: 'Table name (a frontend\'s or backend\'s name in haproxy.cfg; `peers/<t>` for tables of a peers section).' }),
    type: Enum(['ip', 'ipv6', 'integer', 'string', 'binary'], { description: 'Key type.' }),
    len: Type.Optional(Type.Integer({ minimum: 1, description: 'Key length in bytes for string and binary keys (default 32).' })),
    size: Type.Integer({ minimum: 1, description: 'Maximum number of entries; the oldest unused entry is evicted when full.' }),
    expire: Type.Optional(Type.Integer({ minimum: 1, description: 'Entry lifetime after its last update, ms (default: never).' })),
    nopurge: Type.Boolean({ default: false, description: 'Never evict entries when full (new keys are then not tracked).' }),
    store: Type.Array(Type.Object({
      name: Enum(['server_id', 'gpt0', 'gpc0', 'gpc0_rate', 'conn_cnt', 'conn_rate', 'conn_cur', 'sess_cnt', 'sess_rate', 'http_req_cnt', 'http_req_rate', 'http_err_cnt', 'http_err_rate', 'bytes_in_cnt', 'bytes_in_rate', 'bytes_out_cnt', 'bytes_out_rate', 'gpc1', 'gpc1_rate', 'server_key', 'http_fail_cnt', 'http_fail_rate'], { description: 'Data type.' }),
      period: Type.Optional(Type.Integer({ minimum: 1, description: 'Period of a *_rate type, ms.' })),
    }, { additionalProperties: false }), { default: [], description: 'Data types stored per entry (HAProxy 2.6 names); rates take a period in ms.' }),
    peers: Type.Optional(Type.String({ description: 'The peers section (plugin-peers) that synchronises this table.' })),
    syncName: Type.Optional(Type.String({ minLength: 1, description: 'The name peers know the table by (default: name; a peers section\'s `table t` is `<section>/t` here and `t` on the wire).' })),
  }, { additionalProperties: false }), { default: [], description: 'HAProxy stick tables held in this process (haproxy.cfg `stick-table`): entries per key with the data types they store, read by sc_*/src_*/table_* fetches and `show table`, synchronised by a `peers` section.' }),
}, { default: {}, additionalProperties: false, description: 'Where rate-limit and stick-table counters live.' });

/** A frontend's `rateLimits`. */
export const rateLimitsSchema = Type.Array(Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'Policy name (in RateLimit headers, logs and store keys).' }),
  key: OneOf([
    Type.String({ minLength: 1 }),
    Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  ], { description: 'What one counter is kept for: `src` (client address), `path`, `hdr(<name>)`, `cookie(<name>)` (built in), or any `name(arg)` from the fetch slot (e.g. ACL or auth fetches). A list makes a compound key.', default: 'src' }),
  points: Type.Integer({ minimum: 1, description: 'Requests (points) allowed per duration.' }),
  duration: DurationOption('Window length (whole seconds; rounded up).'),
  blockDuration: DurationOption('Once exceeded, deny the key for this long (0 = until the window ends).', 0),
  cost: Type.Integer({ minimum: 1, default: 1, description: 'Points one request consumes.' }),
  methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z]+$' }), { description: 'Only requests with these methods count.' })),
  pathPrefix: Type.Optional(Type.String({ description: 'Only requests whose path starts with this count.' })),
  if: Type.Optional(Type.String({ description: 'Apply only when this ACL condition holds (needs @switchyard/plugin-acl).' })),
  unless: Type.Optional(Type.String({ description: 'Apply only when this ACL condition does not hold (needs @switchyard/plugin-acl).' })),
  onMissingKey: Enum(['skip', 'shared'], { default: 'skip', description: 'When the key is absent (no such header/cookie): skip the limit, or count all such requests together.' }),
  status: Type.Integer({ minimum: 400, maximum: 599, default: 429, description: 'Status of the denial.' }),
  headers: Type.Boolean({ default: false, description: 'Also send RateLimit / RateLimit-Policy on responses that pass.' }),
}, { additionalProperties: false }), { default: [], description: 'Request rate limits, checked in order; the first one exceeded answers (429 by default).' });

/** A frontend's `track` (HAProxy track-scN). */
export const trackSchema = Type.Array(Type.Object({
  counter: Type.Integer({ minimum: 0, maximum: 2, description: 'Sticky counter number (sc0, sc1, sc2).' }),
  key: OneOf([
    Type.String({ minLength: 1 }),
    Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  ], { description: 'What is tracked: `src` (client address), `path`, `hdr(<name>)`, `cookie(<name>)` (built in), or any `name(arg)` from the fetch slot (e.g. ACL or auth fetches). A list makes a compound key.', default: 'src' }),
  period: DurationOption('Period of http_req_rate (whole seconds; rounded up).', '10s'),
  table: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'Stick table name; frontends naming the same table share counts (default: the frontend name).' })),
  denyAbove: Type.Optional(Type.Integer({ minimum: 0, description: 'Shorthand for `http-request deny deny_status 429 if { sc_http_req_rate(N) gt <n> }`.' })),
  if: Type.Optional(Type.String({ description: 'Apply only when this ACL condition holds (needs @switchyard/plugin-acl).' })),
  unless: Type.Optional(Type.String({ description: 'Apply only when this ACL condition does not hold (needs @switchyard/plugin-acl).' })),
}, { additionalProperties: false }), { default: [], maxItems: 3, description: 'HAProxy-style `track-scN <key>`: count each request per key in a stick table; read with sc_http_req_rate(N).' });

/** A frontend's `stickCounters` (HAProxy sticky-counter rules). */
export const stickCountersSchema = Type.Array(Type.Object({
  phase: Enum(['connection', 'content', 'request'], { default: 'request', description: 'connection: once per client connection (the counter lives as long as it); content / request: per TCP session or HTTP request.' }),
  action: Enum(['track', 'inc-gpc0', 'inc-gpc1', 'set-gpt0'], { description: 'What the rule does to sticky counter `counter`.' }),
  counter: Type.Integer({ minimum: 0, maximum: 2, description: 'Sticky counter number (sc0, sc1, sc2).' }),
  key: Type.Optional(Type.String({ minLength: 1, description: 'track: sample expression giving the key (`src`, `url`, `req.hdr(x-forwarded-for)`, with converters).' })),
  table: Type.Optional(Type.String({ minLength: 1, description: 'track: the table (default: the frontend\'s name).' })),
  value: Type.Optional(TypeList(['string', 'integer'], { description: 'set-gpt0: an integer or a sample expression.' })),
  if: Type.Optional(Type.String({ description: 'Apply only when this ACL condition holds (needs @switchyard/plugin-acl).' })),
  unless: Type.Optional(Type.String({ description: 'Apply only when this ACL condition does not hold (needs @switchyard/plugin-acl).' })),
}, { additionalProperties: false }), { default: [], description: 'HAProxy sticky-counter rules in order: `track-scN <key> [table t]`, `sc-inc-gpc0(N)`, `sc-inc-gpc1(N)`, `sc-set-gpt0(N) <v>` of `tcp-request connection`, `tcp-request content` and `http-request`.' });

/** `rateLimit` after validation (durations in ms). */
export type RateLimitConfig = Static<typeof configSchema>;
/** One `rateLimits` rule after validation (`duration`, `blockDuration` in ms). */
export type RateLimitRule = Static<typeof rateLimitsSchema>[number];
/** One `track` rule after validation (`period` in ms). */
export type TrackRule = Static<typeof trackSchema>[number];
/** One `stickCounters` rule after validation. */
export type StickCounterRule = Static<typeof stickCountersSchema>[number];
