import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import type { ServerState } from '@switchyard/sdk';

export { UPSTREAM_DISPATCHER } from './contract';

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

/**
 * tls.connect options for the forwarder's own pool: one SecureContext per server, built
 * once (CA, client certificate and key read here), verification on by default, SNI, ALPN.
 */
export function upstreamTlsConnect(server: ServerState, baseDir: string): ConnectionOptions {
  const t = server.config.tls!;
  const read = (f: string | undefined): Buffer | undefined => (f ? fs.readFileSync(path.resolve(baseDir, f)) : undefined);
  const servername = t.sni ?? (net.isIP(server.host) ? undefined : server.host);
  const ca = read(t.ca);
  const cert = read(t.cert);
  const key = read(t.key);
  return {
    secureContext: createSecureContext({ ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }),
    rejectUnauthorized: t.verify !== false,
    ...(servername !== undefined ? { servername } : {}),
    ALPNProtocols: t.alpn ?? ['http/1.1'],
  };
}
