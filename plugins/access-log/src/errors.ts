import { defineErrors } from '@switchyard/sdk';

export const AccessLogErrors = defineErrors({
  FORMAT: {
    code: 'SWY_ERR_ACCESSLOG_FORMAT',
    message: 'access log format "%s": %s',
  },
  CONFIG: {
    code: 'SWY_ERR_ACCESSLOG_CONFIG',
    message: 'access log: %s',
  },
});
