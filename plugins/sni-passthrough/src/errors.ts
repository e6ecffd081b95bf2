import { defineErrors } from '@switchyard/sdk';

export const SniErrors = defineErrors({
  NOT_TLS: { code: 'SWY_ERR_SNI_NOT_TLS', message: 'the client did not start with a TLS ClientHello: %s', status: 400 },
  TIMEOUT: { code: 'SWY_ERR_SNI_TIMEOUT', message: 'no complete ClientHello within %s ms', status: 408 },
  UNKNOWN_BACKEND: { code: 'SWY_ERR_SNI_UNKNOWN_BACKEND', message: 'frontend %s: sniPassthrough route %s names backend %s, which is not a tcp-mode backend' },
});
