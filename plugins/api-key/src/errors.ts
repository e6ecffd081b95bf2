import { defineErrors } from '@switchyard/sdk';

export const ApiKeyErrors = defineErrors({
  BAD_KEY: { code: 'SWY_ERR_APIKEY_BAD_KEY', message: '%s: %s' },
  FILE: { code: 'SWY_ERR_APIKEY_FILE', message: '%s: cannot read key file %s (%s)' },
  UNKNOWN_SET: { code: 'SWY_ERR_APIKEY_UNKNOWN_SET', message: '%s: no key set named "%s" (key sets: %s)' },
  NO_ACL: { code: 'SWY_ERR_APIKEY_NO_ACL', message: '%s: if/unless needs @switchyard/plugin-acl in the plugins list' },
  DENIED: { code: 'SWY_ERR_APIKEY_DENIED', message: 'API key refused on frontend %s: %s', status: 401 },
});
