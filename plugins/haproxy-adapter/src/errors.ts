import { defineErrors } from '@switchyard/sdk';

export const HaproxyErrors = defineErrors({
  SYNTAX: { code: 'SWY_ERR_HAPROXY_SYNTAX', message: '%s' },
  UNKNOWN_DIRECTIVES: { code: 'SWY_ERR_HAPROXY_UNSUPPORTED', message: '%s unsupported directive(s); fix them, or run with --lenient to turn them into warnings:\n%s' },
});
