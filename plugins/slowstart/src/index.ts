import { definePlugin, durationSchema, type ServerState } from '@switchyard/sdk';
import { SlowStart, REASON } from './ramp';

export { SlowStart, REASON };

/** Server option this plugin adds. */
export interface SlowStartServerOptions {
  /** ms over which the weight ramps up after the server comes back; 0 = off. */
  slowstart?: number;
}

export const plugin = definePlugin({
  name: '@switchyard/plugin-slowstart',
  version: '0.1.1',
  core: '^0.1.0',
  description: 'Slow start: a server that comes back (health up, or out of maint/drain) ramps its weight up over `slowstart`.',
  schema: {
    server: {
      slowstart: durationSchema(
        'After the server comes back up or out of maint/drain, ramp its weight from 1 to its full weight over this long (HAProxy slowstart); 0 = off. Not applied at start-up.',
        0,
      ),
    },
  },
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
