import type { ClientCertificateInfo, Exchange, FetchDefinition, FetchValue } from '@switchyard/sdk';
import { TlsErrors } from './errors';

type Reader = (ex: Exchange) => FetchValue;

const cert = (ex: Exchange): ClientCertificateInfo | null => ex.connection.tls?.clientCert ?? null;

/** A field of a one-line DN (`/C=FR/O=Example/CN=alice`), the last one when repeated (HAProxy's default). */
function dnField(field: string): (dn: string) => string | null {
  const re = new RegExp(`(?:^|/)${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}=([^/]*)`, 'g');
  return (dn) => {
    let last: string | null = null;
    re.lastIndex = 0;
    for (let m = re.exec(dn); m !== null; m = re.exec(dn)) last = m[1]!;
    return last;
  };
}

function simple(description: string, modes: ReadonlyArray<'http' | 'tcp'>, read: Reader): FetchDefinition {
  return {
    description,
    arg: 'none',
    modes,
    compile(arg) {
      if (arg !== undefined && arg !== '') throw TlsErrors.FETCH_ARG('this fetch', 'takes no argument');
      return read;
    },
  };
}

function dn(description: string, pick: (c: ClientCertificateInfo) => string): FetchDefinition {
  return {
    description,
    arg: 'optional',
    modes: ['http', 'tcp'],
    compile(arg) {
      if (arg === undefined || arg === '') return (ex) => {
        const c = cert(ex);
        return c ? pick(c) : null;
      };
      if (!/^[A-Za-z][A-Za-z0-9.]*$/.test(arg)) throw TlsErrors.FETCH_ARG(description, `"${arg}" is not a DN field name (CN, O, OU…)`);
      const field = dnField(arg);
      return (ex) => {
        const c = cert(ex);
        return c ? field(pick(c)) : null;
      };
    },
  };
}

const BOTH = ['http', 'tcp'] as const;

/** HAProxy-named sample fetches over the connection's TLS facts. */
export const TLS_FETCHES: Readonly<Record<string, FetchDefinition>> = Object.freeze({
  ssl_fc: simple('True when the client connection is TLS.', BOTH, (ex) => ex.connection.tls !== null),
  ssl_fc_sni: simple('Server name the client sent (SNI), or null.', BOTH, (ex) => ex.connection.tls?.servername ?? null),
  ssl_fc_alpn: simple('Protocol chosen by ALPN (h2, http/1.1), or null.', BOTH, (ex) => ex.connection.tls?.alpn ?? null),
  ssl_fc_protocol: simple('TLS version (TLSv1.2, TLSv1.3).', BOTH, (ex) => ex.connection.tls?.protocol ?? null),
  ssl_fc_cipher: simple('Cipher suite name.', BOTH, (ex) => ex.connection.tls?.cipher ?? null),
  ssl_fc_is_resumed: simple('True when the TLS session was resumed.', BOTH, (ex) => ex.connection.tls?.resumed === true),
  ssl_c_used: simple('True when the client presented a certificate.', BOTH, (ex) => cert(ex) !== null),
  ssl_c_verify: simple(
    'Verification result of the client certificate: 0 when it verified, the OpenSSL error code otherwise, null without one.',
    BOTH,
    (ex) => {
      const c = cert(ex);
      return c === null ? null : c.verified ? 0 : (c.verifyError ?? 'UNKNOWN');
    },
  ),
  ssl_c_s_dn: dn('Client certificate subject DN (/C=…/O=…/CN=…), or one field of it: ssl_c_s_dn(CN).', (c) => c.subject),
  ssl_c_i_dn: dn('Client certificate issuer DN, or one field of it: ssl_c_i_dn(O).', (c) => c.issuer),
  ssl_c_serial: simple('Client certificate serial number (hex).', BOTH, (ex) => cert(ex)?.serial ?? null),
  ssl_c_sha256: simple('Client certificate SHA-256 fingerprint (colon-separated hex).', BOTH, (ex) => cert(ex)?.fingerprint256 ?? null),
  ssl_c_notafter: simple('Client certificate end of validity.', BOTH, (ex) => cert(ex)?.validTo ?? null),
  ssl_c_notbefore: simple('Client certificate start of validity.', BOTH, (ex) => cert(ex)?.validFrom ?? null),
});
