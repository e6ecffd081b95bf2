import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SecureContext } from 'node:tls';
import { definePlugin, FETCH_SLOT, Stage, type BindConfig, type HttpExchange } from '@switchyard/sdk';
import { configSchema, serverTlsSchema, tlsOptions, type TlsPluginBindConfig, type TlsPluginConfig } from './schema';
import { CertificateStore } from './certificates';
import { TlsErrors } from './errors';
import { TLS_FETCHES } from './fetches';

export { CertificateStore, CertificateIndex, loadCertificate, certificateNames } from './certificates';
export { TlsErrors } from './errors';
export { TLS_FETCHES } from './fetches';

export const NAME = '@switchyard/plugin-tls';

export type { TlsPluginBindConfig, TlsPluginConfig };

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

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.3',
  core: '>=0.1.2 <1.0.0',
  description: 'Several certificates per TLS bind chosen by SNI (wildcards, strict SNI), reloaded when their files change; client certificates (mTLS) for ACLs and servers.',
  configKey: 'tls',
  schema: { config: configSchema, tls: tlsOptions, server: { tls: serverTlsSchema } },
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
