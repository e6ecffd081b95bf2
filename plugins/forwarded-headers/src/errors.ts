import { defineErrors } from '@switchyard/sdk';

/** Errors of the forwarded-headers plugin; each is listed in docs/errors.md. */
export const ForwardedErrors = defineErrors({
  BAD_PROXY: { code: 'SWY_ERR_FORWARDED_BAD_PROXY', message: '%s: "%s" is not an IPv4/IPv6 address or CIDR block' },
});
