import { DurationOption, Enum, Type, type Static, type StaticProperties } from '@switchyard/sdk';

/** The top-level `proxyProtocol` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object(
  { timeout: DurationOption('Time a client has to send its PROXY header before the connection is closed.', '3s') },
  { default: {}, additionalProperties: false, description: 'PROXY protocol settings.' },
);

/** The property this plugin adds to every bind. */
export const bindOptions = {
  acceptProxy: Type.Boolean({
    default: false,
    description: 'Expect a PROXY protocol header (v1 or v2) first on every connection, as HAProxy\'s accept-proxy; connections without one are closed.',
  }),
};

/** The property this plugin adds to every server. */
export const serverOptions = {
  sendProxy: Enum(['v1', 'v2'], { description: 'Send a PROXY protocol header (v1 text or v2 binary) first on every connection to this server.' }),
};

/** `proxyProtocol` after validation: `timeout` in ms. */
export type ProxyProtocolConfig = Static<typeof configSchema>;
export type ProxyProtocolBindOptions = StaticProperties<typeof bindOptions>;
export type ProxyProtocolServerOptions = StaticProperties<typeof serverOptions>;
