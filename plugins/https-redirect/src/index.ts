import { definePlugin, Stage, type HttpExchange } from '@switchyard/sdk';
import { hstsSchema, httpsRedirectSchema, type HstsConfig, type HttpsRedirectConfig } from './schema';

export const NAME = '@switchyard/plugin-https-redirect';

export type { HttpsRedirectConfig, HstsConfig };

/** A host name, IPv4 address or bracketed IPv6 address, optionally with a port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Location for the same request over HTTPS, or null when the Host header is not usable. */
export function httpsLocation(ex: HttpExchange, port: number): string | null {
  const host = ex.host;
  if (host === '' || !HOST.test(host)) return null;
  const bare = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  // The URL is the client's, already checked by node:http for CR/LF; keep it as sent.
  return `https://${bare}${port === 443 ? '' : `:${port}`}${ex.url}`;
}

export function hstsValue(h: HstsConfig): string {
  return `max-age=${Math.floor(h.maxAge / 1000)}${h.includeSubDomains ? '; includeSubDomains' : ''}${h.preload ? '; preload' : ''}`;
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.2',
  core: '>=0.1.2 <1.0.0',
  description: 'Redirects plain-HTTP requests to HTTPS and adds Strict-Transport-Security to HTTPS responses.',
  schema: { frontend: { httpsRedirect: httpsRedirectSchema, hsts: hstsSchema } },
  apply(gateway) {
    const redirects = new Map<string, HttpsRedirectConfig>();
    const hsts = new Map<string, string>();
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      if (fe.mode !== 'http') continue;
      if (fe.httpsRedirect) redirects.set(name, fe.httpsRedirect as HttpsRedirectConfig);
      if (fe.hsts) hsts.set(name, hstsValue(fe.hsts as HstsConfig));
    }
    if (redirects.size > 0) {
      // Runs before anything else that could answer or spend effort on a plain-HTTP request.
      gateway.hooks.route.tap({ name: NAME, stage: Stage.CONNECTION - 50 }, (ex) => {
        if (ex.kind !== 'http' || ex.connection.tls !== null) return undefined;
        const cfg = redirects.get(ex.frontend.name);
        if (cfg === undefined) return undefined;
        const path = ex.path;
        for (const prefix of cfg.except) if (path.startsWith(prefix)) return undefined;
        const location = httpsLocation(ex, cfg.port);
        if (location === null) ex.respond(400, 'Bad Request: no usable Host header\n', { 'content-type': 'text/plain' });
        else ex.respond(cfg.status, '', { location, 'cache-control': 'no-store' });
        return { handled: true };
      });
    }
    if (hsts.size > 0) {
      gateway.hooks.respond.tap({ name: NAME, stage: Stage.REWRITE }, (head, ex) => {
        if (ex.connection.tls === null) return head;
        const value = hsts.get(ex.frontend.name);
        if (value !== undefined) head.headers['strict-transport-security'] = value;
        return head;
      });
    }
  },
});

export default plugin;
