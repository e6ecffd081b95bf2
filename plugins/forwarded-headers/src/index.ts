import * as net from 'node:net';
import { HAPROXY_DIRECTIVE_SLOT, Stage, definePlugin, haproxyDirectiveName, type Exchange, type GatewayApi, type HttpExchange } from '@switchyard/sdk';
import { ForwardedErrors } from './errors';
import { forwardedHeadersSchema, type ForwardedHeadersConfig } from './schema';
import { AddressSet } from '@switchyard/sdk';

export { ForwardedErrors } from './errors';
import { forwardforDirective } from './haproxy';
export { forwardforDirective };

export const NAME = '@switchyard/plugin-forwarded-headers';

export type { ForwardedHeadersConfig };

const BAD_VALUE = /[\r\n\0]/;

const schema = forwardedHeadersSchema;

function trustList(list: ReadonlyArray<string>, where: string): (addr: string) => boolean {
  if (list.length === 0) return () => false;
  const set = new AddressSet();
  for (const p of list) {
    try {
      set.add(p);
    } catch (err) {
      throw ForwardedErrors.BAD_PROXY.with({ location: { path: where }, cause: err }, where, p);
    }
  }
  return (addr) => set.has(addr);
}

/** RFC 7239 node: IPv6 in brackets and quoted. */
function forwardedNode(addr: string): string {
  return net.isIPv6(addr) ? `"[${addr}]"` : addr;
}

/** RFC 7239 value: a token as is, anything else quoted. */
function forwardedValue(v: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

function joined(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

interface Compiled {
  config: ForwardedHeadersConfig;
  trusted: (addr: string) => boolean;
  except: (addr: string) => boolean;
  forHeader: string;
}

/** Sets the forwarding headers on the upstream request head of one exchange. */
export function applyForwarded(c: Compiled, ex: HttpExchange): void {
  const cfg = c.config;
  const h = ex.upstream.headers;
  const src = ex.clientAddress;
  const trusted = c.trusted(ex.connection.remoteAddress);
  const proto = ex.connection.tls ? 'https' : 'http';
  const take = (name: string): string | undefined => {
    const v = joined(h[name]);
    return trusted && v !== undefined && v !== '' && !BAD_VALUE.test(v) ? v : undefined;
  };
  if (cfg.xForwardedFor && cfg.xForwardedForAppend) {
    // HAProxy: a new header line after any that came in, unless told otherwise.
    const prev = h[c.forHeader];
    if (!(cfg.xForwardedForIfNone && prev !== undefined) && !c.except(src)) {
      h[c.forHeader] = prev === undefined ? src : [...(Array.isArray(prev) ? prev : [prev]), src];
    }
  } else if (cfg.xForwardedFor) {
    const prev = take('x-forwarded-for');
    h['x-forwarded-for'] = prev ? `${prev}, ${src}` : src;
  }
  if (cfg.xForwardedProto) h['x-forwarded-proto'] = take('x-forwarded-proto') ?? proto;
  if (cfg.xForwardedHost) {
    const host = take('x-forwarded-host') ?? ex.host;
    if (host !== '' && !BAD_VALUE.test(host)) h['x-forwarded-host'] = host;
    else delete h['x-forwarded-host'];
  }
  if (cfg.xForwardedPort) h['x-forwarded-port'] = take('x-forwarded-port') ?? String(ex.connection.localPort);
  if (cfg.forwarded) {
    let element = `for=${forwardedNode(src)}`;
    if (ex.host !== '' && !BAD_VALUE.test(ex.host)) element += `;host=${forwardedValue(ex.host)}`;
    element += `;proto=${proto}`;
    const prev = take('forwarded');
    h.forwarded = prev ? `${prev}, ${element}` : element;
  }
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.2.2',
  core: '>=0.1.2 <1.0.0',
  description: 'X-Forwarded-* and RFC 7239 Forwarded headers with trusted proxies.',
  schema: { frontend: { forwardedHeaders: schema }, defaults: { forwardedHeaders: schema } },
  register({ slots }) {
    slots.provide(HAPROXY_DIRECTIVE_SLOT, haproxyDirectiveName('option', 'forwardfor'), forwardforDirective, { description: forwardforDirective.description });
  },
  apply(gateway: GatewayApi) {
    const byFrontend = new Map<object, Compiled>();
    const dflt = gateway.config.defaults.forwardedHeaders as ForwardedHeadersConfig | undefined;
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      const own = fe.forwardedHeaders as ForwardedHeadersConfig | undefined;
      const cfg = own ?? dflt;
      if (!cfg || !cfg.enabled || fe.mode !== 'http') continue;
      const where = own ? `frontends.${name}.forwardedHeaders.trustedProxies` : 'defaults.forwardedHeaders.trustedProxies';
      byFrontend.set(gateway.frontends.get(name)!, {
        config: cfg,
        trusted: trustList(cfg.trustedProxies, where),
        except: trustList(cfg.xForwardedForExcept ?? [], where.replace(/trustedProxies$/, 'xForwardedForExcept')),
        forHeader: (cfg.xForwardedForHeader ?? 'x-forwarded-for').toLowerCase(),
      });
    }
    if (byFrontend.size === 0) return;
    gateway.hooks.forward.tap({ name: NAME, stage: Stage.REWRITE }, (ex: Exchange) => {
      if (ex.kind !== 'http') return undefined;
      const c = byFrontend.get(ex.frontend);
      if (c !== undefined) applyForwarded(c, ex);
      return undefined;
    });
  },
});

export default plugin;
