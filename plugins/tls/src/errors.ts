import { defineErrors } from '@switchyard/sdk';

export const TlsErrors = defineErrors({
  CERT_LOAD: { code: 'SWY_ERR_TLS_CERT_LOAD', message: 'certificate %s could not be loaded: %s' },
  NO_KEY: { code: 'SWY_ERR_TLS_NO_KEY', message: 'certificate %s has no private key (put it in the same PEM file or in %s)' },
  NO_CERTIFICATE: { code: 'SWY_ERR_TLS_NO_CERTIFICATE', message: '%s holds no certificate' },
  FETCH_ARG: { code: 'SWY_ERR_TLS_FETCH_ARG', message: 'fetch %s: %s' },
});
