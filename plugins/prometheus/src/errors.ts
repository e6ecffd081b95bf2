import { defineErrors } from '@switchyard/sdk';

export const PrometheusErrors = defineErrors({
  LISTEN: {
    code: 'SWY_ERR_PROMETHEUS_LISTEN',
    message: 'metrics endpoint could not listen on %s: %s',
  },
  NO_ACL: {
    code: 'SWY_ERR_PROMETHEUS_NO_ACL',
    message: '%s: an if/unless condition needs @switchyard/plugin-acl in plugins',
  },

});
