import { defineErrors } from '@switchyard/sdk';

export const HaproxyErrors = defineErrors({
  UNKNOWN_DIRECTIVE: { code: 'SWY_ERR_HAPROXY_UNKNOWN_DIRECTIVE', message: 'unsupported directive "%s" in %s: %s' },
  UNSUPPORTED_SECTION: { code: 'SWY_ERR_HAPROXY_UNSUPPORTED_SECTION', message: 'unsupported section "%s": %s' },
  SYNTAX: { code: 'SWY_ERR_HAPROXY_SYNTAX', message: '%s' },
  UNKNOWN_DIRECTIVES: { code: 'SWY_ERR_HAPROXY_UNSUPPORTED', message: '%s: %s unsupported directive(s); fix them, or run with --lenient to turn them into warnings:\n%s' },
  CLI_USAGE: { code: 'SWY_ERR_HAPROXY_CLI_USAGE', message: '%s' },
});
