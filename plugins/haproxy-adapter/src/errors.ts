import { defineErrors } from '@switchyard/sdk';

export const HaproxyErrors = defineErrors({
  SYNTAX: { code: 'SWY_ERR_HAPROXY_SYNTAX', message: '%s' },
  /** The first refused directive in its own words (its file:line is the error's location), then every other one. */
  UNKNOWN_DIRECTIVES: { code: 'SWY_ERR_HAPROXY_UNSUPPORTED', message: '%s%s' },
});
