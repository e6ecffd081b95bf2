import { DurationOption, Type, type Static } from '@switchyard/sdk';

/** The top-level `httpForwarder` key; the plugin's options type is derived from it. */
export const configSchema = Type.Object(
  {
    keepAliveTimeout: DurationOption('Idle upstream keep-alive connections are closed after this long.', '4s'),
    bufferSize: Type.Integer({
      minimum: 1024,
      default: 16384,
      description: 'Response bytes held in memory for one slowly reading client before the server is paused (HAProxy tune.bufsize; the client socket itself holds up to 16 KiB).',
    }),
    connectionsPerServer: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Upstream connections per server (0 = as many as needed; use server maxconn to queue).',
    }),
  },
  { default: {}, additionalProperties: false, description: 'How the HTTP forwarder talks to servers.' },
);

/** `httpForwarder` after validation: `keepAliveTimeout` in ms, `connectionsPerServer` 0 = as many as needed, `bufferSize` in bytes. */
export type HttpForwarderOptions = Static<typeof configSchema>;
