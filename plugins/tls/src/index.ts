import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SecureContext } from 'node:tls';
import { definePlugin, durationSchema, FETCH_SLOT, Stage, type BindConfig, type HttpExchange, type TlsBindConfig } from '@switchyard/sdk';
import { CertificateStore } from './certificates';
import { TlsErrors } from './errors';
import { TLS_FETCHES } from './fetches';

export { CertificateStore, CertificateIndex, loadCertificate, certificateNames } from './certificates';
export { TlsErrors } from './errors';
export { TLS_FETCHES } from './fetches';

export const NAME = '@switchyard/plugin-tls';

export interface TlsPluginConfig {
  /** How often certificate files are checked for changes, ms; 0 turns reloading off. */
  reloadInterval: number;
}

/** Extra `bind.tls` keys this plugin declares (the core honours strictSni/verify/ca/minVersion/ciphers/alpn). */
export interface TlsPluginBindConfig extends TlsBindConfig {
  certificates: string[];
  clientCertHeaders: boolean;
}

/** Headers sent to servers with the client certificate, and removed from what clients send. */
export const CLIENT_CERT_HEADERS = Object.freeze({
  verify: 'x-ssl-client-verify',
  subject: 'x-ssl-client-s-dn',
  issuer: 'x-ssl-client-i-dn',
  serial: 'x-ssl-client-serial',
  fingerprint: 'x-ssl-client-sha256',
});

