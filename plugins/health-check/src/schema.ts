import { durationSchema, sizeSchema, type JsonSchema } from '@switchyard/sdk';

const positiveDuration = (d: string, dflt?: string): JsonSchema => ({ ...durationSchema(d, dflt), exclusiveMinimum: 0 });

/** Timing keys shared by the backend's healthCheck and a server's check (no defaults at server level). */
const timing = (withDefaults: boolean): Record<string, JsonSchema> => ({
  inter: positiveDuration('Interval between checks of a steady UP server.', withDefaults ? '2s' : undefined),
  fastinter: positiveDuration('Interval while a server is changing state (UP with failures, DOWN with successes). Default: inter.'),
  downinter: positiveDuration('Interval between checks of a steady DOWN server. Default: inter.'),
  rise: { type: 'integer', minimum: 1, description: 'Consecutive successful checks to mark a DOWN server UP.', ...(withDefaults ? { default: 2 } : {}) },
  fall: { type: 'integer', minimum: 1, description: 'Consecutive failed checks to mark an UP server DOWN.', ...(withDefaults ? { default: 3 } : {}) },
  timeout: positiveDuration('Time a whole check (connect and reply) may take. Default: inter.'),
  port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Port to check instead of the server\'s own.' },
  address: { type: 'string', minLength: 1, description: 'Host or IP to check instead of the server\'s own.' },
});

export const healthCheckSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Active health checks for every server of this backend (a server opts out with `check: false`).',
  properties: {
    type: { type: 'string', default: 'tcp', description: 'Check kind, by name in the health.check slot: tcp, http, agent (or a plugin\'s).' },
    ...timing(true),
    jitter: { type: 'number', minimum: 0, maximum: 50, default: 0, description: 'Random ± percentage applied to each interval, so checks do not stay in step (HAProxy spread-checks).' },
    http: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'The request an http check sends and what it expects back.',
      properties: {
        method: { type: 'string', pattern: '^[A-Z]+$', default: 'GET', description: 'Request method.' },
        path: { type: 'string', pattern: '^/[^\\s]*$', default: '/', description: 'Path and query.' },
        host: { type: 'string', description: 'Host header (default: the server address).' },
        headers: { type: 'object', default: {}, additionalProperties: { type: 'string' }, description: 'Extra request headers.' },
        expect: {
          type: 'object',
          default: {},
          additionalProperties: false,
          description: 'What a passing reply looks like. Default: any status 200-399.',
          properties: {
            status: {
              description: 'Exact status or list of statuses.',
              oneOf: [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'array', minItems: 1, items: { type: 'integer', minimum: 100, maximum: 599 } }],
            },
            statusRange: { type: 'string', description: 'Inclusive status range "200-399" (used when `status` is not set).' },
            body: { type: 'string', description: 'The body must contain this string.' },
            bodyRegex: { type: 'string', description: 'The body must match this regular expression (compiled at load).' },
          },
        },
        maxBody: sizeSchema('Most of the body read for a body match.', '16kb'),
      },
    },
    tls: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Check over TLS (tcp: handshake only; http: HTTPS).',
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Use TLS for the check.' },
        sni: { type: 'string', description: 'Server name sent in SNI (default: the Host header, or the server host when it is a name).' },
        verify: { type: 'boolean', default: false, description: 'Verify the server certificate.' },
        ca: { type: 'string', description: 'PEM CA file to verify with.' },
      },
    },
    agent: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Options of the agent kind (when type is agent).',
      properties: { send: { type: 'string', description: 'Line sent to the agent before it replies.' } },
    },
  },
};

export const serverCheckSchema: JsonSchema = {
  type: ['boolean', 'object'],
  additionalProperties: false,
  description: 'Active health check of this server: true/false, or per-server overrides of the backend\'s healthCheck.',
  properties: {
    enabled: { type: 'boolean', description: 'false turns the check off for this server.' },
    ...timing(false),
  },
};

const agentProps: Record<string, JsonSchema> = {
  port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Port of the agent.' },
  address: { type: 'string', minLength: 1, description: 'Host of the agent (default: the server\'s).' },
  inter: positiveDuration('Interval between agent checks (default: the health check inter, else 2s).'),
  timeout: positiveDuration('Time an agent check may take (default: inter).'),
  send: { type: 'string', description: 'Line sent to the agent before it replies.' },
};

export const backendAgentSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'HAProxy agent-check beside the health check for every server: the agent sets weight (75%) and state (up, down, drain, maint, ready).',
  properties: agentProps,
};

export const serverAgentSchema: JsonSchema = {
  type: ['boolean', 'object'],
  additionalProperties: false,
  description: 'Agent check of this server: true/false, or overrides of the backend\'s agentCheck.',
  properties: { enabled: { type: 'boolean', description: 'false turns the agent check off for this server.' }, ...agentProps },
};
