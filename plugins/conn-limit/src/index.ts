import { defineService, definePlugin, Stage } from '@switchyard/sdk';
import { ConnectionLimits } from './limits';
import { configSchema, frontendSchema } from './schema';

export * from './types';
export { ConnectionLimits };

export const NAME = '@switchyard/plugin-conn-limit';

/** The running ConnectionLimits of a gateway generation, for other plugins (stats) and tests. */
export const CONN_LIMITS = defineService<ConnectionLimits>('switchyard.connLimit', 'the gateway-wide and per-client connection limits');
/** @deprecated the token's id; use CONN_LIMITS with gateway.services. */
export const CONN_LIMITS_TOKEN = CONN_LIMITS.id;

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.3',
  core: '>=0.1.2 <1.0.0',
  description: 'Global maxconn (excess connections wait), connection rates per frontend and per client, concurrent connections and requests per client.',
  configKey: 'connLimit',
  schema: { config: configSchema, frontend: { connLimits: frontendSchema } },
  apply(gateway, config) {
    // config: { maxconn: number; maxconnWait: number }, from configSchema.
    const limits = new ConnectionLimits(config, gateway.frontends, gateway.logger.child({ plugin: NAME }));
    gateway.services.provide(CONN_LIMITS, limits);
    if (limits.needsAccept) {
      gateway.hooks.accept.tapPromise({ name: NAME, stage: Stage.SECURITY }, (conn) => limits.accept(conn));
      gateway.events.on('stopping', () => limits.close());
    }
    if (limits.needsRequests) {
      gateway.hooks.route.tap({ name: NAME, stage: Stage.SECURITY }, (ex) => limits.request(ex));
      gateway.hooks.log.tap({ name: NAME, stage: Stage.OBSERVE }, (ex) => limits.done(ex));
    }
  },
});

export default plugin;
