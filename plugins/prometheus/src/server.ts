import * as http from 'node:http';
import type { Socket } from 'node:net';
import { endConnections, type GatewayApi, type Logger, type PluginListener } from '@switchyard/sdk';
import type { Registry } from 'prom-client';
import { PrometheusErrors } from './errors';

/** Splits `host:port`, `[v6]:port` or `port`. */
export function splitListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (m) return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
  return { host: '127.0.0.1', port: Number(listen) };
}

/** Serves the registry at `path` on its own address. */
export class MetricsServer {
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();

  constructor(
    readonly listenOn: string,
    readonly path: string,
    registry: Registry,
    logger: Logger,
    /** Opens the port (the core keeps it across reloads). */
    readonly gateway: Pick<GatewayApi, 'openListener'>,
  ) {
    this.#server = http.createServer((req, res) => {
      const target = (req.url ?? '/').split('?')[0];
      if (target !== path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${path}\n`);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          logger.error({ err }, 'collecting metrics failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
        },
      );
    });
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  #opening: Promise<PluginListener> | null = null;
  #listener: PluginListener | null = null;

  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = splitListen(this.listenOn);
    // The core owns the port (a reload hands it to the next generation without closing it).
    // Kept so a close() that comes before the listener is open waits for it (else the port stays open).
    this.#opening = this.gateway.openListener('@switchyard/plugin-prometheus', { host, port }, (s) => this.#server.emit('connection', s));
    try {
      this.#listener = await this.#opening;
    } catch (err) {
      throw PrometheusErrors.LISTEN.with({ cause: err }, this.listenOn, (err as Error).message);
    }
    // node:http checks request timeouts only once 'listening' was emitted.
    this.#server.emit('listening');
    const a = this.#listener.address as { host: string; port: number; family: string };
    const shown = a.family === 'IPv6' ? `[${a.host}]` : a.host;
    return { host: a.host, port: a.port, url: `http://${shown}:${a.port}${this.path}` };
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    if (!this.#listener) return;
    await this.#listener.close();
    this.#listener = null;
    this.#server.close();
    await endConnections(this.#sockets, 2000, () => this.#server.closeIdleConnections());
  }
}
