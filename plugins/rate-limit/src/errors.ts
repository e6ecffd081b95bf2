import { defineErrors } from '@switchyard/sdk';

/** Every error this plugin raises; docs/errors.md lists each code. */
export const RateLimitErrors = defineErrors({
  UNKNOWN_FETCH: {
    code: 'SWY_ERR_RATELIMIT_UNKNOWN_FETCH',
    message: '%s: key "%s" names fetch "%s", which no loaded plugin provides (built in: src, hdr(), path, cookie(); in the fetch slot: %s)',
  },
  BAD_KEY: { code: 'SWY_ERR_RATELIMIT_BAD_KEY', message: '%s: key "%s" is not usable: %s' },
  UNKNOWN_STORE: {
    code: 'SWY_ERR_RATELIMIT_UNKNOWN_STORE',
    message: 'rateLimit.store "%s" is not provided by any loaded plugin (known: %s)',
  },
  STORE_FAILED: { code: 'SWY_ERR_RATELIMIT_STORE_FAILED', message: 'rate-limit store %s failed: %s', status: 503 },
  NO_ACL: {
    code: 'SWY_ERR_RATELIMIT_NO_ACL',
    message: '%s uses if/unless, which needs @switchyard/plugin-acl in the plugins list (or use methods / pathPrefix)',
  },
  DUPLICATE_COUNTER: { code: 'SWY_ERR_RATELIMIT_DUPLICATE_COUNTER', message: 'frontend %s tracks sticky counter %s twice' },
  DUPLICATE_TABLE: { code: 'SWY_ERR_RATELIMIT_DUPLICATE_TABLE', message: 'rateLimit.tables: stick table "%s" is declared twice' },
  UNKNOWN_TABLE: { code: 'SWY_ERR_RATELIMIT_UNKNOWN_TABLE', message: '%s: no stick table "%s" in rateLimit.tables (declared: %s)' },
});
