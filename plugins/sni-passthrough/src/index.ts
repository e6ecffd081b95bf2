import { definePlugin, FETCH_SLOT, Stage, type Connection, type Exchange, type FetchDefinition } from '@switchyard/sdk';
import { parseClientHello, peekClientHello, type ClientHelloInfo } from './client-hello';
import { SniErrors } from './errors';
import { sniPassthroughSchema, type SniPassthroughFrontendConfig } from './schema';

export { parseClientHello, peekClientHello, type ClientHelloInfo } from './client-hello';
export { SniErrors } from './errors';

export const NAME = '@switchyard/plugin-sni-passthrough';

/** Where the parsed ClientHello is kept (`connection.data`). */
export const CLIENT_HELLO = Symbol.for('switchyard.sni-passthrough.hello');

export type { SniPassthroughFrontendConfig };

/** Marks a connection whose first bytes are not TLS (the fetches stop re-parsing them). */
const NOT_TLS = Symbol('switchyard.sni-passthrough.not-tls');

/**
 * The ClientHello of this connection: the one this plugin's frontends read, else parsed from
 * the bytes tcp-request content inspection has buffered so far, so that
 * `tcp-request content accept if { req.ssl_hello_type 1 }` and `use_backend … if
 * { req.ssl_sni … }` decide as soon as the whole ClientHello is in, as in HAProxy, instead of
 * waiting out the inspect-delay. Undefined while it is incomplete or when it is not TLS.
 */
function helloOf(ex: Exchange): ClientHelloInfo | undefined {
  const data = ex.connection.data;
  const known = data.get(CLIENT_HELLO) as ClientHelloInfo | undefined;
  if (known !== undefined || ex.kind !== 'tcp' || ex.buffered.length === 0 || data.has(NOT_TLS)) return known;
  let parsed: ClientHelloInfo | 'incomplete';
  try {
    parsed = parseClientHello(ex.buffered.length === 1 ? ex.buffered[0]! : Buffer.concat(ex.buffered));
  } catch {
    data.set(NOT_TLS, true);
    return undefined;
  }
  if (parsed === 'incomplete') return undefined;
  data.set(CLIENT_HELLO, parsed);
  return parsed;
}

const FETCHES: Record<string, FetchDefinition> = {
  'req.ssl_sni': {
    description: 'Server name in the TLS ClientHello of a TCP-mode connection (SNI passthrough), lower-case, or null.',
    arg: 'none',
    modes: ['tcp'],
    compile: () => (ex) => helloOf(ex)?.servername ?? null,
  },
  'req.ssl_alpn': {
    description: 'ALPN protocols offered in the TLS ClientHello of a TCP-mode connection.',
    arg: 'none',
    modes: ['tcp'],
    compile: () => (ex) => helloOf(ex)?.alpn ?? [],
  },
  'req.ssl_hello_type': {
    description: '1 once the connection\'s first bytes hold a whole TLS ClientHello, 0 otherwise (TCP mode, during or after inspection).',
    arg: 'none',
    modes: ['tcp'],
    compile: () => (ex) => (helloOf(ex) ? 1 : 0),
  },
};

/** Exact names, then one-label wildcards, compiled once. */
function compileRoutes(routes: Record<string, string>): (name: string | null) => string | undefined {
  const exact = new Map<string, string>();
  const wild = new Map<string, string>();
  for (const [name, backend] of Object.entries(routes)) {
    const n = name.toLowerCase();
    if (n.startsWith('*.')) wild.set(n.slice(2), backend);
    else exact.set(n, backend);
  }
  return (name) => {
    if (name === null) return undefined;
    const hit = exact.get(name);
    if (hit !== undefined) return hit;
    const dot = name.indexOf('.');
    return dot === -1 ? undefined : wild.get(name.slice(dot + 1));
  };
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.3',
  core: '>=0.1.2 <1.0.0',
  description: 'TCP-mode SNI passthrough: read the TLS ClientHello without terminating TLS and route on the server name (req.ssl_sni).',
  schema: { frontend: { sniPassthrough: sniPassthroughSchema } },
  register({ slots }) {
    // Another plugin may offer the same fetch (they read the same facts): the first listed keeps it.
    for (const [name, def] of Object.entries(FETCHES)) {
      if (slots.get(FETCH_SLOT, name) === undefined) slots.provide(FETCH_SLOT, name, def, { description: def.description });
    }
  },
  apply(gateway) {
    const logger = gateway.logger.child({ plugin: NAME });
    const configured = new Map<string, { cfg: SniPassthroughFrontendConfig; route: (name: string | null) => string | undefined }>();
    for (const [name, fe] of Object.entries(gateway.config.frontends)) {
      const cfg = fe.sniPassthrough as SniPassthroughFrontendConfig | undefined;
      if (!cfg || fe.mode !== 'tcp') continue;
      for (const [sni, backend] of Object.entries(cfg.routes)) {
        if (gateway.config.backends[backend]?.mode !== 'tcp') throw SniErrors.UNKNOWN_BACKEND(name, sni, backend);
      }
      configured.set(name, { cfg, route: compileRoutes(cfg.routes) });
    }
    if (configured.size === 0) return;
    // Inspect first (CONNECTION), route last (ROUTING), so address and rate-limit taps in between still run.
    gateway.hooks.route.tapPromise({ name: NAME, stage: Stage.CONNECTION }, async (ex) => {
      if (ex.kind !== 'tcp') return undefined;
      const entry = configured.get(ex.frontend.name);
      if (!entry) return undefined;
      const conn: Connection = ex.connection;
      try {
        const { hello, bytes } = await peekClientHello(ex.socket, entry.cfg.timeout);
        conn.data.set(CLIENT_HELLO, hello);
        ex.buffered.push(bytes);
      } catch (err) {
        if (entry.cfg.rejectNonTls) {
          logger.debug({ err, frontend: ex.frontend.name, client: ex.clientAddress }, 'no TLS ClientHello; connection closed');
          ex.socket.destroy();
          return { handled: true };
        }
      }
      return undefined;
    });
    gateway.hooks.route.tap({ name: NAME, stage: Stage.ROUTING }, (ex) => {
      if (ex.kind !== 'tcp') return undefined;
      const entry = configured.get(ex.frontend.name);
      if (!entry) return undefined;
      const backend = entry.route(helloOf(ex)?.servername ?? null);
      return backend === undefined ? undefined : { backend };
    });
  },
});

export default plugin;
