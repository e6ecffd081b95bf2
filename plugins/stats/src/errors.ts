import { defineErrors } from '@switchyard/sdk';

export const StatsErrors = defineErrors({
  LISTEN: {
    code: 'SWY_ERR_STATS_LISTEN',
    message: 'stats page could not listen on %s: %s',
  },
});
