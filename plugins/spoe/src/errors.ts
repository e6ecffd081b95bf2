import { defineErrors } from '@switchyard/sdk';

/** Errors of the SPOE plugin; each is listed in docs/errors.md. */
export const SpoeErrors = defineErrors({
  BAD_CONFIG: { code: 'SWY_ERR_SPOE_BAD_CONFIG', message: 'SPOE configuration %s: %s' },
  EVENT: { code: 'SWY_ERR_SPOE_EVENT', message: 'SPOE event "%s" (message %s) is not supported; supported: %s' },
  UNKNOWN_GROUP: { code: 'SWY_ERR_SPOE_UNKNOWN_GROUP', message: 'send-spoe-group: %s is not among %s' },
  NO_ACL: { code: 'SWY_ERR_SPOE_NO_ACL', message: 'SPOE needs @switchyard/plugin-acl (sample fetches for message arguments)' },
});
