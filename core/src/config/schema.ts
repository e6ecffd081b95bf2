import { durationSchema, type JsonSchema, type PluginSchema } from '@switchyard/sdk';
import { HTTP2_TUNING_SCHEMA } from '../listeners/http2-limits';
import { CoreErrors } from '../errors';

export const BUILTIN_TIMEOUTS = Object.freeze({
  connect: 5_000,
  client: 50_000,
  server: 50_000,
  httpRequest: 10_000,
  keepAlive: 5_000,
  tunnel: 3_600_000,
  queue: 30_000,
});

const timeoutsSchema = (what: string): JsonSchema => ({
  type: 'object',
  description: `Timeouts for ${what}; unset ones come from defaults.timeouts, then built-in values.`,
  additionalProperties: false,
  properties: {
    connect: durationSchema('Time to establish the TCP connection to a server (built-in 5s).'),
    client: durationSchema('Client-side inactivity (built-in 50s).'),
    server: durationSchema('Time for a server to send its response head, and between body chunks (built-in 50s).'),
    httpRequest: durationSchema('Time for a client to send the whole request head; slowloris guard (built-in 10s).'),
    keepAlive: durationSchema('Idle time a client keep-alive connection is kept (built-in 5s).'),
    tunnel: durationSchema('Inactivity on WebSocket and TCP tunnels (built-in 1h).'),
    queue: durationSchema('Time a request may wait in a backend queue for a server slot (built-in 30s).'),
  },
});

const errorFilesSchema = (what: string): JsonSchema => ({
  type: 'object',
  description: `HTML pages the gateway answers its own errors with for ${what} (HAProxy's errorfile), by status: { "503": "pages/503.html" }. Paths are relative to the config file; a backend's page wins over its frontend's, which wins over defaults.`,
  propertyNames: { enum: ['400', '403', '404', '408', '429', '500', '502', '503', '504'] },
  additionalProperties: { type: 'string', minLength: 1 },
});

const bindObject = (extra: Record<string, JsonSchema>, tlsExtra: Record<string, JsonSchema>): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['port'] }, { required: ['fd'] }],
  properties: {
    host: { type: 'string', description: 'Address to listen on (IPv4, IPv6 or a name).', default: '0.0.0.0' },
    port: { type: 'integer', minimum: 0, maximum: 65535, description: 'Port; 0 picks a free one.' },
    fd: {
      description:
        'Listen on an inherited, already bound socket instead of host:port: its descriptor number (HAProxy\'s fd@N), "systemd" (the one socket systemd passed, LISTEN_FDS) or "systemd:<name>" (by LISTEN_FDNAMES).',
      oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^systemd(:[^\\s]+)?$' }],
    },
    tls: {
      type: 'object',
      description: 'Terminate TLS on this bind.',
      additionalProperties: false,
      required: ['cert', 'key'],
      properties: {
        cert: { type: 'string', description: 'PEM certificate chain file (relative to the config file).' },
        key: { type: 'string', description: 'PEM private key file (relative to the config file).' },
        ...tlsExtra,
      },
    },
    ...extra,
  },
});

/** An inherited socket as a bind string: fd@3, fd@systemd, fd@systemd:web. */
const FD_PATTERN = '^fd@(\\d+|systemd(:[^\\s]+)?)$';

const ADDRESS_PATTERN = '^(\\[[0-9a-fA-F:.]+\\]|[^\\s:\\[\\]]*):(\\d{1,5})$|^(\\d{1,5})$';

/**
 * A property that has a default is never missing (ajv fills it in before `required` is
 * checked), so it is not listed as required in the composed schema: editors completing a
 * config would otherwise ask for it. (TypeBox marks every non-Optional property required.)
 */
