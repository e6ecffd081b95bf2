import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { definePlugin, ForwardErrors, Stage, type GatewayApi, type ServerState, type TcpExchange } from '@switchyard/sdk';

export const NAME = '@switchyard/plugin-tcp-forwarder';

/**
 * Pipes a TCP session to its server: connect timeout, then both directions piped with
 * backpressure; a half-close (FIN) on one side is passed to the other, and the tunnel
 * timeout closes a session idle in both directions.
 */
export function forwardTcp(gateway: GatewayApi, ex: TcpExchange): void {
  const server = ex.server!;
  const timeouts = ex.backend!.config.timeouts;
  const client = ex.socket;
  const secure = upstreamTls(gateway, server);
  const upstream: net.Socket = secure
    ? tls.connect({ host: server.host, port: server.port, ...secure })
    : net.connect({ host: server.host, port: server.port, allowHalfOpen: true, noDelay: true });
  let connected = false;
  const connectTimer = setTimeout(() => {
    ex.fail(ForwardErrors.CONNECT_TIMEOUT(server.id, timeouts.connect));
    upstream.destroy();
  }, timeouts.connect);
  upstream.once(secure ? 'secureConnect' : 'connect', () => {
    connected = true;
    clearTimeout(connectTimer);
    client.setTimeout(0);
    for (const chunk of ex.buffered) upstream.write(chunk);
    ex.buffered.length = 0;
    let idleSince = Date.now();
    const touch = (): void => {
      idleSince = Date.now();
    };
    client.on('data', touch);
    upstream.on('data', touch);
    const idle = setInterval(() => {
      if (Date.now() - idleSince >= timeouts.tunnel) {
        client.destroy();
        upstream.destroy();
      }
    }, Math.min(timeouts.tunnel, 1000));
    idle.unref();
    upstream.once('close', () => clearInterval(idle));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', (err: Error & { code?: string }) => {
    clearTimeout(connectTimer);
    if (!connected) {
      ex.fail(err.code === 'ECONNREFUSED' ? ForwardErrors.REFUSED.with({ cause: err }, server.id, err.code) : ForwardErrors.RESET.with({ cause: err }, server.id, err.code ?? err.message));
    } else if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
      gateway.logger.debug({ err, server: server.id }, 'tcp upstream error');
    }
    client.destroy();
  });
  upstream.once('close', () => {
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

const tlsOptionsCache = new WeakMap<ServerState, tls.ConnectionOptions>();

/** TLS options for a server with `tls` (verify on by default, SNI, ALPN, client certificate), read once. */
function upstreamTls(gateway: GatewayApi, server: ServerState): tls.ConnectionOptions | null {
  const t = server.config.tls;
  if (!t) return null;
  let o = tlsOptionsCache.get(server);
  if (o === undefined) {
    const baseDir = gateway.configFile ? path.dirname(gateway.configFile) : process.cwd();
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
  version: '0.1.0',
  core: '^0.1.0',
  description: 'Pipes TCP-mode sessions to the chosen server.',
  apply(gateway) {
    gateway.hooks.forward.tap({ name: NAME, stage: Stage.FORWARDER }, (ex) => {
      if (ex.kind !== 'tcp') return undefined;
      forwardTcp(gateway, ex);
      return true;
    });
  },
});

export default plugin;
