import { definePlugin, type ServerState } from '@switchyard/sdk';
import { serverOptions, type SlowStartServerOptions } from './schema';
import { SlowStart, REASON } from './ramp';

export { SlowStart, REASON };

export type { SlowStartServerOptions };

export const plugin = definePlugin({
  name: '@switchyard/plugin-slowstart',
  version: '0.1.2',
  core: '>=0.1.2 <1.0.0',
  description: 'Slow start: a server that comes back (health up, or out of maint/drain) ramps its weight up over `slowstart`.',
  schema: { server: serverOptions },
  apply(gateway) {
    const durations = new Map<ServerState, number>();
    for (const be of gateway.backends.values()) {
      for (const s of be.servers) {
        const ms = (s.config as SlowStartServerOptions).slowstart ?? 0;
        if (ms > 0) durations.set(s, ms);
      }
    }
    if (durations.size === 0) return;
    new SlowStart(durations).attach(gateway);
  },
});

export default plugin;
