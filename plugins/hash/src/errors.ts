import { defineErrors } from '@switchyard/sdk';

/** Errors of @switchyard/plugin-hash (listed in docs/errors.md). All are raised at load. */
export const HashErrors = defineErrors({
  FETCH_UNKNOWN: {
    code: 'SWY_ERR_HASH_FETCH_UNKNOWN',
    message: 'backend %s: hashKey "%s" names fetch "%s", which no loaded plugin provides (known: %s)',
  },
  KEY_INVALID: {
    code: 'SWY_ERR_HASH_KEY_INVALID',
    message: 'backend %s: %s',
  },
  MODE: {
    code: 'SWY_ERR_HASH_MODE',
    message: 'backend %s: balance %s reads HTTP requests, but the backend is mode tcp (use source or hash with a tcp fetch)',
  },
});
