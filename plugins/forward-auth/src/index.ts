import { createHash } from 'node:crypto';
import { AUTH_METHOD, Stage, definePlugin, type Exchange, type GatewayApi, type HttpExchange } from '@switchyard/sdk';
import { defaultForwardAuthSchema, forwardAuthSchema, type ForwardAuthConfig } from './schema';
import { EXPLAIN_SLOT, compileRuleCondition } from '@switchyard/plugin-acl';
import { LRUCache } from 'lru-cache';
import { Agent, request, errors as undiciErrors } from 'undici';
import { ForwardAuthErrors } from './errors';

export { ForwardAuthErrors } from './errors';
export const NAME = '@switchyard/plugin-forward-auth';

export type { ForwardAuthConfig };

/** A decision of the auth service, as replayed to later requests when cached. */
type Decision =
  | { allow: true; headers: ReadonlyArray<readonly [string, string | string[]]> }
  | { allow: false; status: number; headers: Record<string, string | string[]>; body: Buffer };

interface Guard {
  readonly frontend: string;
  readonly url: URL;
  readonly origin: string;
  readonly method: string | undefined;
  readonly requestHeaders: ReadonlyArray<string>;
  readonly responseHeaders: ReadonlyArray<string>;
  readonly timeout: number;
  readonly maxBody: number;
  readonly cache: LRUCache<string, Decision> | null;
  readonly condition: ((ex: Exchange) => boolean) | null;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CTL = /[\r\n\0]/;
/** Response headers never relayed from the auth service to the client (hop-by-hop, framing). */
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

class AuthTimeout extends Error {}

/** Guards by gateway, for `switchyard explain`. */
const explainable = new WeakMap<GatewayApi, ReadonlyMap<object, Guard>>();

function cacheKey(ex: HttpExchange, g: Guard): string {
  const h = createHash('sha256').update(ex.method).update('\0').update(ex.host).update('\0').update(ex.url);
  for (const name of g.requestHeaders) {
    const v = ex.headers[name];
    h.update('\0').update(v === undefined ? '' : Array.isArray(v) ? v.join('\n') : v);
  }
  return h.digest('base64');
}

async function ask(ex: HttpExchange, g: Guard, agent: Agent): Promise<Decision> {
  const headers: Record<string, string | string[]> = {
    'x-forwarded-method': ex.method,
    'x-forwarded-uri': ex.url,
    'x-original-uri': ex.url,
    'x-forwarded-host': ex.host,
    'x-forwarded-proto': ex.connection.tls ? 'https' : 'http',
    'x-forwarded-for': ex.clientAddress,
  };
  for (const name of g.requestHeaders) {
    const v = ex.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  const signal = AbortSignal.timeout(g.timeout);
  let res;
  try {
    res = await request(g.url, {
      method: (g.method ?? ex.method) as 'GET',
      headers,
      dispatcher: agent,
      signal,
      headersTimeout: g.timeout,
      bodyTimeout: g.timeout,
    });
  } catch (err) {
    if (signal.aborted || err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) throw new AuthTimeout();
    throw err;
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    res.body.resume();
    const copy: Array<readonly [string, string | string[]]> = [];
    for (const name of g.responseHeaders) {
      const v = res.headers[name];
      if (v !== undefined) copy.push([name, v]);
    }
    return { allow: true, headers: copy };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > g.maxBody) break;
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (signal.aborted) throw new AuthTimeout();
    throw err;
  }
  if (size > g.maxBody) res.body.destroy();
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !NOT_RELAYED.has(k)) out[k] = v;
  return { allow: false, status: res.statusCode, headers: out, body: Buffer.concat(chunks).subarray(0, g.maxBody) };
}

