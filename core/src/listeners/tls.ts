import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { TLS_DEFAULTS, type ClientCertificateInfo, type TlsBindConfig, type TlsInfo } from '@switchyard/sdk';

export const DEFAULT_CIPHERS = TLS_DEFAULTS.ciphers;
export const DEFAULT_MIN_VERSION = TLS_DEFAULTS.minVersion;

/** The context options every context on a bind shares: versions, ciphers, client-cert CA. */
export function baseContextOptions(bind: TlsBindConfig, ca: Buffer | null): tls.SecureContextOptions {
  return {
    minVersion: bind.minVersion ?? DEFAULT_MIN_VERSION,
    ciphers: bind.ciphers ?? DEFAULT_CIPHERS,
    honorCipherOrder: true,
    ...(ca ? { ca } : {}),
  };
}

export interface TlsTerminatorOptions {
  bind: TlsBindConfig;
  /** The bind's own certificate and key (the default certificate). */
  cert: Buffer;
  key: Buffer;
  ca: Buffer | null;
  alpn: string[];
  handshakeTimeout: number;
  /**
   * Asks the `tls` hook for a context for a server name; null when nobody taps it.
   * Resolves undefined when no tap has a certificate for the name.
   */
  lookup: ((servername: string) => Promise<tls.SecureContext | undefined>) | null;
}

/**
 * A non-listening tls.Server that the listener hands accepted sockets to: it owns the
 * handshake (SNI, ALPN, client certificates, session tickets and the handshake timeout)
 * and emits 'secureConnection' once a socket is ready.
 */
export function createTlsTerminator(o: TlsTerminatorOptions): { server: tls.Server; defaultContext: tls.SecureContext } {
  const base = baseContextOptions(o.bind, o.ca);
  const defaultContext = tls.createSecureContext({ ...base, cert: o.cert, key: o.key });
  const strict = o.bind.strictSni === true;
  const defaultCert = strict ? new X509Certificate(o.cert) : null;
  const fallback = (servername: string): tls.SecureContext | null =>
    !strict || defaultCert!.checkHost(servername) !== undefined ? defaultContext : null;
  const lookup = o.lookup;
  const verify = o.bind.verify ?? 'none';
  const server = tls.createServer({
    // strictSni: the initial context has no certificate, so a handshake without SNI fails;
    // with SNI, the callback below swaps in the right one.
    ...(strict ? base : { ...base, cert: o.cert, key: o.key }),
    ALPNProtocols: o.alpn.length > 0 ? o.alpn : undefined,
    handshakeTimeout: o.handshakeTimeout,
    requestCert: verify !== 'none',
    rejectUnauthorized: verify === 'required',
    SNICallback: (servername, cb) => {
      if (lookup === null) {
        const ctx = fallback(servername);
        if (ctx) cb(null, ctx);
        else cb(new Error(`strict SNI: no certificate for ${servername}`), undefined);
        return;
      }
      lookup(servername).then(
        (found) => {
          const ctx = found ?? fallback(servername);
          if (ctx) cb(null, ctx);
          else cb(new Error(`strict SNI: no certificate for ${servername}`), undefined);
        },
        (err: Error) => cb(err, undefined),
      );
    },
  });
  return { server, defaultContext };
}

/** "/C=FR/O=Example/CN=alice", OpenSSL's one-line form, from a parsed DN object. */
function oneLineDn(dn: Record<string, string | string[]> | undefined): string {
  if (!dn) return '';
  let out = '';
  for (const [k, v] of Object.entries(dn)) for (const x of Array.isArray(v) ? v : [v]) out += `/${k}=${x}`;
  return out;
}

export function clientCertificateOf(socket: tls.TLSSocket): ClientCertificateInfo | null {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return null;
  const authError = socket.authorizationError as unknown as string | Error | null | undefined;
  return {
    subject: oneLineDn(cert.subject as unknown as Record<string, string | string[]>),
    issuer: oneLineDn(cert.issuer as unknown as Record<string, string | string[]>),
    serial: String(cert.serialNumber ?? '').toUpperCase(),
    fingerprint256: cert.fingerprint256 ?? '',
    validFrom: cert.valid_from ?? '',
    validTo: cert.valid_to ?? '',
    verified: socket.authorized === true,
    verifyError: socket.authorized ? null : authError ? (typeof authError === 'string' ? authError : String((authError as Error & { code?: string }).code ?? authError.message)) : 'UNKNOWN',
  };
}

export function tlsInfoOf(socket: tls.TLSSocket, askedForCert: boolean): TlsInfo {
  const s = socket as tls.TLSSocket & { servername?: string | false };
  return {
    servername: typeof s.servername === 'string' ? s.servername : null,
    alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.name ?? null,
    resumed: socket.isSessionReused(),
    clientCert: askedForCert ? clientCertificateOf(socket) : null,
  };
}
