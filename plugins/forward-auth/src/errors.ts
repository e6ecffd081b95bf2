import { defineErrors } from '@switchyard/sdk';

export const ForwardAuthErrors = defineErrors({
  BAD_URL: { code: 'SWY_ERR_FWDAUTH_BAD_URL', message: '%s: %s' },
  BAD_HEADER: { code: 'SWY_ERR_FWDAUTH_BAD_HEADER', message: '%s: "%s" is not a valid header name' },
  NO_ACL: { code: 'SWY_ERR_FWDAUTH_NO_ACL', message: '%s: if/unless needs @switchyard/plugin-acl in the plugins list' },
  DENIED: { code: 'SWY_ERR_FWDAUTH_DENIED', message: 'auth service %s answered %s', status: 401 },
  UNREACHABLE: { code: 'SWY_ERR_FWDAUTH_UNREACHABLE', message: 'auth service %s could not be reached (%s)', status: 503 },
  TIMEOUT: { code: 'SWY_ERR_FWDAUTH_TIMEOUT', message: 'auth service %s did not answer within %s ms', status: 504 },
});
