import { defineErrors } from '@switchyard/sdk';

/** Errors of @switchyard/plugin-stickiness (listed in docs/errors.md). All are raised at load. */
export const StickErrors = defineErrors({
  FETCH_UNKNOWN: {
    code: 'SWY_ERR_STICK_FETCH_UNKNOWN',
    message: 'backend %s: stickTable.key "%s" names fetch "%s", which no loaded plugin provides (known: %s)',
  },
  CONFIG: {
    code: 'SWY_ERR_STICK_CONFIG',
    message: 'backend %s: %s',
  },
  STORE_UNKNOWN: {
    code: 'SWY_ERR_STICK_STORE_UNKNOWN',
    message: 'backend %s: stickTable.store "%s" is not provided by any loaded plugin (known: %s)',
  },
});
