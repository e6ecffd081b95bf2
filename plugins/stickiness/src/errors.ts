import { defineErrors } from '@switchyard/sdk';

/** Errors of @switchyard/plugin-stickiness (listed in docs/errors.md). NO_TABLE and COMMAND_ARGS answer runtime commands; the rest are raised at load. */
export const StickErrors = defineErrors({
  FETCH_UNKNOWN: {
    code: 'SWY_ERR_STICK_FETCH_UNKNOWN',
    message: 'backend %s: stickTable.key "%s" names fetch "%s", which no loaded plugin provides (known: %s)',
  },
  CONFIG: {
    code: 'SWY_ERR_STICK_CONFIG',
    message: 'backend %s: %s',
  },
  NO_TABLE: {
    code: 'SWY_ERR_STICK_NO_TABLE',
    message: 'backend %s has no stick table (runtime command %s)',
    status: 404,
  },
  COMMAND_ARGS: {
    code: 'SWY_ERR_STICK_COMMAND_ARGS',
    message: 'runtime command %s needs %s',
    status: 400,
  },
  STORE_UNKNOWN: {
    code: 'SWY_ERR_STICK_STORE_UNKNOWN',
    message: 'backend %s: stickTable.store "%s" is not provided by any loaded plugin (known: %s)',
  },
});