function withoutDefaultedRequired(schema: JsonSchema): JsonSchema {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out: JsonSchema = { ...schema };
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props && typeof props === 'object') {
    out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, withoutDefaultedRequired(v)]));
    if (Array.isArray(schema.required)) {
      const required = (schema.required as string[]).filter((k) => props[k]?.default === undefined);
      if (required.length > 0) out.required = required;
      else delete out.required;
    }
  }
  // Nested objects too: array items, map values, alternatives.
  if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) out.items = withoutDefaultedRequired(schema.items as JsonSchema);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.additionalProperties = withoutDefaultedRequired(schema.additionalProperties as JsonSchema);
  for (const k of ['oneOf', 'anyOf', 'allOf'] as const) {
    if (Array.isArray(schema[k])) out[k] = (schema[k] as JsonSchema[]).map(withoutDefaultedRequired);
  }
  return out;
}

/** Every fragment of a level (`schema.frontend`…), without required-but-defaulted keys. */
function fragmentsWithoutDefaultedRequired(fragments: Record<string, JsonSchema> | undefined): Record<string, JsonSchema> | undefined {
  return fragments && Object.fromEntries(Object.entries(fragments).map(([k, v]) => [k, withoutDefaultedRequired(v)]));
}

/** Builds the composed schema: core's own, plus every plugin's fragments. */
export function composeSchema(
  plugins: ReadonlyArray<{ name: string; configKey?: string; schema?: PluginSchema }>,
  balanceNames: ReadonlyArray<string>,
): JsonSchema {
  const owners = new Map<string, string>();
  const core = '@switchyard/core';
  const parts = {
    frontend: {} as Record<string, JsonSchema>,
    backend: {} as Record<string, JsonSchema>,
    server: {} as Record<string, JsonSchema>,
    bind: {} as Record<string, JsonSchema>,
    tls: {} as Record<string, JsonSchema>,
    defaults: {} as Record<string, JsonSchema>,
    top: {} as Record<string, JsonSchema>,
  };
  const coreKeys: Record<keyof typeof parts, string[]> = {
    frontend: ['mode', 'bind', 'defaultBackend', 'maxconn', 'timeouts', 'errorFiles'],
    backend: ['mode', 'balance', 'allBackups', 'maxqueue', 'servers', 'timeouts', 'errorFiles'],
    server: ['name', 'address', 'weight', 'maxconn', 'backup'],
    bind: ['host', 'port', 'fd', 'tls'],
    tls: ['cert', 'key'],
    defaults: ['timeouts', 'errorFiles'],
    top: ['plugins', 'global', 'defaults', 'frontends', 'backends'],
  };
  for (const [part, keys] of Object.entries(coreKeys)) for (const k of keys) owners.set(`${part}.${k}`, core);
  for (const p of plugins) {
    const add = (part: keyof typeof parts, props: Record<string, JsonSchema> | undefined): void => {
      if (!props) return;
      for (const [key, schema] of Object.entries(props)) {
        const owner = owners.get(`${part}.${key}`);
        if (owner) throw CoreErrors.PLUGIN_SCHEMA_CONFLICT(p.name, part === 'top' ? 'top-level' : part, key, owner);
        owners.set(`${part}.${key}`, p.name);
        parts[part][key] = schema;
      }
    };
    add('frontend', fragmentsWithoutDefaultedRequired(p.schema?.frontend));
    add('backend', fragmentsWithoutDefaultedRequired(p.schema?.backend));
    add('server', fragmentsWithoutDefaultedRequired(p.schema?.server));
    add('bind', fragmentsWithoutDefaultedRequired(p.schema?.bind));
    add('tls', fragmentsWithoutDefaultedRequired(p.schema?.tls));
    add('defaults', fragmentsWithoutDefaultedRequired(p.schema?.defaults));
    if (p.configKey) add('top', { [p.configKey]: withoutDefaultedRequired(p.schema?.config ?? { type: 'object' }) });
  }

  const bind = bindObject(parts.bind, parts.tls);
  const bindOne = {
    description: 'Where to listen: "host:port", ":port", a port number, "fd@3" / "fd@systemd:<name>" (an inherited socket), or an object.',
    oneOf: [{ type: 'string', pattern: ADDRESS_PATTERN }, { type: 'string', pattern: FD_PATTERN }, { type: 'integer', minimum: 0, maximum: 65535 }, bind],
  };
  const mode = { enum: ['http', 'tcp'], description: 'http proxies requests; tcp pipes connections.' };

  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://switchyard.dev/schema/config.json',
    title: 'Switchyard configuration',
    type: 'object',
    additionalProperties: false,
    properties: {
      plugins: {
        type: 'array',
        description: 'Plugin and preset packages (or paths), resolved from the config file\'s directory first, then the working directory. Default: ["@switchyard/preset-standard"].',
        items: { type: 'string', minLength: 1 },
      },
      global: {
        type: 'object',
        default: {},
        additionalProperties: false,
        properties: {
          gracePeriod: durationSchema('How long in-flight work may take to finish on stop or reload.', '10s'),
          pidFile: { type: 'string', description: 'File `switchyard run` (the master with --workers, or the single process) writes its PID to, for `switchyard reload` (relative to the config file).' },
          tune: { type: 'object', default: {}, additionalProperties: false, description: 'Low-level limits (HAProxy tune.*).', properties: { h2: HTTP2_TUNING_SCHEMA } },
          logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'Level of the gateway\'s own log.' },
        },
      },
      defaults: {
        type: 'object',
        default: {},
        additionalProperties: false,
        properties: { timeouts: timeoutsSchema('every frontend and backend'), errorFiles: errorFilesSchema('every frontend and backend'), ...parts.defaults },
      },
      frontends: {
        type: 'object',
        default: {},
        description: 'Where clients connect, by name.',
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['bind'],
          properties: {
            mode: { ...mode, default: 'http' },
            bind: { description: 'One or several listen addresses.', oneOf: [bindOne, { type: 'array', minItems: 1, items: bindOne }] },
            defaultBackend: { type: 'string', description: 'Backend for requests no route tap claims.' },
            maxconn: { type: 'integer', minimum: 0, default: 0, description: 'Concurrent connections; more wait unread until one closes. 0 = unlimited.' },
            timeouts: timeoutsSchema('this frontend'),
            errorFiles: errorFilesSchema('this frontend'),
            ...parts.frontend,
          },
        },
      },
      backends: {
        type: 'object',
        default: {},
        description: 'Server pools, by name.',
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['servers'],
          properties: {
            mode: { ...mode, default: 'http' },
            balance: {
              type: 'string',
              default: 'roundrobin',
              description: 'Balancing policy, by the name a plugin provides in the balance slot.',
              ...(balanceNames.length > 0 ? { enum: [...balanceNames] } : {}),
            },
            allBackups: { type: 'boolean', default: false, description: 'When every primary is down, balance over all backups instead of only the first.' },
            maxqueue: { type: 'integer', minimum: 0, default: 0, description: 'Longest queue of requests waiting for a server slot; 0 = unlimited.' },
            errorFiles: errorFilesSchema('this backend'),
            timeouts: timeoutsSchema('this backend'),
            servers: {
              type: 'array',
              description: 'The pool, in order.',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['address'],
                properties: {
                  name: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.:-]+$', description: 'Unique in the backend; defaults to s1, s2… by position.' },
                  address: { type: 'string', pattern: ADDRESS_PATTERN, description: '"host:port" ("[::1]:8080" for IPv6).' },
                  weight: { type: 'integer', minimum: 0, maximum: 256, default: 1, description: 'Share of balanced traffic; 0 takes none.' },
                  maxconn: { type: 'integer', minimum: 0, default: 0, description: 'Concurrent requests or connections; more wait in the backend queue. 0 = unlimited.' },
                  backup: { type: 'boolean', default: false, description: 'Only used when every non-backup server is down.' },
                  ...parts.server,
                },
              },
            },
            ...parts.backend,
          },
        },
      },
      ...parts.top,
    },
  };
}

/** Splits "host:port", "[v6]:port", ":port" or "port". */
export function splitAddress(value: string | number, defaultHost: string): { host: string; port: number } {
  if (typeof value === 'number') return { host: defaultHost, port: value };
  const m = /^(\[([0-9a-fA-F:.]+)\]|[^\s:[\]]*):(\d{1,5})$/.exec(value);
  if (m) return { host: m[2] ?? (m[1] || defaultHost), port: Number(m[3]) };
  return { host: defaultHost, port: Number(value) };
}
