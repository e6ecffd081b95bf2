import { defineErrors } from '@switchyard/sdk';

/** Errors of the resolvers plugin; each is listed in docs/errors.md. */
export const ResolversErrors = defineErrors({
  UNKNOWN_SECTION: { code: 'SWY_ERR_RESOLVERS_UNKNOWN_SECTION', message: 'server %s names resolvers "%s", but no resolvers section has that name (sections: %s)' },
  BAD_NAMESERVER: { code: 'SWY_ERR_RESOLVERS_BAD_NAMESERVER', message: 'nameserver "%s" is not an IP address with an optional port (Node.js\'s resolver takes addresses, not names)' },
  NO_NAMESERVER: { code: 'SWY_ERR_RESOLVERS_NO_NAMESERVER', message: 'resolvers %s has no nameserver (add nameservers, or parseResolvConf: true)' },
  BAD_NET: { code: 'SWY_ERR_RESOLVERS_BAD_NET', message: 'server %s: resolveNet "%s" is not a CIDR block' },
  INIT_ADDR: { code: 'SWY_ERR_RESOLVERS_INIT_ADDR', message: 'server %s: could not resolve address "%s" (init-addr %s)' },
});
