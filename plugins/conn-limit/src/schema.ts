import { DurationOption, Type, type Static } from '@switchyard/sdk';

const rate = (what: string) =>
  Type.Object(
    {
      limit: Type.Integer({ minimum: 1, description: 'New connections allowed per period.' }),
      period: DurationOption('Period (whole seconds; rounded up).', '1s'),
    },
    { additionalProperties: false, description: what },
  );

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

/** A frontend's `connLimits`. */
export const frontendSchema = Type.Object(
  {
    rate: Type.Optional(rate('New connections per period on this frontend (HAProxy rate-limit sessions); above it connections are refused (closed).')),
    ratePerClient: Type.Optional(rate('New connections per period from one client address (fe/src_conn_rate); above it connections are refused.')),
    maxconnPerClient: Type.Integer({ minimum: 0, default: 0, description: 'Connections open at once from one client address (src_conn_cur); 0 = unlimited. Above it connections are refused.' }),
    maxRequestsPerClient: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'HTTP requests in flight at once from one client address; 0 = unlimited. Above it the request gets 429 with Retry-After: 1.',
    }),
  },
  { default: {}, additionalProperties: false, description: 'Connection limits of this frontend (per-frontend maxconn is the core\'s `maxconn`).' },
);
