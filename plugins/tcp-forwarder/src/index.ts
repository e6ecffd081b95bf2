import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { AsyncSeriesBailHook } from 'tapable';
import { definePlugin, ForwardErrors, Stage, type GatewayApi, type ServerState, type SwitchyardError, type TcpExchange } from '@switchyard/sdk';

import { applyKeepAlive, keepAliveSchema, registerKeepAliveDirectives } from './keepalive';

export const NAME = '@switchyard/plugin-tcp-forwarder';
export type { TcpKeepAliveConfig } from './keepalive';

/** A connection to a server that failed (refused, reset or timed out) before any byte was sent. */
export interface TcpConnectFailure {
  readonly error: SwitchyardError;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly server: ServerState;
}

/** The TCP forwarder's own extension point (webpack's `getHooks(owner)` pattern). */
export interface TcpForwarderHooks {
  /**
   * The connection to `ex.server` failed before anything was sent. A tap may move the
   * session to another server (releaseServer + acquireServer) and return true: the
   * forwarder connects again to `ex.server`. Otherwise the client connection is closed.
   */
  readonly connectFailed: AsyncSeriesBailHook<[TcpExchange, TcpConnectFailure], true | undefined>;
}

// On a global symbol so two installed copies of this package share one set of hooks per gateway.
const kHooks = Symbol.for('switchyard.tcp-forwarder.hooks');
const registry = globalThis as typeof globalThis & { [kHooks]?: WeakMap<GatewayApi, TcpForwarderHooks> };
const hooksByGateway = (registry[kHooks] ??= new WeakMap<GatewayApi, TcpForwarderHooks>());

/** The TCP forwarder hooks of a gateway (created on first use). Tap them in `apply` only. */
export function getTcpForwarderHooks(gateway: GatewayApi): TcpForwarderHooks {
  let hooks = hooksByGateway.get(gateway);
  if (hooks === undefined) {
    hooks = Object.freeze({ connectFailed: new AsyncSeriesBailHook<[TcpExchange, TcpConnectFailure], true | undefined>(['exchange', 'failure']) });
    hooksByGateway.set(gateway, hooks);
  }
  return hooks;
}

/**
 * Pipes a TCP session to its server: connect timeout, then both directions piped with
 * backpressure (Node's stream pipe, no listener of ours per chunk); a half-close (FIN) on one
 * side is passed to the other, and the tunnel timeout closes a session idle in both
 * directions. Bytes are read from the client socket's counters when the session ends.
 */