/** Printable ASCII only in a header value: anything else (CR, LF, NUL, UTF-8) becomes \xHH. */
function headerSafe(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : Buffer.from(v, 'utf8').reduce((s, b) => s + (b >= 0x20 && b <= 0x7e && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`), '');
}

function setClientCertHeaders(ex: HttpExchange): void {
  const h = ex.upstream.headers;
  for (const name of Object.values(CLIENT_CERT_HEADERS)) delete h[name];
  const c = ex.connection.tls?.clientCert ?? null;
  if (c === null) {
    h[CLIENT_CERT_HEADERS.verify] = 'NONE';
    return;
  }
  h[CLIENT_CERT_HEADERS.verify] = c.verified ? 'SUCCESS' : `FAILED:${headerSafe(c.verifyError ?? 'UNKNOWN')}`;
  h[CLIENT_CERT_HEADERS.subject] = headerSafe(c.subject);
  h[CLIENT_CERT_HEADERS.issuer] = headerSafe(c.issuer);
  h[CLIENT_CERT_HEADERS.serial] = headerSafe(c.serial);
  h[CLIENT_CERT_HEADERS.fingerprint] = headerSafe(c.fingerprint256);
}

const tlsSchema = {
  certificates: {
    type: 'array',
    default: [],
    items: { type: 'string' },
    description:
      'More certificates served by SNI: PEM files holding the chain and the key (or the key in a .key file beside), or directories of them. The bind\'s cert/key stays the default certificate.',
  },
  strictSni: { type: 'boolean', default: false, description: 'Refuse handshakes without SNI or for a name no certificate covers.' },
  verify: { enum: ['none', 'optional', 'required'], default: 'none', description: 'Client certificates (mTLS): not asked, asked and checked, or required.' },
  ca: { type: 'string', description: 'PEM CA bundle client certificates are verified against (needed with verify).' },
  clientCertHeaders: {
    type: 'boolean',
    default: true,
    description: 'With verify, send the client certificate\'s verification result, subject, issuer, serial and SHA-256 to servers as x-ssl-client-* headers (removing any the client sent).',
  },
  minVersion: { enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2', description: 'Lowest TLS version accepted.' },
  ciphers: { type: 'string', description: 'OpenSSL cipher list for TLS 1.2 (default: Mozilla intermediate, ECDHE + AEAD only).' },
  alpn: {
    type: 'array',
    items: { type: 'string' },
    description: 'ALPN protocols offered, in order (default h2, http/1.1 in HTTP mode). Leave out h2 to serve HTTP/1.1 only.',
  },
};

export const plugin = definePlugin<TlsPluginConfig>({
  name: NAME,
  version: '0.1.2',
  core: '^0.1.0',
  description: 'Several certificates per TLS bind chosen by SNI (wildcards, strict SNI), reloaded when their files change; client certificates (mTLS) for ACLs and servers.',
  configKey: 'tls',
  schema: {
    config: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'Certificate handling shared by every TLS bind.',
      properties: {
        reloadInterval: durationSchema('How often certificate files and directories are checked for changes (0 = never).', '5s'),
      },
    },
    tls: tlsSchema,
    server: {
      tls: {
        type: 'object',
        additionalProperties: false,
        description: 'Speak TLS to this server (HTTP and TCP forwarders).',
        properties: {
          verify: { type: 'boolean', default: true, description: 'Verify the server certificate (against ca, else the system CAs) and its name.' },
          ca: { type: 'string', description: 'PEM CA bundle to verify the server against.' },
          sni: { type: 'string', description: 'Server name for SNI and the certificate check (default: the server host when it is a name).' },
          alpn: { type: 'array', items: { type: 'string' }, description: 'ALPN protocols offered; include h2 to speak HTTP/2 to this server.' },
          cert: { type: 'string', description: 'Client certificate (PEM chain) presented to the server.' },
          key: { type: 'string', description: 'Key of the client certificate.' },
        },
      },
    },
  },
  register({ slots }) {
    // ssl_fc / ssl_fc_sni are also offered by the ACL plugin: whichever plugin is listed first keeps them.
    for (const [name, def] of Object.entries(TLS_FETCHES)) {
      if (slots.get(FETCH_SLOT, name) === undefined) slots.provide(FETCH_SLOT, name, def, { description: def.description });
    }
  },
  apply(gateway, config) {
    const logger = gateway.logger.child({ plugin: NAME });
    const baseDir = gateway.baseDir;
    const resolve = (f: string): string => path.resolve(baseDir, f);
    const stores = new Map<BindConfig, CertificateStore>();
    const headerFrontends = new Set<string>();
    for (const [feName, fe] of Object.entries(gateway.config.frontends)) {
      for (const bind of fe.bind) {
        const t = bind.tls as TlsPluginBindConfig | undefined;
        if (!t) continue;
        const verify = t.verify ?? 'none';
        if (verify !== 'none' && !t.ca) throw TlsErrors.CERT_LOAD(`frontends.${feName}.bind`, `verify: ${verify} needs a ca file`);
        let ca: Buffer | null = null;
        if (t.ca) {
          try {
            ca = fs.readFileSync(resolve(t.ca));
          } catch (err) {
            throw TlsErrors.CERT_LOAD.with({ cause: err }, resolve(t.ca), (err as Error).message);
          }
        }
        const store = new CertificateStore(t, (t.certificates ?? []).map(resolve), { cert: resolve(t.cert), key: resolve(t.key) }, ca, logger.child({ frontend: feName }));
        store.load();
        store.watch(config.reloadInterval);
        stores.set(bind, store);
        if (verify !== 'none' && t.clientCertHeaders !== false && fe.mode === 'http') headerFrontends.add(feName);
      }
    }
    gateway.onStop(() => {
      for (const s of stores.values()) s.close();
    });
    if (stores.size > 0) {
      gateway.hooks.tls.tapPromise({ name: NAME, stage: Stage.DEFAULT }, async (hello): Promise<SecureContext | undefined> => {
        if (hello.bind) return stores.get(hello.bind)?.index.find(hello.servername)?.context;
        for (const b of gateway.config.frontends[hello.frontend.name]?.bind ?? []) {
          const hit = stores.get(b)?.index.find(hello.servername);
          if (hit) return hit.context;
        }
        return undefined;
      });
    }
    if (headerFrontends.size > 0) {
      gateway.hooks.route.tap({ name: NAME, stage: Stage.CONNECTION }, (ex) => {
        if (ex.kind === 'http' && headerFrontends.has(ex.frontend.name)) setClientCertHeaders(ex);
        return undefined;
      });
    }
  },
});

export default plugin;
