import { defineErrors } from '@switchyard/sdk';

export const JwtErrors = defineErrors({
  NO_KEYS: {
    code: 'SWY_ERR_JWT_NO_KEYS',
    message: '%s: give exactly one key source: secret, secretFile, keyFile or jwksUrl',
  },
  KEY_LOAD: {
    code: 'SWY_ERR_JWT_KEY_LOAD',
    message: '%s: cannot load the key (%s)',
  },
  ALGORITHMS: {
    code: 'SWY_ERR_JWT_ALGORITHMS',
    message: '%s: %s',
  },
  BAD_HEADER: {
    code: 'SWY_ERR_JWT_BAD_HEADER',
    message: '%s: "%s" is not a valid header name',
  },
  NO_ACL: {
    code: 'SWY_ERR_JWT_NO_ACL',
    message: '%s: if/unless needs @switchyard/plugin-acl in the plugins list',
  },
  DENIED: {
    code: 'SWY_ERR_JWT_DENIED',
    message: 'JWT refused on frontend %s: %s',
    status: 401,
  },
  JWKS_UNAVAILABLE: {
    code: 'SWY_ERR_JWT_JWKS_UNAVAILABLE',
    message: 'JWKS %s could not be fetched: %s',
    status: 503,
  },
  CLAIM_HEADER: {
    code: 'SWY_ERR_JWT_CLAIM_HEADER',
    message: 'claim %s holds CR, LF or NUL: not sent as header %s',
    status: 400,
  },
});