function compileCondition(gateway: GatewayApi, frontend: string, rule: { if?: string; unless?: string }, where: string): ((ex: Exchange) => boolean) | null {
  return compileRuleCondition(gateway, frontend, rule, where, () => ForwardAuthErrors.NO_ACL(where));
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.4',
  core: '>=0.1.2 <1.0.0',
  description: 'Forward authentication: a sub-request to an external service decides (2xx lets the request through).',
  schema: {
    frontend: { forwardAuth: forwardAuthSchema },
    defaults: { forwardAuth: defaultForwardAuthSchema },
  },
  register({ slots }) {
    slots.provide(EXPLAIN_SLOT, 'forward-auth', {
      stage: Stage.AUTH,
      title: 'forward auth',
      explain(gateway: GatewayApi, ex: HttpExchange, out: (line: string) => void): undefined {
        const g = explainable.get(gateway)?.get(ex.frontend);
        if (g === undefined) out('no forwardAuth on this frontend');
        else if (g.condition !== null && !g.condition(ex)) out('forwardAuth: condition false → not asked');
        else out(`forwardAuth: would ask ${g.origin}${g.url.pathname} (${g.method ?? ex.method}); a non-2xx answer goes to the client (explain does not call it)`);
        return undefined;
      },
    }, { description: 'forwardAuth in `switchyard explain`.' });
  },
  apply(gateway) {
    const guards = new Map<object, Guard>();
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      const cfg = (fe.forwardAuth ?? gateway.config.defaults.forwardAuth) as ForwardAuthConfig | undefined;
      if (!cfg || fe.mode !== 'http') continue;
      const where = `frontends.${name}.forwardAuth`;
      let url: URL;
      try {
        url = new URL(cfg.url);
      } catch (err) {
        throw ForwardAuthErrors.BAD_URL.with({ cause: err, location: { path: `${where}.url` } }, `${where}.url`, (err as Error).message);
      }
      for (const h of [...cfg.requestHeaders, ...cfg.responseHeaders]) {
        if (!HEADER_NAME.test(h)) throw ForwardAuthErrors.BAD_HEADER.with({ location: { path: where } }, where, h);
      }
      guards.set(gateway.frontends.get(name)!, {
        frontend: name,
        url,
        origin: url.origin,
        method: cfg.method,
        requestHeaders: cfg.requestHeaders.map((h) => h.toLowerCase()),
        responseHeaders: cfg.responseHeaders.map((h) => h.toLowerCase()),
        timeout: cfg.timeout,
        maxBody: cfg.maxBody,
        cache: cfg.cacheTtl > 0 ? new LRUCache<string, Decision>({ max: cfg.cacheSize, ttl: cfg.cacheTtl }) : null,
        condition: compileCondition(gateway, name, cfg, where),
      });
    }
    explainable.set(gateway, guards);
    if (guards.size === 0) return;
    const agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 5_000 } });
    gateway.onStop(() => agent.close());
    const log = gateway.logger.child({ plugin: NAME });

    gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.AUTH }, async (ex: Exchange) => {
      if (ex.kind !== 'http') return undefined;
      const g = guards.get(ex.frontend);
      if (g === undefined) return undefined;
      for (const h of g.responseHeaders) if (ex.upstream.headers[h] !== undefined) delete ex.upstream.headers[h];
      if (g.condition !== null && !g.condition(ex)) return undefined;
      const key = g.cache ? cacheKey(ex, g) : '';
      let d = g.cache?.get(key);
      if (d === undefined) {
        try {
          d = await ask(ex, g, agent);
        } catch (err) {
          if (err instanceof AuthTimeout) {
            log.error({ code: ForwardAuthErrors.TIMEOUT.code, frontend: g.frontend, service: g.origin, timeout: g.timeout }, 'auth service timed out: request refused');
            ex.respond(504, 'authentication service timeout\n', { 'content-type': 'text/plain; charset=utf-8' });
          } else {
            log.error({ code: ForwardAuthErrors.UNREACHABLE.code, frontend: g.frontend, service: g.origin, reason: (err as { code?: string }).code ?? (err as Error).message }, 'auth service unreachable: request refused');
            ex.respond(503, 'authentication service unavailable\n', { 'content-type': 'text/plain; charset=utf-8' });
          }
          return { handled: true };
        }
        g.cache?.set(key, d);
      }
      if (!d.allow) {
        log.info({ code: ForwardAuthErrors.DENIED.code, frontend: g.frontend, service: g.origin, status: d.status, src: ex.clientAddress }, 'forward auth refused');
        ex.respond(d.status, d.body, d.headers);
        return { handled: true };
      }
      for (const [name, value] of d.headers) {
        if (Array.isArray(value) ? value.some((v) => CTL.test(v)) : CTL.test(value)) continue;
        ex.upstream.headers[name] = value;
      }
      AUTH_METHOD.set(ex, 'forward');
      return undefined;
    });
  },
});

export default plugin;
