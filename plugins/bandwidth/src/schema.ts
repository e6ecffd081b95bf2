import { SizeOption, Type, type Static } from '@switchyard/sdk';

const direction = (what: string) =>
  Type.Object(
    {
      perStream: SizeOption('Bytes per second for one request or response body (e.g. "512kb"); 0 = unlimited.', 0),
      perClient: SizeOption('Bytes per second shared by every body of one client address at once; 0 = unlimited.', 0),
    },
    { default: {}, additionalProperties: false, description: what },
  );

/** A frontend's `bandwidth`. */
export const bandwidthSchema = Type.Object(
  {
    download: direction('Response bodies, server to client.'),
    upload: direction('Request bodies, client to server.'),
  },
  { default: {}, additionalProperties: false, description: 'Bandwidth limits (HTTP bodies), in bytes per second.' },
);

/** A frontend's `bandwidth` (bytes per second; 0 = unlimited). */
export type BandwidthLimits = Static<typeof bandwidthSchema>;
/** One direction's limits, bytes per second; 0 = unlimited. */
export type DirectionLimits = BandwidthLimits['download'];
