import { definePlugin, Stage } from '@switchyard/sdk';
import { HttpForwarder, type HttpForwarderOptions } from './forwarder';
import { configSchema } from './schema';

export { HttpForwarder, type HttpForwarderOptions };
export { getHttpForwarderHooks, type HttpForwarderHooks, type ForwardAttemptFailure, type AttemptFailureCause, type ReplayPlan } from './hooks';

export const NAME = '@switchyard/plugin-http-forwarder';

export const plugin = definePlugin({
  name: NAME,
  version: '0.3.6',
  core: '>=0.1.2 <1.0.0',
  description: 'Forwards HTTP exchanges and WebSocket upgrades to servers over keep-alive undici pools.',
  configKey: 'httpForwarder',
  schema: { config: configSchema },
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
