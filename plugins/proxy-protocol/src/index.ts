import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Client, type Dispatcher } from 'undici';
import { definePlugin, Stage, type Connection, type ServerState } from '@switchyard/sdk';
import { UPSTREAM_DISPATCHER } from '@switchyard/plugin-http-forwarder/contract';
import { bindOptions, configSchema, serverOptions, type ProxyProtocolBindOptions, type ProxyProtocolConfig, type ProxyProtocolServerOptions } from './schema';
import { encodeProxyHeader, readProxyHeader, type ProxyHeader } from './header';

export { parseProxyHeader, encodeProxyHeader, readProxyHeader, V2_SIGNATURE, type ProxyHeader, type ProxyAddresses } from './header';
export { ProxyProtocolErrors } from './errors';

export const NAME = '@switchyard/plugin-proxy-protocol';

/** Where the accepted header is kept on the connection (`connection.data`). */
export const PROXY_HEADER = Symbol.for('switchyard.proxy-protocol.header');
/**
 * `connection.data` key the HTTP forwarder reads for a per-connection dispatcher: a
 * `(server) => Dispatcher | undefined`. With send-proxy each client connection needs its
 * own upstream connections, since the header names one client. Owned by the forwarder.
 */
export { UPSTREAM_DISPATCHER };

export type { ProxyProtocolBindOptions, ProxyProtocolConfig, ProxyProtocolServerOptions };

/** "::ffff:1.2.3.4" → "1.2.3.4", as the core shows addresses. */
function plain(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** Addresses to announce for a connection: the client's, and where it connected to. */
function addressesOf(conn: Connection): { sourceAddress: string; sourcePort: number; destinationAddress: string; destinationPort: number } {
  const accepted = conn.data.get(PROXY_HEADER) as ProxyHeader | undefined;
  return {
    sourceAddress: conn.remoteAddress,
    sourcePort: conn.remotePort,
    destinationAddress: accepted?.addresses?.destinationAddress ?? conn.localAddress,
    destinationPort: accepted?.addresses?.destinationPort ?? conn.localPort,
  };
}

export const plugin = definePlugin({
  name: NAME,
  version: '0.1.4',
  core: '>=0.1.2 <1.0.0',
  description: 'PROXY protocol v1/v2: accept it on binds (the real client address for ACLs, logs and forwarding headers) and send it to servers.',
  configKey: 'proxyProtocol',
  schema: { config: configSchema, bind: bindOptions, server: serverOptions },
  apply(gateway, config) {
    const logger = gateway.logger.child({ plugin: NAME });
    const baseDir = gateway.baseDir;
    const accepting = Object.values(gateway.config.frontends).some((fe) => fe.bind.some((b) => b.acceptProxy === true));
    if (accepting) {
      gateway.hooks.accept.tapPromise({ name: NAME, stage: Stage.CONNECTION }, async (conn) => {
        if (conn.bind?.acceptProxy !== true) return undefined;
        let header: ProxyHeader;
        try {
          header = await readProxyHeader(conn.socket, config.timeout);
        } catch (err) {
          logger.debug({ err, frontend: conn.frontend.name, from: conn.remoteAddress }, 'PROXY header refused');
          return false;
        }
        conn.data.set(PROXY_HEADER, header);
        if (header.command === 'proxy' && header.addresses) {
          conn.remoteAddress = plain(header.addresses.sourceAddress);
          conn.remotePort = header.addresses.sourcePort;
        }
        return undefined;
      });
    }

    const sending = Object.values(gateway.config.backends).some((be) => be.servers.some((s) => s.sendProxy !== undefined));
    if (!sending) return;
    const clients = new Set<Client>();
    const dispatcherProvider = (conn: Connection): ((server: ServerState) => Dispatcher | undefined) => {
      const perServer = new Map<ServerState, Client>();
      conn.socket.once('close', () => {
        for (const c of perServer.values()) {
          clients.delete(c);
          void c.close().catch(() => c.destroy());
        }
        perServer.clear();
      });
      return (server) => {
        const version = server.config.sendProxy;
        if (version === undefined) return undefined;
        let client = perServer.get(server);
        if (client === undefined) {
          client = upstreamClient(server, encodeProxyHeader(version === 'v1' ? 1 : 2, addressesOf(conn)), baseDir, gateway.backends.get(server.backend)!.config.timeouts);
          perServer.set(server, client);
          clients.add(client);
        }
        return client;
      };
    };
    gateway.hooks.forward.tap({ name: NAME, stage: Stage.REWRITE }, (ex) => {
      const version = ex.server?.config.sendProxy;
      if (version === undefined) return undefined;
      if (ex.kind === 'tcp') {
        ex.buffered.unshift(encodeProxyHeader(version === 'v1' ? 1 : 2, addressesOf(ex.connection)));
      } else if (!ex.connection.data.has(UPSTREAM_DISPATCHER)) {
        ex.connection.data.set(UPSTREAM_DISPATCHER, dispatcherProvider(ex.connection));
      }
      return undefined;
    });
    gateway.onStop(async () => {
      await Promise.all([...clients].map((c) => c.close().catch(() => c.destroy())));
    });
  },
});

/** An undici Client whose connections start with the PROXY header (then TLS, if the server wants it). */
function upstreamClient(server: ServerState, header: Buffer, baseDir: string, timeouts: { connect: number; server: number }): Client {
  const t = server.config.tls;
  const hostPart = server.host.includes(':') ? `[${server.host}]` : server.host;
  const read = (f: string | undefined): Buffer | undefined => (f ? fs.readFileSync(path.resolve(baseDir, f)) : undefined);
  const tlsOptions: tls.ConnectionOptions | null = t
    ? {
        ca: read(t.ca),
        cert: read(t.cert),
        key: read(t.key),
        rejectUnauthorized: t.verify !== false,
        servername: t.sni ?? (net.isIP(server.host) ? undefined : server.host),
        ALPNProtocols: ['http/1.1'],
      }
    : null;
  return new Client(`${t ? 'https' : 'http'}://${hostPart}:${server.port}`, {
    headersTimeout: timeouts.server,
    bodyTimeout: timeouts.server,
    connect: (_opts, cb) => {
      const socket = net.connect({ host: server.host, port: server.port, noDelay: true });
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), timeouts.connect);
      socket.once('error', (err) => {
        clearTimeout(timer);
        cb(err, null);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.write(header);
        if (tlsOptions === null) return cb(null, socket);
        const secure = tls.connect({ ...tlsOptions, socket });
        secure.once('secureConnect', () => cb(null, secure));
        secure.once('error', (err) => cb(err, null));
      });
    },
  });
}

export default plugin;
