import { definePlugin, durationSchema, Stage } from '@switchyard/sdk';
import { HttpForwarder, type HttpForwarderOptions } from './forwarder';

export { HttpForwarder, type HttpForwarderOptions };
export { getHttpForwarderHooks, type HttpForwarderHooks, type ForwardAttemptFailure, type AttemptFailureCause, type ReplayPlan } from './hooks';

export const NAME = '@switchyard/plugin-http-forwarder';

export const plugin = definePlugin<HttpForwarderOptions>({
  name: NAME,
  version: '0.3.3',
  core: '^0.1.0',
  description: 'Forwards HTTP exchanges and WebSocket upgrades to servers over keep-alive undici pools.',
  configKey: 'httpForwarder',
  schema: {
    config: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'How the HTTP forwarder talks to servers.',
      properties: {
        keepAliveTimeout: durationSchema('Idle upstream keep-alive connections are closed after this long.', '4s'),
        bufferSize: {
          type: 'integer',
          minimum: 1024,
          default: 16384,
          description: 'Response bytes held in memory for one slowly reading client before the server is paused (HAProxy tune.bufsize; the client socket itself holds up to 16 KiB).',
        },
        connectionsPerServer: {
          type: 'integer',
          minimum: 0,
          default: 0,
          description: 'Upstream connections per server (0 = as many as needed; use server maxconn to queue).',
        },
      },
    },
  },
  apply(gateway, options) {
    const forwarder = new HttpForwarder(gateway, options, gateway.logger.child({ plugin: NAME }));
    gateway.hooks.forward.tap({ name: NAME, stage: Stage.FORWARDER }, (ex) => {
      if (ex.kind !== 'http') return undefined;
      forwarder.forward(ex);
      return true;
    });
    gateway.events.on('server-change', (change) => {
      // a removed server, or one pointed elsewhere (set server addr, DNS): its idle connections go
      if (change.what === 'removed' || change.what === 'addr') forwarder.dropPool(change.server);
    });
    gateway.onStop(() => forwarder.close());
  },
});

export default plugin;
