import { DurationOption, Type, durationSchema, type JsonSchema } from '@switchyard/sdk';

const rate = (what: string): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required: ['limit'],
  description: what,
  properties: {
    limit: { type: 'integer', minimum: 1, description: 'New connections allowed per period.' },
    period: durationSchema('Period (whole seconds; rounded up).', '1s'),
  },
});

/** The top-level `connLimit` key; the options type `definePlugin` hands the plugin is derived from it. */
export const configSchema = Type.Object(
  {
    maxconn: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Connections open at once across all frontends (HAProxy global maxconn); 0 = unlimited. Excess connections wait unread, they are not reset.',
    }),
    maxconnWait: DurationOption('How long a connection above maxconn may wait for a slot before it is closed (0 = no limit).', '30s'),
  },
  { default: {}, additionalProperties: false, description: 'Gateway-wide connection limits.' },
);

export const frontendSchema: JsonSchema = {
  type: 'object',
  default: {},
  additionalProperties: false,
  description: 'Connection limits of this frontend (per-frontend maxconn is the core\'s `maxconn`).',
  properties: {
    rate: rate('New connections per period on this frontend (HAProxy rate-limit sessions); above it connections are refused (closed).'),
    ratePerClient: rate('New connections per period from one client address (fe/src_conn_rate); above it connections are refused.'),
    maxconnPerClient: { type: 'integer', minimum: 0, default: 0, description: 'Connections open at once from one client address (src_conn_cur); 0 = unlimited. Above it connections are refused.' },
    maxRequestsPerClient: {
      type: 'integer',
      minimum: 0,
      default: 0,
      description: 'HTTP requests in flight at once from one client address; 0 = unlimited. Above it the request gets 429 with Retry-After: 1.',
    },
  },
};
