import { defineErrors } from '@switchyard/sdk';

export const ProxyProtocolErrors = defineErrors({
  BAD_HEADER: { code: 'SWY_ERR_PROXY_BAD_HEADER', message: 'invalid PROXY protocol header: %s', status: 400 },
  TIMEOUT: { code: 'SWY_ERR_PROXY_TIMEOUT', message: 'no PROXY protocol header within %s ms', status: 408 },
});
