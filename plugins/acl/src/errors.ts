import { defineErrors } from '@switchyard/sdk';

/** Errors of the ACL language and routing; each is listed in docs/errors.md. */
export const AclErrors = defineErrors({
  SYNTAX: { code: 'SWY_ERR_ACL_SYNTAX', message: '%s: %s' },
  UNKNOWN_FETCH: { code: 'SWY_ERR_ACL_UNKNOWN_FETCH', message: '%s: unknown fetch "%s" (known: %s)' },
  BAD_FETCH_ARG: { code: 'SWY_ERR_ACL_BAD_FETCH_ARG', message: '%s: fetch "%s": %s' },
  UNKNOWN_MATCH: { code: 'SWY_ERR_ACL_UNKNOWN_MATCH', message: '%s: unknown match method "%s" (known: %s)' },
  UNKNOWN_CONVERTER: { code: 'SWY_ERR_ACL_UNKNOWN_CONVERTER', message: '%s: unknown converter "%s" (known: %s)' },
  BAD_PATTERN: { code: 'SWY_ERR_ACL_BAD_PATTERN', message: '%s: pattern "%s" is not valid for -m %s: %s' },
  UNKNOWN_ACL: { code: 'SWY_ERR_ACL_UNKNOWN_ACL', message: '%s: no ACL named "%s" (defined: %s)' },
  FILE: { code: 'SWY_ERR_ACL_FILE', message: '%s: cannot read %s: %s' },
  UNKNOWN_BACKEND: { code: 'SWY_ERR_ACL_UNKNOWN_BACKEND', message: '%s: backend "%s" does not exist (backends: %s)' },
  MODE_MISMATCH: { code: 'SWY_ERR_ACL_MODE_MISMATCH', message: '%s: %s' },
  CLI_USAGE: { code: 'SWY_ERR_ACL_CLI_USAGE', message: '%s' },
});
