import { definePlugin, Stage } from '@switchyard/sdk';
import { ConnectionLimits } from './limits';
import { configSchema, frontendSchema } from './schema';
import type { ConnLimitConfig } from './types';

export * from './types';
export { ConnectionLimits };

export const NAME = '@switchyard/plugin-conn-limit';

/** Key in the gateway container under which the running ConnectionLimits is registered (tests, stats). */
export const CONN_LIMITS_TOKEN = 'switchyard.connLimit';

export const plugin = definePlugin<ConnLimitConfig>({
  name: NAME,
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Global maxconn (excess connections wait), connection rates per frontend and per client, concurrent connections and requests per client.',
  configKey: 'connLimit',
  schema: { config: configSchema, frontend: { connLimits: frontendSchema } },
  apply(gateway, config) {
    const limits = new ConnectionLimits(config, gateway.frontends, gateway.logger.child({ plugin: NAME }));
    gateway.container.register(CONN_LIMITS_TOKEN, { useValue: limits });
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
