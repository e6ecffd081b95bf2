import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { ServerState } from '@switchyard/sdk';

/**
 * `connection.data` key for a per-connection dispatcher, `(server) => Dispatcher | undefined`
 * (the proxy-protocol plugin's send-proxy needs upstream connections of one client only).
 */
export const UPSTREAM_DISPATCHER = Symbol.for('switchyard.http-forwarder.dispatcher');

/**
 * undici connect options for a server with `tls`: verification on by default (against
 * `ca`, else the system CAs), SNI, ALPN and a client certificate. Files are read once, here.
 */
export function upstreamTlsOptions(server: ServerState, baseDir: string): { origin: string; connect: ConnectionOptions; allowH2: boolean } | null {
  const t = server.config.tls;
  if (!t) return null;
  const read = (f: string | undefined): Buffer | undefined => (f ? fs.readFileSync(path.resolve(baseDir, f)) : undefined);
  const hostPart = server.host.includes(':') ? `[${server.host}]` : server.host;
  const alpn = t.alpn ?? ['http/1.1'];
  const servername = t.sni ?? (net.isIP(server.host) ? undefined : server.host);
  return {
    origin: `https://${hostPart}:${server.port}`,
    connect: {
      ca: read(t.ca),
      cert: read(t.cert),
      key: read(t.key),
      rejectUnauthorized: t.verify !== false,
      ...(servername !== undefined ? { servername } : {}),
      ALPNProtocols: alpn,
    },
    allowH2: alpn.includes('h2'),
  };
}
