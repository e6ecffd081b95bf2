import type { Static } from '@switchyard/sdk';
import type { configSchema, frontendSchema } from './schema';

/** The top-level `connLimit` key (durations in ms): `maxconn` 0 = unlimited; `maxconnWait` 0 = as long as it takes. */
export type ConnLimitConfig = Static<typeof configSchema>;

/** A frontend's `connLimits`. */
export type FrontendConnLimits = Static<typeof frontendSchema>;

/** A connection rate: `limit` new connections per `period` ms. */
export type RateSpec = NonNullable<FrontendConnLimits['rate']>;
