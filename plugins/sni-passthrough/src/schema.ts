import { DurationOption, MapOf, Type, type Static } from '@switchyard/sdk';

/** A frontend's `sniPassthrough`. */
export const sniPassthroughSchema = Type.Object(
  {
    routes: MapOf(Type.String(), {
      default: {},
      description: 'Server name (exact, or *.example.com for one label under it) → tcp backend. Unmatched names go to the route hook\'s other taps, then defaultBackend.',
    }),
    timeout: DurationOption('Time to wait for the whole ClientHello (HAProxy\'s tcp-request inspect-delay).', '5s'),
    rejectNonTls: Type.Boolean({ default: true, description: 'Close connections that do not start with a TLS ClientHello.' }),
  },
  { additionalProperties: false, description: 'Inspect the TLS ClientHello on this tcp frontend (the TLS stays end to end) and route on its server name.' },
);

/** A frontend's `sniPassthrough` after validation: `routes` server name → tcp backend, `timeout` in ms. */
export type SniPassthroughFrontendConfig = Static<typeof sniPassthroughSchema>;
