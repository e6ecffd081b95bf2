import { defineErrors } from '@switchyard/sdk';

export const PrometheusErrors = defineErrors({
  LISTEN: {
    code: 'SWY_ERR_PROMETHEUS_LISTEN',
    message: 'metrics endpoint could not listen on %s: %s',
  },
});
