import { defineErrors } from '@switchyard/sdk';

export const BasicAuthErrors = defineErrors({
  BAD_HASH: {
    code: 'SWY_ERR_BASICAUTH_BAD_HASH',
    message: '%s: unsupported password hash (%s); use bcrypt ($2a$/$2b$/$2y$), SHA-256-crypt ($5$) or SHA-512-crypt ($6$), or insecurePassword',
  },
  UNKNOWN_USERLIST: {
    code: 'SWY_ERR_BASICAUTH_UNKNOWN_USERLIST',
    message: '%s: no userlist named "%s" (userlists: %s)',
  },
  UNKNOWN_GROUP: {
    code: 'SWY_ERR_BASICAUTH_UNKNOWN_GROUP',
    message: '%s: no group named "%s" in userlist %s',
  },
  USER_INVALID: {
    code: 'SWY_ERR_BASICAUTH_USER_INVALID',
    message: '%s: %s',
  },
  NO_ACL: {
    code: 'SWY_ERR_BASICAUTH_NO_ACL',
    message: '%s: if/unless needs @switchyard/plugin-acl in the plugins list',
  },
  DENIED: {
    code: 'SWY_ERR_BASICAUTH_DENIED',
    message: 'basic auth refused on frontend %s: %s',
    status: 401,
  },
});
