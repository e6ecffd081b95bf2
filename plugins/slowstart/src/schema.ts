import { DurationOption, type StaticProperties } from '@switchyard/sdk';

/** The property this plugin adds to every server (filled with 0, off). */
export const serverOptions = {
  slowstart: DurationOption(
    'After the server comes back up or out of maint/drain, ramp its weight from 1 to its full weight over this long (HAProxy slowstart); 0 = off. Not applied at start-up.',
    0,
  ),
};

/** Server option this plugin adds: `slowstart` in ms (0 = off). */
export type SlowStartServerOptions = StaticProperties<typeof serverOptions>;
