import { defineErrors } from '@switchyard/sdk';

export const CacheErrors = defineErrors({
  STORE_UNKNOWN: {
    code: 'SWY_ERR_CACHE_STORE_UNKNOWN',
    message: 'no cache store named "%s" (known: %s)',
  },
  PURGE_ARGS: {
    code: 'SWY_ERR_CACHE_PURGE_ARGS',
    message: 'cache purge needs a url or a prefix',
    status: 400,
  },
  NOT_RUNNING: {
    code: 'SWY_ERR_CACHE_NOT_RUNNING',
    message: 'this gateway has no cache (is @switchyard/plugin-cache listed in plugins?)',
  },
});
