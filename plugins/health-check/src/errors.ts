import { defineErrors } from '@switchyard/sdk';

export const HealthErrors = defineErrors({
  UNKNOWN_KIND: {
    code: 'SWY_ERR_HEALTH_UNKNOWN_KIND',
    message: '%s: no health check kind "%s" (available: %s)',
  },
  BAD_OPTION: {
    code: 'SWY_ERR_HEALTH_BAD_OPTION',
    message: '%s: %s',
  },
});