export function forwardTcp(gateway: GatewayApi, ex: TcpExchange, attempt = 1): void {
  const server = ex.server!;
  const timeouts = ex.backend!.config.timeouts;
  const client = ex.socket;
  const secure = upstreamTls(gateway, server);
  // a server on 0.0.0.0 / :: goes to the address the client connected to (HAProxy's "any" server address)
  const host = server.host === '0.0.0.0' || server.host === '::' ? ex.connection.localAddress : server.host;
  const upstream: net.Socket = secure
    ? tls.connect({ host, port: server.port, ...secure })
    : net.connect({ host, port: server.port, allowHalfOpen: true, noDelay: true });
  applyKeepAlive(ex, upstream);
  let connected = false;
  const failConnect = (error: SwitchyardError): void => {
    const hooks = hooksByGateway.get(gateway);
    if (hooks === undefined || !hooks.connectFailed.isUsed() || client.destroyed) {
      ex.fail(error);
      return;
    }
    hooks.connectFailed.promise(ex, { error, attempt, server }).then(
      (again) => {
        if (again !== true || client.destroyed) {
          ex.fail(error);
          return;
        }
        try {
          forwardTcp(gateway, ex, attempt + 1);
        } catch (err) {
          gateway.logger.error({ err, server: ex.server?.id }, 'could not connect again; the session is closed');
          ex.fail(error);
        }
      },
      (err: unknown) => {
        gateway.logger.error({ err, server: server.id }, 'a connectFailed tap threw; the session is closed');
        ex.fail(error);
      },
    );
  };
  const connectTimer = setTimeout(() => {
    failConnect(ForwardErrors.CONNECT_TIMEOUT(server.id, timeouts.connect));
    upstream.destroy();
  }, timeouts.connect);
  upstream.once(secure ? 'secureConnect' : 'connect', () => {
    connected = true;
    clearTimeout(connectTimer);
    for (const chunk of ex.buffered) upstream.write(chunk);
    ex.buffered.length = 0;
    // The tunnel timeout (idle in both directions) costs nothing per chunk: no listener and no
    // socket timer (Node would refresh that on every read and write). A timer of our own looks
    // at the client socket's byte counters four times per tunnel period and closes the session
    // once they have not moved for the whole period.
    client.setTimeout(0);
    watchIdle(client, upstream, timeouts.tunnel);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', (err: Error & { code?: string }) => {
    clearTimeout(connectTimer);
    if (!connected) {
      // failConnect closes the client (ex.fail) unless a tap sends the session elsewhere.
      failConnect(err.code === 'ECONNREFUSED' ? ForwardErrors.REFUSED.with({ cause: err }, server.id, err.code) : ForwardErrors.RESET.with({ cause: err }, server.id, err.code ?? err.message));
      return;
    } else if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
      gateway.logger.debug({ err, server: server.id }, 'tcp upstream error');
    }
    client.destroy();
  });
  upstream.once('close', () => {
    if (!connected) return; // a failed connect: failConnect decides what happens to the client
    ex.bytesIn = client.bytesRead;
    ex.bytesOut = client.bytesWritten;
    client.destroy();
  });
  client.once('close', () => {
    ex.bytesIn = client.bytesRead;
    ex.bytesOut = client.bytesWritten;
    upstream.destroy();
  });
}

/** Closes both sockets once the client's byte counters have not moved for `tunnelMs`. */
function watchIdle(client: net.Socket, upstream: net.Socket, tunnelMs: number): void {
  const step = Math.max(10, Math.floor(tunnelMs / 4));
  let seen = -1;
  let quietSince = Date.now();
  const timer = setTimeout(function check() {
    if (client.destroyed) return;
    const total = client.bytesRead + client.bytesWritten;
    const now = Date.now();
    if (total !== seen) {
      seen = total;
      quietSince = now;
    } else if (now - quietSince >= tunnelMs) {
      client.destroy();
      upstream.destroy();
      return;
    }
    timer.refresh();
  }, step);
  timer.unref();
  client.once('close', () => clearTimeout(timer));
}

const tlsOptionsCache = new WeakMap<ServerState, tls.ConnectionOptions>();

/** TLS options for a server with `tls` (verify on by default, SNI, ALPN, client certificate), read once. */
function upstreamTls(gateway: GatewayApi, server: ServerState): tls.ConnectionOptions | null {
  const t = server.config.tls;
  if (!t) return null;
  let o = tlsOptionsCache.get(server);
  if (o === undefined) {
    const baseDir = gateway.baseDir;
    const read = (f: string | undefined): Buffer | undefined => (f ? fs.readFileSync(path.resolve(baseDir, f)) : undefined);
    const servername = t.sni ?? (net.isIP(server.host) ? undefined : server.host);
    o = {
      ca: read(t.ca),
      cert: read(t.cert),
      key: read(t.key),
      rejectUnauthorized: t.verify !== false,
      ...(servername !== undefined ? { servername } : {}),
      ...(t.alpn ? { ALPNProtocols: t.alpn } : {}),
    };
    tlsOptionsCache.set(server, o);
  }
  return o;
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.2.6',
  core: '>=0.1.2 <1.0.0',
  description: 'Pipes TCP-mode sessions to the chosen server.',
  schema: keepAliveSchema,
  register({ slots }) {
    registerKeepAliveDirectives(slots, NAME);
  },
  apply(gateway) {
    gateway.hooks.forward.tap({ name: NAME, stage: Stage.FORWARDER }, (ex) => {
      if (ex.kind !== 'tcp') return undefined;
      forwardTcp(gateway, ex);
      return true;
    });
  },
});

export default plugin;
