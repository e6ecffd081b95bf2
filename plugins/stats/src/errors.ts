import { defineErrors } from '@switchyard/sdk';

export const StatsErrors = defineErrors({
  LISTEN: {
    code: 'SWY_ERR_STATS_LISTEN',
    message: 'stats page could not listen on %s: %s',
  },
  ADMIN_AUTH: {
    code: 'SWY_ERR_STATS_ADMIN_AUTH',
    message: '%s: admin actions need stats.auth (a user name and password)',
  },
  NO_ACL: {
    code: 'SWY_ERR_STATS_NO_ACL',
    message: '%s: an if/unless condition needs @switchyard/plugin-acl in plugins',
  },
});
