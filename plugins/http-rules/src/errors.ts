import { defineErrors } from '@switchyard/sdk';

/** Errors of the rules plugin; each is listed in docs/errors.md. */
export const RuleErrors = defineErrors({
  INVALID: { code: 'SWY_ERR_RULES_INVALID', message: '%s: %s' },
  BAD_HEADER: { code: 'SWY_ERR_RULES_BAD_HEADER', message: '%s: %s' },
  FILE: { code: 'SWY_ERR_RULES_FILE', message: '%s: cannot read %s: %s' },
  NO_ACL: { code: 'SWY_ERR_RULES_NO_ACL', message: '%s: conditions need @switchyard/plugin-acl in plugins' },
  HEADER_INJECTION: {
    code: 'SWY_ERR_RULES_HEADER_INJECTION',
    message: 'rule %s built a value for %s with CR, LF or NUL from the request; request refused',
    status: 400,
  },
  RESPONSE_HEADER_INJECTION: {
    code: 'SWY_ERR_RULES_RESPONSE_HEADER_INJECTION',
    message: 'http-response rule %s built a value for %s with CR, LF or NUL',
    status: 500,
  },
});
