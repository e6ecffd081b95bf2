import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '@switchyard/sdk';
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

  #opening: Promise<void> | null = null;

  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = splitListen(this.listenOn);
    // Kept so a close() that comes before the listen callback waits for it (else the port stays open).
    this.#opening = new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(PrometheusErrors.LISTEN.with({ cause: err }, this.listenOn, err.message));
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    await this.#opening;
    const a = this.#server.address() as AddressInfo;
    const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { host: a.address, port: a.port, url: `http://${shown}:${a.port}${this.path}` };
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
  }
}
